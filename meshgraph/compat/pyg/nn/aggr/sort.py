"""`torch_geometric.nn.aggr.sort` mirror."""

from meshgraph.nn.aggr import SortAggregation

__all__ = ["SortAggregation"]
