"""`torch_geometric.data.data` mirror."""

from ....records import Data

__all__ = ["Data"]
