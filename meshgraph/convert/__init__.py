"""Conversion between meshgraph's Graph / GraphBatch and other libraries' types.

Each converter imports its library only when called; a missing library gives an ImportError naming the package.
Round trips keep vertex and edge features.
"""

from .convert import (
    from_networkx,
    from_pyg,
    from_pytorch3d,
    from_scipy_sparse,
    from_trimesh,
    to_networkx,
    to_pyg,
    to_pytorch3d,
    to_scipy_sparse,
    to_trimesh,
)

__all__ = [
    "from_networkx",
    "from_pyg",
    "from_pytorch3d",
    "from_scipy_sparse",
    "from_trimesh",
    "to_networkx",
    "to_pyg",
    "to_pytorch3d",
    "to_scipy_sparse",
    "to_trimesh",
]
