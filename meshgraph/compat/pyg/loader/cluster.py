"""`torch_geometric.loader.cluster` mirror (METIS through pymetis; the cache is checked against a graph hash)."""

from ....sampling.cluster import ClusterData, ClusterLoader, Partition

__all__ = ["ClusterData", "ClusterLoader", "Partition"]
