"""`torch_geometric.nn.pool.asap` mirror."""

from meshgraph.nn.pool import ASAPooling

__all__ = ["ASAPooling"]
