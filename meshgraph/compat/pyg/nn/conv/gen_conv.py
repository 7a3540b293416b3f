"""`torch_geometric.nn.conv.gen_conv` mirror."""

from meshgraph.nn.conv_edge import GENConv

__all__ = ["GENConv"]
