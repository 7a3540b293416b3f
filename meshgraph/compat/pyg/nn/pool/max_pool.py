"""`torch_geometric.nn.pool.max_pool` mirror."""

from meshgraph.nn.pool import max_pool, max_pool_neighbor_x, max_pool_x

__all__ = ["max_pool", "max_pool_neighbor_x", "max_pool_x"]
