"""`pytorch3d.ops.iou_box3d` mirror."""

from ....ops.box3d_overlap import _box_planes, _box_triangles, _check_coplanar, _check_nonzero, box3d_overlap

__all__ = ["box3d_overlap"]
