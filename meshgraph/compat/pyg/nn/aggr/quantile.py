"""`torch_geometric.nn.aggr.quantile` mirror."""

from meshgraph.nn.aggr import MedianAggregation, QuantileAggregation

__all__ = ["MedianAggregation", "QuantileAggregation"]
