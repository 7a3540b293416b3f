"""`torch_geometric.utils._one_hot` mirror."""

from ....utils_graph import one_hot

__all__ = ["one_hot"]
