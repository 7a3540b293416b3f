"""`pytorch3d.ops.vert_align` mirror."""

from ....ops.vert_align import vert_align

__all__ = ["vert_align"]
