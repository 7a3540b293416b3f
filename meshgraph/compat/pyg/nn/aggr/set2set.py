"""`torch_geometric.nn.aggr.set2set` mirror."""

from meshgraph.nn.aggr import Set2Set

__all__ = ["Set2Set"]
