"""`torch_geometric.nn.pool.connect` mirror: pooled-graph connection operators."""

from .base import Connect, ConnectOutput
from .filter_edges import FilterEdges

__all__ = ["Connect", "ConnectOutput", "FilterEdges"]
