"""`torch_geometric.nn.conv.le_conv` mirror."""

from meshgraph.nn.conv_spectral import LEConv

__all__ = ["LEConv"]
