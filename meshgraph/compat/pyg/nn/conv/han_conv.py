"""`torch_geometric.nn.conv.han_conv` mirror."""

from meshgraph.nn.conv_hetero import HANConv

__all__ = ["HANConv"]
