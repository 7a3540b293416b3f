"""`torch_geometric.data` mirror: the Data / Batch records (meshgraph.records)."""

from ....records import Batch, Data

__all__ = ["Batch", "Data"]
