"""`pytorch3d.common.workaround.symeig3x3` mirror: meshgraph's fused kernel (same signature and outputs)."""

from .....ops.symeig3x3 import symeig3x3

__all__ = ["symeig3x3"]
