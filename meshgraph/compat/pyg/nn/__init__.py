"""`torch_geometric.nn` mirror (PyG 2.8): the layers, MessagePassing, aggregations, normalization layers, pools and
point-cloud graph builders meshgraph implements, re-exported from `meshgraph.nn` / `meshgraph.ops`.

`GraphConv` here is PyG's (meshgraph.nn.PyGGraphConv); `meshgraph.nn.GraphConv` is PyTorch3D's."""

from . import aggr, conv, dense, models, norm, pool, unpool
from .aggr import (Aggregation, LSTMAggregation, MLPAggregation, MaxAggregation, MeanAggregation, MinAggregation, MulAggregation, MultiAggregation,
                   PowerMeanAggregation, SoftmaxAggregation, StdAggregation, SumAggregation, VarAggregation)
from .conv import (DynamicEdgeConv, EdgeConv, GATConv, GCNConv, GINConv, GINEConv, GraphConv, MessagePassing,
                   PointNetConv, SAGEConv)
from .dense import Linear
from .models import MLP
from .norm import (BatchNorm, DiffGroupNorm, GraphNorm, GraphSizeNorm, HeteroBatchNorm, HeteroLayerNorm, InstanceNorm,
                   LayerNorm, MeanSubtractionNorm, MessageNorm, PairNorm)
from .pool import fps, global_add_pool, global_max_pool, global_mean_pool, knn, knn_graph, radius, radius_graph
from .unpool import knn_interpolate

__all__ = [
    "Aggregation", "BatchNorm", "DiffGroupNorm", "DynamicEdgeConv", "EdgeConv", "GATConv", "GCNConv", "GINConv",
    "GINEConv", "GraphConv", "GraphNorm", "GraphSizeNorm", "HeteroBatchNorm", "HeteroLayerNorm", "InstanceNorm",
    "LayerNorm", "Linear", "LSTMAggregation", "MLP", "MLPAggregation", "MaxAggregation", "MeanAggregation",
    "MeanSubtractionNorm", "MessageNorm", "MessagePassing", "MinAggregation", "MulAggregation", "MultiAggregation",
    "PairNorm", "PointNetConv", "PowerMeanAggregation", "SAGEConv", "SoftmaxAggregation", "StdAggregation",
    "SumAggregation", "VarAggregation", "fps", "global_add_pool", "global_max_pool", "global_mean_pool", "knn",
    "knn_graph", "knn_interpolate", "radius", "radius_graph",
]

# --- spectral and propagation family (issue 13): meshgraph.nn.conv_spectral
from .conv import (APPNP, ARMAConv, ChebConv, ClusterGCNConv, GCN2Conv, LEConv, MixHopConv, SGConv, SSGConv,
                   TAGConv)

__all__ += ["APPNP", "ARMAConv", "ChebConv", "ClusterGCNConv", "GCN2Conv", "LEConv", "MixHopConv", "SGConv", "SSGConv", "TAGConv"]
# --- end spectral and propagation family

# --- attention family (issue 13): meshgraph.nn.conv_attention
from .conv import AGNNConv, GATv2Conv, SuperGATConv, TransformerConv

__all__ += ["AGNNConv", "GATv2Conv", "SuperGATConv", "TransformerConv"]
# --- end attention family
