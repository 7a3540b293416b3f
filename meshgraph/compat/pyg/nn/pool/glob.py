"""`torch_geometric.nn.pool.glob` mirror."""

from meshgraph.ops.scatter import global_add_pool, global_max_pool, global_mean_pool

__all__ = ["global_add_pool", "global_max_pool", "global_mean_pool"]
