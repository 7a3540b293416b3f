"""`torch_geometric.nn.conv.transformer_conv` mirror."""

from meshgraph.nn.conv_attention import TransformerConv

__all__ = ["TransformerConv"]
