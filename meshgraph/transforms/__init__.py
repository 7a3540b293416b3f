"""Batched 3D transforms (row-vector convention, PyTorch3D's `Transform3d`) and rotation helpers.

A point p (row vector) maps to [p, 1] @ M, M a (N, 4, 4) matrix whose last row holds the translation. Cameras
return these from `get_world_to_view_transform`, `get_projection_transform`, `get_full_projection_transform`.
"""

from .rotations import axis_angle_to_matrix, quaternion_to_matrix, random_rotations, so3_exp_map
from .transform3d import Rotate, RotateAxisAngle, Scale, Transform3d, Translate

__all__ = [
    "Rotate",
    "RotateAxisAngle",
    "Scale",
    "Transform3d",
    "Translate",
    "axis_angle_to_matrix",
    "quaternion_to_matrix",
    "random_rotations",
    "so3_exp_map",
]
