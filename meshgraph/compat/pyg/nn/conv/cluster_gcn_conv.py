"""`torch_geometric.nn.conv.cluster_gcn_conv` mirror."""

from meshgraph.nn.conv_spectral import ClusterGCNConv

__all__ = ["ClusterGCNConv"]
