"""`torch_geometric.nn.aggr` mirror: the aggregations meshgraph implements."""

from meshgraph.nn.aggr import (Aggregation, LSTMAggregation, MLPAggregation, MaxAggregation, MeanAggregation, MinAggregation, MulAggregation,
                               MultiAggregation, PowerMeanAggregation, SoftmaxAggregation, StdAggregation,
                               SumAggregation, VarAggregation)

__all__ = ["Aggregation", "LSTMAggregation", "MLPAggregation", "MaxAggregation", "MeanAggregation", "MinAggregation", "MulAggregation", "MultiAggregation",
           "PowerMeanAggregation", "SoftmaxAggregation", "StdAggregation", "SumAggregation", "VarAggregation"]

# --- edge-feature and relational family (issue 13): PNA's aggregation lives in meshgraph.nn.conv_edge
from .scaler import DegreeScalerAggregation

__all__ += ["DegreeScalerAggregation"]
# --- end edge-feature and relational family
