"""`torch_geometric.nn.conv.gcn_conv` mirror."""

from meshgraph.nn.conv import GCNConv, gcn_norm

__all__ = ["GCNConv", "gcn_norm"]
