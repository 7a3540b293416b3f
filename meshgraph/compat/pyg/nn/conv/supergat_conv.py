"""`torch_geometric.nn.conv.supergat_conv` mirror."""

from meshgraph.nn.conv_attention import SuperGATConv

__all__ = ["SuperGATConv"]
