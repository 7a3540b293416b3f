"""`pytorch3d.common.workaround` mirror (the names meshgraph implements: symeig3x3)."""

from .symeig3x3 import symeig3x3

__all__ = ["symeig3x3"]
