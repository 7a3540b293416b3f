"""`torch_geometric.nn.conv.gin_conv` mirror."""

from meshgraph.nn.conv import GINConv, GINEConv

__all__ = ["GINConv", "GINEConv"]
