"""`torch_geometric.nn.conv.feast_conv` mirror."""

from meshgraph.nn.conv_geometric import FeaStConv

__all__ = ["FeaStConv"]
