"""`torch_geometric.nn.dense.dmon_pool` mirror."""

from meshgraph.nn.dense import DMoNPooling

__all__ = ["DMoNPooling"]
