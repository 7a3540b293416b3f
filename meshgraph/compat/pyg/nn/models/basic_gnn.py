"""`torch_geometric.nn.models.basic_gnn` mirror."""

from meshgraph.nn.models import GAT, GCN, GIN, PNA, BasicGNN, EdgeCNN, GraphSAGE

__all__ = ["EdgeCNN", "GAT", "GCN", "GIN", "GraphSAGE", "PNA"]
