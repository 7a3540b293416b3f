"""`torch_geometric.nn.conv.spline_conv` mirror."""

from meshgraph.nn.conv_spline import SplineConv

__all__ = ["SplineConv"]
