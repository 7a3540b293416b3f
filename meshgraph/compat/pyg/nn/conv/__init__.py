"""`torch_geometric.nn.conv` mirror."""

from .edge_conv import DynamicEdgeConv, EdgeConv
from .gat_conv import GATConv
from .gcn_conv import GCNConv
from .gin_conv import GINConv, GINEConv
from .graph_conv import GraphConv
from .message_passing import MessagePassing
from .point_conv import PointNetConv
from .sage_conv import SAGEConv

__all__ = ["DynamicEdgeConv", "EdgeConv", "GATConv", "GCNConv", "GINConv", "GINEConv", "GraphConv", "MessagePassing",
           "PointNetConv", "SAGEConv"]

# --- spectral and propagation family (issue 13): meshgraph.nn.conv_spectral
from .appnp import APPNP
from .arma_conv import ARMAConv
from .cheb_conv import ChebConv
from .cluster_gcn_conv import ClusterGCNConv
from .gcn2_conv import GCN2Conv
from .le_conv import LEConv
from .mixhop_conv import MixHopConv
from .sg_conv import SGConv
from .ssg_conv import SSGConv
from .tag_conv import TAGConv

__all__ += ["APPNP", "ARMAConv", "ChebConv", "ClusterGCNConv", "GCN2Conv", "LEConv", "MixHopConv", "SGConv", "SSGConv", "TAGConv"]
# --- end spectral and propagation family

# --- edge-feature and relational family (issue 13): meshgraph.nn.conv_edge, meshgraph.nn.conv_relational
from .cg_conv import CGConv
from .film_conv import FiLMConv
from .gated_graph_conv import GatedGraphConv
from .gen_conv import GENConv
from .general_conv import GeneralConv
from .nn_conv import NNConv
from .pna_conv import PNAConv
from .res_gated_graph_conv import ResGatedGraphConv
from .rgcn_conv import FastRGCNConv, RGCNConv

__all__ += ["CGConv", "FastRGCNConv", "FiLMConv", "GatedGraphConv", "GENConv", "GeneralConv", "NNConv", "PNAConv",
            "RGCNConv", "ResGatedGraphConv"]
# --- end edge-feature and relational family

# --- attention family (issue 13): meshgraph.nn.conv_attention
from .agnn_conv import AGNNConv
from .gatv2_conv import GATv2Conv
from .supergat_conv import SuperGATConv
from .transformer_conv import TransformerConv

__all__ += ["AGNNConv", "GATv2Conv", "SuperGATConv", "TransformerConv"]
# --- end attention family

# --- geometric / point-cloud family (issue 13): meshgraph.nn.conv_geometric
from .feast_conv import FeaStConv
from .gmm_conv import GMMConv
from .gravnet_conv import GravNetConv
from .point_transformer_conv import PointTransformerConv
from .ppf_conv import PPFConv
from .x_conv import XConv

__all__ += ["FeaStConv", "GMMConv", "GravNetConv", "PPFConv", "PointTransformerConv", "XConv"]
# --- end geometric / point-cloud family

# --- hetero graphs (issue 15): meshgraph.nn.hetero, meshgraph.nn.conv_hetero
from .han_conv import HANConv
from .hetero_conv import HeteroConv
from .hgt_conv import HGTConv
from .rgat_conv import RGATConv

__all__ += ["HANConv", "HGTConv", "HeteroConv", "RGATConv"]
# --- end hetero graphs
# --- spline conv (issue 13)
from .spline_conv import SplineConv

__all__ += ["SplineConv"]
# --- end spline conv
