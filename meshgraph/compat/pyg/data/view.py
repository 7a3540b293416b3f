"""`torch_geometric.data.view` mirror."""

from ....records import ItemsView, KeysView, ValuesView

__all__ = ["ItemsView", "KeysView", "ValuesView"]
