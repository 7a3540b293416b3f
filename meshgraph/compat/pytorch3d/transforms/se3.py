"""`pytorch3d.transforms.se3` mirror (meshgraph.transforms.se3)."""

from ....transforms.se3 import se3_exp_map, se3_log_map  # noqa: F401
