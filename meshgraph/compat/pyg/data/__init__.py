"""`torch_geometric.data` mirror: the Data / Batch records (meshgraph.records)."""

from ....records import Batch, Data

__all__ = ["Batch", "Data"]

# --- hetero graphs (issue 15): meshgraph.hetero
from .hetero_data import HeteroData

__all__ += ["HeteroData"]
# --- end hetero graphs
