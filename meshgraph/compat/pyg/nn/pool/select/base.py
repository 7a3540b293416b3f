"""`torch_geometric.nn.pool.select.base` mirror."""

from meshgraph.nn.pool import Select, SelectOutput

__all__ = ["Select", "SelectOutput"]
