"""`torch_geometric.nn.module_dict` mirror."""

from meshgraph.nn.hetero import ModuleDict

__all__ = ["ModuleDict"]
