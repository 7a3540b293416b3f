"""`torch_geometric.nn.dense` mirror (the Linear layer)."""

from .linear import Linear

__all__ = ["Linear"]

# --- hetero linear (issue 15)
from .linear import HeteroDictLinear, HeteroLinear

__all__ += ["HeteroDictLinear", "HeteroLinear"]
# --- end hetero linear
