"""`torch_geometric.nn.pool.pool` mirror."""

from meshgraph.nn.pool import pool_batch, pool_edge, pool_pos

__all__ = ["pool_batch", "pool_edge", "pool_pos"]
