"""`torch_geometric.nn.conv.sage_conv` mirror."""

from meshgraph.nn.conv import SAGEConv

__all__ = ["SAGEConv"]
