"""`torch_geometric.nn.aggr.deep_sets` mirror."""

from meshgraph.nn.aggr import DeepSetsAggregation

__all__ = ["DeepSetsAggregation"]
