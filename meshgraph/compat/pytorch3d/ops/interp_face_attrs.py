"""`pytorch3d.ops.interp_face_attrs` mirror."""

from ....ops.interpolate_face_attributes import interpolate_face_attributes

__all__ = ["interpolate_face_attributes"]
