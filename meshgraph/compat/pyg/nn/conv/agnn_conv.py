"""`torch_geometric.nn.conv.agnn_conv` mirror."""

from meshgraph.nn.conv_attention import AGNNConv

__all__ = ["AGNNConv"]
