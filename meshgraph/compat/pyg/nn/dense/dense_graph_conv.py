"""`torch_geometric.nn.dense.dense_graph_conv` mirror."""

from meshgraph.nn.dense import DenseGraphConv

__all__ = ["DenseGraphConv"]
