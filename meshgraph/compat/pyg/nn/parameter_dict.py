"""`torch_geometric.nn.parameter_dict` mirror."""

from meshgraph.nn.hetero import ParameterDict

__all__ = ["ParameterDict"]
