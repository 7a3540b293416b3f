"""`torch_geometric.nn.conv.sg_conv` mirror."""

from meshgraph.nn.conv_spectral import SGConv

__all__ = ["SGConv"]
