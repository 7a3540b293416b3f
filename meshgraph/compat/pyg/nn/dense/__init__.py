"""`torch_geometric.nn.dense` mirror (the Linear layer)."""

from .linear import Linear

__all__ = ["Linear"]
