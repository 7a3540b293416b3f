"""`pytorch3d.transforms.rotation_conversions` mirror (the names meshgraph has)."""

from ....transforms.rotations import axis_angle_to_matrix, quaternion_to_matrix, random_rotations  # noqa: F401
