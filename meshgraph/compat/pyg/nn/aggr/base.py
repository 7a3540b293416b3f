"""`torch_geometric.nn.aggr.base` mirror."""

from meshgraph.nn.aggr import Aggregation

__all__ = ["Aggregation"]
