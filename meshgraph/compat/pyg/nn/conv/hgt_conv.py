"""`torch_geometric.nn.conv.hgt_conv` mirror."""

from meshgraph.nn.conv_hetero import HGTConv

__all__ = ["HGTConv"]
