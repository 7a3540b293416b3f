"""`torch_geometric.nn.pool.consecutive` mirror."""

from meshgraph.nn.pool import consecutive_cluster

__all__ = ["consecutive_cluster"]
