"""`torch_geometric.nn.dense.dense_sage_conv` mirror."""

from meshgraph.nn.dense import DenseSAGEConv

__all__ = ["DenseSAGEConv"]
