"""`torch_geometric.utils._select` mirror."""

from ....utils_graph import narrow, select

__all__ = ["narrow", "select"]
