"""`torch_geometric.nn.conv.gmm_conv` mirror."""

from meshgraph.nn.conv_geometric import GMMConv

__all__ = ["GMMConv"]
