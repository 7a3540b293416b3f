"""`pytorch3d.transforms.so3` mirror (the names meshgraph has)."""

from ....transforms.rotations import so3_exp_map  # noqa: F401
