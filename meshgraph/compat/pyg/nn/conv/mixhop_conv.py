"""`torch_geometric.nn.conv.mixhop_conv` mirror."""

from meshgraph.nn.conv_spectral import MixHopConv

__all__ = ["MixHopConv"]
