"""`torch_geometric.nn.pool.sag_pool` mirror."""

from meshgraph.nn.pool import SAGPooling

__all__ = ["SAGPooling"]
