"""VolumeSampler and VolumeRenderer for the `pytorch3d.renderer.implicit` / `.implicit.renderer` mirrors
(meshgraph.render.volume_renderer); those modules re-export them from here."""

from .....render.volume_renderer import VolumeRenderer, VolumeSampler

__all__ = ["VolumeRenderer", "VolumeSampler"]
