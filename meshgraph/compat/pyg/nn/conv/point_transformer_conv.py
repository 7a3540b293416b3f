"""`torch_geometric.nn.conv.point_transformer_conv` mirror."""

from meshgraph.nn.conv_geometric import PointTransformerConv

__all__ = ["PointTransformerConv"]
