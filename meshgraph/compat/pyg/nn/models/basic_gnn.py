"""`torch_geometric.nn.models.basic_gnn` mirror (PNA is not implemented yet: it needs PNAConv)."""

from meshgraph.nn.models import GAT, GCN, GIN, BasicGNN, EdgeCNN, GraphSAGE

__all__ = ["EdgeCNN", "GAT", "GCN", "GIN", "GraphSAGE"]
