"""`torch_geometric.nn.pool.graclus` mirror."""

from meshgraph.ops.graclus import graclus

__all__ = ["graclus"]
