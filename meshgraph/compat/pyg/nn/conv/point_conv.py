"""`torch_geometric.nn.conv.point_conv` mirror."""

from meshgraph.nn.conv import PointNetConv

__all__ = ["PointNetConv"]
