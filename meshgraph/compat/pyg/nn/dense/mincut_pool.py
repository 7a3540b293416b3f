"""`torch_geometric.nn.dense.mincut_pool` mirror."""

from meshgraph.nn.dense import dense_mincut_pool

__all__ = ["dense_mincut_pool"]
