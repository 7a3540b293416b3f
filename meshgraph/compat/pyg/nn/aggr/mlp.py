"""`torch_geometric.nn.aggr.mlp` mirror."""

from meshgraph.nn.aggr import MLPAggregation

__all__ = ["MLPAggregation"]
