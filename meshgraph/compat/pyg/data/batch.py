"""`torch_geometric.data.batch` mirror."""

from ....records import Batch

__all__ = ["Batch"]
