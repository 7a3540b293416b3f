"""Mini-batch training on graphs larger than one batch (issue 15): samplers, loaders, feature / graph stores.

- `NeighborLoader`, `LinkNeighborLoader` (and their bases `NodeLoader`, `LinkLoader`) on `NeighborSampler`
  (meshgraph's `neighbor_sample` op), with PyG 2.8's batch layout;
- `ClusterData` / `ClusterLoader` (METIS through pymetis, cached on disk with a graph hash);
- `GraphSAINTNodeSampler`, `GraphSAINTEdgeSampler`, `GraphSAINTRandomWalkSampler`; `ImbalancedSampler`;
- `trim_to_layer` / `TrimToLayer`;
- `FeatureStore` / `GraphStore` (PyG's remote-backend interface) with in-memory and memory-mapped implementations.

Heterogeneous graphs (HeteroGraph / HeteroData): the same loaders with typed seeds and per-edge-type fan-outs
(meshgraph/sampling/hetero_sampler.py), and `HGTLoader`.
"""

from .cluster import ClusterData, ClusterLoader, Partition
from .hetero_loader import HGTLoader, HGTSampler
from .hetero_sampler import HeteroSamplerOutput
from .imbalanced import ImbalancedSampler
from .link_loader import LinkLoader, LinkNeighborLoader
from .neighbor_loader import NeighborLoader, NodeLoader
from .saint import GraphSAINTEdgeSampler, GraphSAINTNodeSampler, GraphSAINTRandomWalkSampler, GraphSAINTSampler
from .sampler import (
    BaseSampler,
    EdgeSamplerInput,
    NegativeSampling,
    NeighborSampler,
    NodeSamplerInput,
    NumNeighbors,
    SamplerOutput,
    SubgraphType,
)
from .stores import (
    AttrView,
    EdgeAttr,
    EdgeLayout,
    FeatureStore,
    GraphStore,
    InMemoryFeatureStore,
    InMemoryGraphStore,
    MemmapFeatureStore,
    TensorAttr,
)
from .trim import TrimToLayer, trim_to_layer

__all__ = ["AttrView", "BaseSampler", "ClusterData", "ClusterLoader", "EdgeAttr", "EdgeLayout", "EdgeSamplerInput",
           "FeatureStore", "GraphSAINTEdgeSampler", "GraphSAINTNodeSampler", "GraphSAINTRandomWalkSampler",
           "GraphSAINTSampler", "GraphStore", "HGTLoader", "HGTSampler", "HeteroSamplerOutput", "ImbalancedSampler",
           "InMemoryFeatureStore", "InMemoryGraphStore",
           "LinkLoader", "LinkNeighborLoader", "MemmapFeatureStore", "NegativeSampling", "NeighborLoader",
           "NeighborSampler", "NodeLoader", "NodeSamplerInput", "NumNeighbors", "Partition", "SamplerOutput",
           "SubgraphType", "TensorAttr", "TrimToLayer", "trim_to_layer"]

# --- hetero sampling (issue 15): PyG's FeatureStore / GraphStore methods on Data and HeteroGraph
from ..hetero import HeteroGraph as _HeteroGraph  # noqa: E402
from ..records import Data as _Data  # noqa: E402
from .data_stores import DataStoreMethods as _DataStoreMethods  # noqa: E402
from .data_stores import HeteroStoreMethods as _HeteroStoreMethods  # noqa: E402
from .data_stores import install as _install  # noqa: E402

_install(_Data, _DataStoreMethods)
_install(_HeteroGraph, _HeteroStoreMethods)
# --- end hetero sampling
