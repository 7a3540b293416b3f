"""`pytorch3d.transforms.so3` mirror (meshgraph.transforms.so3)."""

from ....transforms.so3 import (  # noqa: F401
    hat,
    hat_inv,
    so3_exp_map,
    so3_exponential_map,
    so3_log_map,
    so3_relative_angle,
    so3_rotation_angle,
)
