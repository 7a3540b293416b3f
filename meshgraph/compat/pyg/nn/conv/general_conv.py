"""`torch_geometric.nn.conv.general_conv` mirror."""

from meshgraph.nn.conv_edge import GeneralConv

__all__ = ["GeneralConv"]
