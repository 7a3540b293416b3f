"""`torch_geometric.nn.pool.edge_pool` mirror."""

from meshgraph.nn.pool import EdgePooling, UnpoolInfo

__all__ = ["EdgePooling", "UnpoolInfo"]
