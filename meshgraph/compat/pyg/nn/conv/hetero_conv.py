"""`torch_geometric.nn.conv.hetero_conv` mirror."""

from meshgraph.nn.hetero import HeteroConv

__all__ = ["HeteroConv"]
