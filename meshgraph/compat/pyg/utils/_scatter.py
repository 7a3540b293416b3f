"""`torch_geometric.utils._scatter` mirror."""

from ....ops.scatter import group_cat
from ....ops.scatter import scatter_argmax as _scatter_argmax
from . import scatter


def scatter_argmax(src, index, dim: int = 0, dim_size: int | None = None):
    """PyG's `scatter_argmax(src, index, dim, dim_size)`: meshgraph.ops.scatter_argmax with dim as keyword."""
    return _scatter_argmax(src, index, dim_size, dim=dim)


__all__ = ["group_cat", "scatter", "scatter_argmax"]
