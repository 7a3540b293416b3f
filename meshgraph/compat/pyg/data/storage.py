"""`torch_geometric.data.storage` mirror: the attribute kinds a record's store caches."""

from ....records import AttrType

__all__ = ["AttrType"]
