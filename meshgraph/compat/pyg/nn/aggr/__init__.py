"""`torch_geometric.nn.aggr` mirror: the aggregations meshgraph implements."""

from meshgraph.nn.aggr import (Aggregation, LSTMAggregation, MLPAggregation, MaxAggregation, MeanAggregation, MinAggregation, MulAggregation,
                               MultiAggregation, PowerMeanAggregation, SoftmaxAggregation, StdAggregation,
                               SumAggregation, VarAggregation)

__all__ = ["Aggregation", "LSTMAggregation", "MLPAggregation", "MaxAggregation", "MeanAggregation", "MinAggregation", "MulAggregation", "MultiAggregation",
           "PowerMeanAggregation", "SoftmaxAggregation", "StdAggregation", "SumAggregation", "VarAggregation"]

# --- aggregations (issue 13): the rest of PyG's aggr classes and its deep modules
from . import attention, base, basic, deep_sets, gru, lstm, mlp, multi, quantile, set2set, set_transformer, sort, utils
from .attention import AttentionalAggregation
from .deep_sets import DeepSetsAggregation
from .gru import GRUAggregation
from .quantile import MedianAggregation, QuantileAggregation
from .set2set import Set2Set
from .set_transformer import SetTransformerAggregation
from .sort import SortAggregation

__all__ += ["AttentionalAggregation", "DeepSetsAggregation", "GRUAggregation", "MedianAggregation",
            "QuantileAggregation", "Set2Set", "SetTransformerAggregation", "SortAggregation"]
# --- end aggregations
# --- edge-feature and relational family (issue 13): PNA's aggregation lives in meshgraph.nn.conv_edge
from .scaler import DegreeScalerAggregation

__all__ += ["DegreeScalerAggregation"]
# --- end edge-feature and relational family
