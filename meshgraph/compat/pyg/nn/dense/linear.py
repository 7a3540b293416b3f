"""`torch_geometric.nn.dense.linear` mirror."""

from meshgraph.nn.linear import HeteroDictLinear, HeteroLinear, Linear

__all__ = ["Linear", "HeteroLinear", "HeteroDictLinear"]
