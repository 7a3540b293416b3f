"""`torch_geometric.nn.conv.x_conv` mirror."""

from meshgraph.nn.conv_geometric import XConv

__all__ = ["XConv"]
