"""`torch_geometric.nn.dense.dense_gcn_conv` mirror."""

from meshgraph.nn.dense import DenseGCNConv

__all__ = ["DenseGCNConv"]
