"""`torch_geometric.nn.aggr.attention` mirror."""

from meshgraph.nn.aggr import AttentionalAggregation

__all__ = ["AttentionalAggregation"]
