"""`torch_geometric.nn.norm.mean_subtraction_norm` mirror."""

from meshgraph.nn.norm import MeanSubtractionNorm

__all__ = ["MeanSubtractionNorm"]
