"""`torch_geometric.data.hetero_data` mirror: HeteroData is meshgraph.HeteroGraph."""

from ....hetero import HeteroGraph as HeteroData

__all__ = ["HeteroData"]
