"""`pytorch3d.structures` mirror: Meshes and Pointclouds are meshgraph.structures' GraphBatch subclasses, Volumes
is meshgraph.volumes.Volumes.
"""

from ....structures import (
    Meshes,
    Pointclouds,
    join_meshes_as_batch,
    join_meshes_as_scene,
    join_pointclouds_as_batch,
    join_pointclouds_as_scene,
    list_to_packed,
    list_to_padded,
    packed_to_list,
    padded_to_list,
)

__all__ = [
    "Meshes",
    "Pointclouds",
    "join_meshes_as_batch",
    "join_meshes_as_scene",
    "join_pointclouds_as_batch",
    "join_pointclouds_as_scene",
    "list_to_packed",
    "list_to_padded",
    "packed_to_list",
    "padded_to_list",
]

# --- volumes (issue 16)
from .volumes import Volumes  # noqa: E402

__all__ += ["Volumes"]
# --- end volumes
