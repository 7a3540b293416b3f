"""`torch_geometric.nn.aggr.basic` mirror."""

from meshgraph.nn.aggr import (MaxAggregation, MeanAggregation, MinAggregation, MulAggregation, PowerMeanAggregation,
                               SoftmaxAggregation, StdAggregation, SumAggregation, VarAggregation)

__all__ = ["MeanAggregation", "SumAggregation", "MaxAggregation", "MinAggregation", "MulAggregation", "VarAggregation",
           "StdAggregation", "SoftmaxAggregation", "PowerMeanAggregation"]
