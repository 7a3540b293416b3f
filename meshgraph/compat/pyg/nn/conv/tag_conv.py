"""`torch_geometric.nn.conv.tag_conv` mirror."""

from meshgraph.nn.conv_spectral import TAGConv

__all__ = ["TAGConv"]
