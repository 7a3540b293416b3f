"""`torch_geometric.utils._homophily` mirror."""

from ....utils_graph import homophily

__all__ = ["homophily"]
