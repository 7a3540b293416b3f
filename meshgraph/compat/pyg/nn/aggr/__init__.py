"""`torch_geometric.nn.aggr` mirror: the aggregations meshgraph implements."""

from meshgraph.nn.aggr import (Aggregation, LSTMAggregation, MLPAggregation, MaxAggregation, MeanAggregation, MinAggregation, MulAggregation,
                               MultiAggregation, PowerMeanAggregation, SoftmaxAggregation, StdAggregation,
                               SumAggregation, VarAggregation)

__all__ = ["Aggregation", "LSTMAggregation", "MLPAggregation", "MaxAggregation", "MeanAggregation", "MinAggregation", "MulAggregation", "MultiAggregation",
           "PowerMeanAggregation", "SoftmaxAggregation", "StdAggregation", "SumAggregation", "VarAggregation"]
