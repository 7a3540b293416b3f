"""`pytorch3d.renderer.fisheyecameras` mirror (meshgraph.render.fisheye)."""

from ....render.fisheye import FishEyeCameras

__all__ = ["FishEyeCameras"]
