"""`torch_geometric.nn.norm.diff_group_norm` mirror."""

from meshgraph.nn.norm import DiffGroupNorm

__all__ = ["DiffGroupNorm"]
