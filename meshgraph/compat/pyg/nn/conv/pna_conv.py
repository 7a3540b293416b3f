"""`torch_geometric.nn.conv.pna_conv` mirror."""

from meshgraph.nn.conv_edge import PNAConv

__all__ = ["PNAConv"]
