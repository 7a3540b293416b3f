"""`torch_geometric.utils.convert` mirror (networkx, scipy and trimesh conversions)."""

from ....ops.edge_utils import from_scipy_sparse_matrix, to_scipy_sparse_matrix
from ....records import from_networkx, from_trimesh, to_networkx, to_trimesh

__all__ = ["from_networkx", "from_scipy_sparse_matrix", "from_trimesh", "to_networkx", "to_scipy_sparse_matrix",
           "to_trimesh"]
