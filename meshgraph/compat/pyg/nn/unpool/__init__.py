"""`torch_geometric.nn.unpool` mirror."""

from .knn_interpolate import knn_interpolate

__all__ = ["knn_interpolate"]
