"""`torch_geometric.nn.dense.linear` mirror."""

from meshgraph.nn.linear import Linear

__all__ = ["Linear"]
