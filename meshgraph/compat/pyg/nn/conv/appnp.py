"""`torch_geometric.nn.conv.appnp` mirror."""

from meshgraph.nn.conv_spectral import APPNP

__all__ = ["APPNP"]
