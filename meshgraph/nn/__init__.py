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

# --- attention family (issue 13)
from .conv_attention import AGNNConv, GATv2Conv, SuperGATConv, TransformerConv

__all__ += ["AGNNConv", "GATv2Conv", "SuperGATConv", "TransformerConv"]
# --- end attention family
