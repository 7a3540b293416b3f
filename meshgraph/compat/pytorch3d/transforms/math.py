"""`pytorch3d.transforms.math` mirror (meshgraph.transforms.math)."""

from ....transforms.math import DEFAULT_ACOS_BOUND, acos_linear_extrapolation  # noqa: F401
