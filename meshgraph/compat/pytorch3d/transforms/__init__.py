"""`pytorch3d.transforms` mirror: Transform3d and its basic transforms, and the rotation helpers meshgraph has."""

from .rotation_conversions import axis_angle_to_matrix, quaternion_to_matrix, random_rotations
from .so3 import so3_exp_map
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
