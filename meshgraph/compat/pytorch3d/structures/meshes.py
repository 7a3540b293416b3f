"""`pytorch3d.structures.meshes` mirror."""

from ....structures import Meshes, join_meshes_as_batch, join_meshes_as_scene

__all__ = ["Meshes", "join_meshes_as_batch", "join_meshes_as_scene"]
