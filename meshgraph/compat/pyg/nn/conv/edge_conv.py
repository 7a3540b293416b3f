"""`torch_geometric.nn.conv.edge_conv` mirror."""

from meshgraph.nn.conv import DynamicEdgeConv, EdgeConv

__all__ = ["DynamicEdgeConv", "EdgeConv"]
