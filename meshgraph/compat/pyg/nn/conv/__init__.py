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
