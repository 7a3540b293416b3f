"""`torch_geometric.nn.conv.arma_conv` mirror."""

from meshgraph.nn.conv_spectral import ARMAConv

__all__ = ["ARMAConv"]
