"""`torch_geometric.sampler.neighbor_sampler` mirror."""

from ....sampling.sampler import NeighborSampler, edge_sample, neg_sample, node_sample

__all__ = ["NeighborSampler", "edge_sample", "neg_sample", "node_sample"]
