"""`torch_geometric.nn.models.mlp` mirror."""

from meshgraph.nn.mlp import MLP

__all__ = ["MLP"]
