"""`torch_geometric.nn.conv.cheb_conv` mirror."""

from meshgraph.nn.conv_spectral import ChebConv

__all__ = ["ChebConv"]
