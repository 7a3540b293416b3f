"""`torch_geometric.nn.models` mirror (the models meshgraph implements)."""

from .mlp import MLP

__all__ = ["MLP"]
