"""`torch_geometric.nn.glob` mirror."""

from meshgraph.nn.pool import global_add_pool, global_max_pool, global_mean_pool, global_sort_pool

__all__ = ["global_add_pool", "global_max_pool", "global_mean_pool", "global_sort_pool"]
