"""`pytorch3d.ops.knn` mirror."""

from ....ops.knn import KNN as _KNN
from ....ops.knn import knn_gather, knn_points

__all__ = ["knn_gather", "knn_points"]
