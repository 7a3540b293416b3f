"""`torch_geometric.nn.norm.graph_norm` mirror."""

from meshgraph.nn.norm import GraphNorm

__all__ = ["GraphNorm"]
