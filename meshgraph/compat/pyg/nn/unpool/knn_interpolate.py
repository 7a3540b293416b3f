"""`torch_geometric.nn.unpool.knn_interpolate` mirror."""

from meshgraph.ops.interpolate import knn_interpolate

__all__ = ["knn_interpolate"]
