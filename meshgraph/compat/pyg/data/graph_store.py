"""`torch_geometric.data.graph_store` mirror (meshgraph.sampling.stores)."""

from ....sampling.stores import EdgeAttr, EdgeLayout, GraphStore

__all__ = ["EdgeAttr", "EdgeLayout", "GraphStore"]
