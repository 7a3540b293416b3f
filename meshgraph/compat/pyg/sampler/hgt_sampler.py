"""`torch_geometric.sampler.hgt_sampler` mirror (meshgraph.sampling.hetero_loader)."""

from ....sampling.hetero_loader import HGTSampler

__all__ = ["HGTSampler"]
