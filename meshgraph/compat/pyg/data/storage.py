"""`torch_geometric.data.storage` mirror: the attribute store of a record and the attribute kinds it caches."""

from ....records import AttrType
from ....records import Storage as BaseStorage

__all__ = ["AttrType", "BaseStorage"]

# --- hetero graphs (issue 15): meshgraph.hetero
from ....hetero import EdgeStorage, NodeStorage

__all__ += ["EdgeStorage", "NodeStorage"]
# --- end hetero graphs
