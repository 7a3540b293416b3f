"""`torch_geometric.loader.imbalanced_sampler` mirror."""

from ....sampling.imbalanced import ImbalancedSampler

__all__ = ["ImbalancedSampler"]
