"""`torch_geometric.nn.conv.gat_conv` mirror."""

from meshgraph.nn.conv import GATConv

__all__ = ["GATConv"]
