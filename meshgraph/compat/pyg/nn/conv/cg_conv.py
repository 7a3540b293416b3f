"""`torch_geometric.nn.conv.cg_conv` mirror."""

from meshgraph.nn.conv_edge import CGConv

__all__ = ["CGConv"]
