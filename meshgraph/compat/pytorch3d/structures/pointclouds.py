"""`pytorch3d.structures.pointclouds` mirror."""

from ....structures import Pointclouds, join_pointclouds_as_batch, join_pointclouds_as_scene

__all__ = ["Pointclouds", "join_pointclouds_as_batch", "join_pointclouds_as_scene"]
