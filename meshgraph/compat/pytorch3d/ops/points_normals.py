"""`pytorch3d.ops.points_normals` mirror."""

from ....ops.points_normals import estimate_pointcloud_local_coord_frames, estimate_pointcloud_normals

__all__ = ["estimate_pointcloud_local_coord_frames", "estimate_pointcloud_normals"]
