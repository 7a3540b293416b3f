"""`torch_geometric.loader` mirror: the mini-batch DataLoader (the samplers and neighbour loaders come with issue 15)."""

from ....loader import DataLoader

__all__ = ["DataLoader"]

# --- loaders (issue 15)
from ....sampling.cluster import ClusterData, ClusterLoader
from ....sampling.imbalanced import ImbalancedSampler
from ....sampling.link_loader import LinkLoader, LinkNeighborLoader
from ....sampling.neighbor_loader import NeighborLoader, NodeLoader
from ....sampling.saint import (
    GraphSAINTEdgeSampler,
    GraphSAINTNodeSampler,
    GraphSAINTRandomWalkSampler,
    GraphSAINTSampler,
)

__all__ += ["ClusterData", "ClusterLoader", "GraphSAINTEdgeSampler", "GraphSAINTNodeSampler",
            "GraphSAINTRandomWalkSampler", "GraphSAINTSampler", "ImbalancedSampler", "LinkLoader",
            "LinkNeighborLoader", "NeighborLoader", "NodeLoader"]
# --- end loaders

# --- hetero sampling (issue 15)
from ....sampling.hetero_loader import HGTLoader

__all__ += ["HGTLoader"]
# --- end hetero sampling
