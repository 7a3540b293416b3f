"""`torch_geometric.nn.aggr.scaler` mirror."""

from meshgraph.nn.conv_edge import DegreeScalerAggregation

__all__ = ["DegreeScalerAggregation"]
