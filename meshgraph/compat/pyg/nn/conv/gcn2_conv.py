"""`torch_geometric.nn.conv.gcn2_conv` mirror."""

from meshgraph.nn.conv_spectral import GCN2Conv

__all__ = ["GCN2Conv"]
