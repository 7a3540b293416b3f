"""`torch_geometric.nn.aggr.lstm` mirror."""

from meshgraph.nn.aggr import LSTMAggregation

__all__ = ["LSTMAggregation"]
