"""`torch_geometric.nn.aggr.gru` mirror."""

from meshgraph.nn.aggr import GRUAggregation

__all__ = ["GRUAggregation"]
