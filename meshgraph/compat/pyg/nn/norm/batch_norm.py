"""`torch_geometric.nn.norm.batch_norm` mirror."""

from meshgraph.nn.norm import BatchNorm, HeteroBatchNorm

__all__ = ["BatchNorm", "HeteroBatchNorm"]
