"""`torch_geometric.nn.conv.gravnet_conv` mirror."""

from meshgraph.nn.conv_geometric import GravNetConv

__all__ = ["GravNetConv"]
