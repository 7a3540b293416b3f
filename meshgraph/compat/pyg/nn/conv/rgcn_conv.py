"""`torch_geometric.nn.conv.rgcn_conv` mirror."""

from meshgraph.nn.conv_relational import FastRGCNConv, RGCNConv

__all__ = ["FastRGCNConv", "RGCNConv"]
