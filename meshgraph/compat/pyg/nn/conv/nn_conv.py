"""`torch_geometric.nn.conv.nn_conv` mirror."""

from meshgraph.nn.conv_edge import NNConv

__all__ = ["NNConv"]
