"""`torch_geometric.data` mirror: the Data / Batch records (meshgraph.records)."""

from ....records import Batch, Data

__all__ = ["Batch", "Data"]

# --- loaders (issue 15)
from ....sampling.cluster import ClusterData, ClusterLoader
from ....sampling.saint import (
    GraphSAINTEdgeSampler,
    GraphSAINTNodeSampler,
    GraphSAINTRandomWalkSampler,
    GraphSAINTSampler,
)
from ....sampling.stores import EdgeAttr, EdgeLayout, FeatureStore, GraphStore, TensorAttr

__all__ += ["ClusterData", "ClusterLoader", "EdgeAttr", "EdgeLayout", "FeatureStore", "GraphSAINTEdgeSampler",
            "GraphSAINTNodeSampler", "GraphSAINTRandomWalkSampler", "GraphSAINTSampler", "GraphStore", "TensorAttr"]
# --- end loaders
# --- hetero graphs (issue 15): meshgraph.hetero
from .hetero_data import HeteroData

__all__ += ["HeteroData"]
# --- end hetero graphs
