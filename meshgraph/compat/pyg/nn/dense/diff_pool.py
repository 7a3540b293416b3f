"""`torch_geometric.nn.dense.diff_pool` mirror."""

from meshgraph.nn.dense import dense_diff_pool

__all__ = ["dense_diff_pool"]
