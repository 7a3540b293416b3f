"""`torch_geometric.nn.norm.instance_norm` mirror."""

from meshgraph.nn.norm import InstanceNorm

__all__ = ["InstanceNorm"]
