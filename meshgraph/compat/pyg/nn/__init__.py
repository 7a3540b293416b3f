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

# --- pooling (issue 13): meshgraph.nn.pool, meshgraph.nn.dense
from . import glob
from .dense import (DMoNPooling, DenseGCNConv, DenseGINConv, DenseGraphConv, DenseSAGEConv, dense_diff_pool,
                    dense_mincut_pool)
from .glob import global_sort_pool
from .pool import (ASAPooling, EdgePooling, SAGPooling, TopKPooling, avg_pool, avg_pool_neighbor_x, avg_pool_x, graclus,
                   max_pool, max_pool_neighbor_x, max_pool_x)

__all__ += ["ASAPooling", "DMoNPooling", "DenseGCNConv", "DenseGINConv", "DenseGraphConv", "DenseSAGEConv", "EdgePooling",
            "SAGPooling", "TopKPooling", "avg_pool", "avg_pool_neighbor_x", "avg_pool_x", "dense_diff_pool",
            "dense_mincut_pool", "global_sort_pool", "graclus", "max_pool", "max_pool_neighbor_x", "max_pool_x"]
# --- end pooling

# --- aggregations and hetero linear (issues 13, 15)
from .aggr import (AttentionalAggregation, DeepSetsAggregation, GRUAggregation, MedianAggregation,
                   QuantileAggregation, Set2Set, SetTransformerAggregation, SortAggregation)
from .dense import HeteroDictLinear, HeteroLinear

__all__ += ["AttentionalAggregation", "DeepSetsAggregation", "GRUAggregation", "HeteroDictLinear", "HeteroLinear",
            "MedianAggregation", "QuantileAggregation", "Set2Set", "SetTransformerAggregation", "SortAggregation"]
# --- end aggregations and hetero linear

# --- edge-feature and relational family (issue 13): meshgraph.nn.conv_edge, meshgraph.nn.conv_relational
from .aggr import DegreeScalerAggregation
from .conv import (CGConv, FastRGCNConv, FiLMConv, GatedGraphConv, GENConv, GeneralConv, NNConv, PNAConv, RGCNConv,
                   ResGatedGraphConv)

__all__ += ["CGConv", "DegreeScalerAggregation", "FastRGCNConv", "FiLMConv", "GatedGraphConv", "GENConv", "GeneralConv",
            "NNConv", "PNAConv", "RGCNConv", "ResGatedGraphConv"]
# --- end edge-feature and relational family

# --- models (issue 13): meshgraph.nn.models
from .models import (ARGA, ARGVA, GAE, GAT, GCN, GIN, PNA, VGAE, Node2Vec,
                     EdgeCNN, GraphSAGE, HeteroJumpingKnowledge,
                     InnerProductDecoder, JumpingKnowledge, LabelPropagation)

__all__ += ["ARGA", "ARGVA", "EdgeCNN", "GAE", "GAT", "GCN", "GIN", "GraphSAGE", "HeteroJumpingKnowledge",
            "InnerProductDecoder", "JumpingKnowledge", "LabelPropagation", "Node2Vec", "PNA", "VGAE"]
# --- end models

# --- attention family (issue 13): meshgraph.nn.conv_attention
from .conv import AGNNConv, GATv2Conv, SuperGATConv, TransformerConv

__all__ += ["AGNNConv", "GATv2Conv", "SuperGATConv", "TransformerConv"]
# --- end attention family

# --- geometric / point-cloud family (issue 13): meshgraph.nn.conv_geometric
from .conv import FeaStConv, GMMConv, GravNetConv, PPFConv, PointTransformerConv, XConv

__all__ += ["FeaStConv", "GMMConv", "GravNetConv", "PPFConv", "PointTransformerConv", "XConv"]
# --- end geometric / point-cloud family

# --- hetero graphs (issue 15): meshgraph.nn.hetero, meshgraph.nn.conv_hetero
from . import module_dict, parameter_dict, to_hetero_transformer, to_hetero_with_bases_transformer
from .conv import HANConv, HGTConv, HeteroConv, RGATConv
from .to_hetero_transformer import to_hetero
from .to_hetero_with_bases_transformer import to_hetero_with_bases

__all__ += ["HANConv", "HGTConv", "HeteroConv", "RGATConv", "to_hetero", "to_hetero_with_bases"]
# --- end hetero graphs
# --- spline conv (issue 13)
from .conv import SplineConv

__all__ += ["SplineConv"]
# --- end spline conv
