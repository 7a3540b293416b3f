"""`torch_geometric.nn.aggr.multi` mirror."""

from meshgraph.nn.aggr import MultiAggregation

__all__ = ["MultiAggregation"]
