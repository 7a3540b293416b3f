"""`torch_geometric.nn.dense.dense_gin_conv` mirror."""

from meshgraph.nn.dense import DenseGINConv

__all__ = ["DenseGINConv"]
