"""`torch_geometric.nn.pool.connect.filter_edges` mirror."""

from meshgraph.nn.pool import FilterEdges, filter_adj

__all__ = ["FilterEdges", "filter_adj"]
