"""`torch_geometric.nn.models` mirror (the models meshgraph implements)."""

from .mlp import MLP

__all__ = ["MLP"]

# --- models (issue 13): meshgraph.nn.models
from .autoencoder import ARGA, ARGVA, GAE, VGAE, InnerProductDecoder
from .basic_gnn import GAT, GCN, GIN, PNA, EdgeCNN, GraphSAGE
from .jumping_knowledge import HeteroJumpingKnowledge, JumpingKnowledge
from .label_prop import LabelPropagation
from .node2vec import Node2Vec

__all__ += ["ARGA", "ARGVA", "EdgeCNN", "GAE", "GAT", "GCN", "GIN", "GraphSAGE", "HeteroJumpingKnowledge",
            "InnerProductDecoder", "JumpingKnowledge", "LabelPropagation", "Node2Vec", "PNA", "VGAE"]
# --- end models
