"""Graph neural network layers on fused kernels, with PyG's constructors and call shape `conv(x, edge_index)`
(the edge argument may also be a GraphBatch or a sparse adjacency). `GraphConv` is PyTorch3D's; `PyGGraphConv`
is PyG's GraphConv."""

from . import aggr
from .aggr import Aggregation, MultiAggregation
from .conv import (DynamicEdgeConv, EdgeConv, GATConv, GCNConv, GINConv, GINEConv, GraphConv, PointNetConv,
                   PyGGraphConv, SAGEConv, gcn_norm)
from .graph_to_image import GraphToImage
from .linear import Linear
from .message_passing import MessagePassing, fused_message
from .mlp import MLP
from . import norm
from .norm import (BatchNorm, DiffGroupNorm, GraphNorm, GraphSizeNorm, HeteroBatchNorm, HeteroLayerNorm, InstanceNorm,
                   LayerNorm, MeanSubtractionNorm, MessageNorm, PairNorm)

__all__ = [
    "Aggregation", "BatchNorm", "DiffGroupNorm", "DynamicEdgeConv", "EdgeConv", "GATConv", "GCNConv", "GINConv",
    "GINEConv", "GraphConv", "GraphNorm", "GraphSizeNorm", "GraphToImage", "HeteroBatchNorm", "HeteroLayerNorm",
    "InstanceNorm", "LayerNorm", "Linear", "MLP", "MeanSubtractionNorm", "MessageNorm", "MessagePassing",
    "MultiAggregation", "PairNorm", "PointNetConv", "PyGGraphConv", "SAGEConv", "aggr", "fused_message", "gcn_norm",
    "norm"]

# --- spectral and propagation family (issue 13)
from .conv_spectral import (APPNP, ARMAConv, ChebConv, ClusterGCNConv, GCN2Conv, LEConv, MixHopConv, SGConv,
                            SSGConv, TAGConv)

__all__ += ["APPNP", "ARMAConv", "ChebConv", "ClusterGCNConv", "GCN2Conv", "LEConv", "MixHopConv", "SGConv", "SSGConv", "TAGConv"]
# --- end spectral and propagation family

# --- pooling (issue 13)
from . import dense, pool
from .dense import (DMoNPooling, DenseGCNConv, DenseGINConv, DenseGraphConv, DenseSAGEConv, dense_diff_pool,
                    dense_mincut_pool)
from .pool import (ASAPooling, EdgePooling, SAGPooling, TopKPooling, avg_pool, avg_pool_neighbor_x, avg_pool_x,
                   global_sort_pool, graclus, max_pool, max_pool_neighbor_x, max_pool_x)

__all__ += ["ASAPooling", "DMoNPooling", "DenseGCNConv", "DenseGINConv", "DenseGraphConv", "DenseSAGEConv", "EdgePooling",
            "SAGPooling", "TopKPooling", "avg_pool", "avg_pool_neighbor_x", "avg_pool_x", "dense", "dense_diff_pool",
            "dense_mincut_pool", "global_sort_pool", "graclus", "max_pool", "max_pool_neighbor_x", "max_pool_x", "pool"]
# --- end pooling

# --- aggregations and hetero linear (issues 13, 15)
from .linear import HeteroDictLinear, HeteroLinear

__all__ += ["HeteroDictLinear", "HeteroLinear"]
# --- end aggregations and hetero linear

# --- edge-feature and relational family (issue 13)
from .conv_edge import (CGConv, DegreeScalerAggregation, GatedGraphConv, GENConv, GeneralConv, NNConv, PNAConv,
                        ResGatedGraphConv)
from .conv_relational import FastRGCNConv, FiLMConv, RGCNConv

aggr.DegreeScalerAggregation = DegreeScalerAggregation  # PyG's home of the name: torch_geometric.nn.aggr
if "DegreeScalerAggregation" not in aggr.__all__:
    aggr.__all__ = [*aggr.__all__, "DegreeScalerAggregation"]
__all__ += ["CGConv", "FastRGCNConv", "FiLMConv", "GatedGraphConv", "GENConv", "GeneralConv", "NNConv", "PNAConv",
            "RGCNConv", "ResGatedGraphConv"]
# --- end edge-feature and relational family

# --- models (issue 13)
from . import models
from .models import (ARGA, ARGVA, GAE, GAT, GCN, GIN, PNA, VGAE, Node2Vec,
                     BasicGNN, EdgeCNN, GraphSAGE, HeteroJumpingKnowledge,
                     InnerProductDecoder, JumpingKnowledge, LabelPropagation)

__all__ += ["ARGA", "ARGVA", "BasicGNN", "EdgeCNN", "GAE", "GAT", "GCN", "GIN", "GraphSAGE", "HeteroJumpingKnowledge",
            "InnerProductDecoder", "JumpingKnowledge", "LabelPropagation", "Node2Vec", "PNA", "VGAE", "models"]
# --- end models

# --- attention family (issue 13)
from .conv_attention import AGNNConv, GATv2Conv, SuperGATConv, TransformerConv

__all__ += ["AGNNConv", "GATv2Conv", "SuperGATConv", "TransformerConv"]
# --- end attention family

# --- geometric / point-cloud family (issue 13)
from . import conv_geometric
from .conv_geometric import FeaStConv, GMMConv, GravNetConv, PPFConv, PointTransformerConv, XConv

__all__ += ["FeaStConv", "GMMConv", "GravNetConv", "PPFConv", "PointTransformerConv", "XConv"]
# --- end geometric / point-cloud family

# --- hetero graphs (issue 15): meshgraph.nn.hetero, meshgraph.nn.conv_hetero
from . import hetero
from .conv_hetero import HANConv, HGTConv, RGATConv
from .hetero import HeteroConv, to_hetero, to_hetero_with_bases

__all__ += ["HANConv", "HGTConv", "HeteroConv", "RGATConv", "hetero", "to_hetero", "to_hetero_with_bases"]
# --- end hetero graphs

# --- spline conv (issue 13)
from . import conv_spline
from .conv_spline import SplineConv

__all__ += ["SplineConv"]
# --- end spline conv
