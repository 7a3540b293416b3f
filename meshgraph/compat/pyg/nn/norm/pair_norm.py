"""`torch_geometric.nn.norm.pair_norm` mirror."""

from meshgraph.nn.norm import PairNorm

__all__ = ["PairNorm"]
