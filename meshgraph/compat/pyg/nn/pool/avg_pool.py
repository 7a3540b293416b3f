"""`torch_geometric.nn.pool.avg_pool` mirror."""

from meshgraph.nn.pool import avg_pool, avg_pool_neighbor_x, avg_pool_x

__all__ = ["avg_pool", "avg_pool_neighbor_x", "avg_pool_x"]
