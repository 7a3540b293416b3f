"""`torch_geometric.nn.pool.connect.base` mirror."""

from meshgraph.nn.pool import Connect, ConnectOutput

__all__ = ["Connect", "ConnectOutput"]
