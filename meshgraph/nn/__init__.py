"""Graph neural network layers on fused kernels, with PyG's call shape `conv(x, edge_index_or_graph)`."""

from .conv import EdgeConv, GATConv, GCNConv, GINConv, GraphConv, PointNetConv, SAGEConv
from .message_passing import MessagePassing

__all__ = ["EdgeConv", "GATConv", "GCNConv", "GINConv", "GraphConv", "MessagePassing", "PointNetConv", "SAGEConv"]
