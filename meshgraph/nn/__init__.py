"""Graph neural network layers on fused kernels, with PyG's call shape `conv(x, edge_index_or_graph)`."""

from .conv import EdgeConv, GATConv, GCNConv, GINConv, GraphConv, PointNetConv, SAGEConv
from .graph_to_image import GraphToImage
from .message_passing import MessagePassing

__all__ = [
    "GraphToImage", "EdgeConv", "GATConv", "GCNConv", "GINConv", "GraphConv", "MessagePassing", "PointNetConv", "SAGEConv"]
