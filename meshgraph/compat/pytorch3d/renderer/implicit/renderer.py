"""`pytorch3d.renderer.implicit.renderer` mirror (meshgraph.render.implicit.renderer). VolumeRenderer and
VolumeSampler come with meshgraph's Volumes (issue 16, the volumes family)."""

from .....render.implicit.renderer import ImplicitRenderer  # noqa: F401

from ._volume import VolumeRenderer, VolumeSampler  # noqa: E402

__all__ = ["ImplicitRenderer", "VolumeRenderer", "VolumeSampler"]
