"""`torch_geometric.nn.aggr.set_transformer` mirror."""

from meshgraph.nn.aggr import SetTransformerAggregation

__all__ = ["SetTransformerAggregation"]
