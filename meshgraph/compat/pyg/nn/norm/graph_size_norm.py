"""`torch_geometric.nn.norm.graph_size_norm` mirror."""

from meshgraph.nn.norm import GraphSizeNorm

__all__ = ["GraphSizeNorm"]
