"""`torch_geometric.nn.models.node2vec` mirror (walks from meshgraph's random_walk op: no pyg-lib needed)."""

from meshgraph.nn.models import Node2Vec

__all__ = ["Node2Vec"]
