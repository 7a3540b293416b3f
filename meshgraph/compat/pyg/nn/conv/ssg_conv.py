"""`torch_geometric.nn.conv.ssg_conv` mirror."""

from meshgraph.nn.conv_spectral import SSGConv

__all__ = ["SSGConv"]
