"""`torch_geometric.nn.conv.rgat_conv` mirror."""

from meshgraph.nn.conv_hetero import RGATConv

__all__ = ["RGATConv"]
