"""`torch_geometric.nn.norm.msg_norm` mirror."""

from meshgraph.nn.norm import MessageNorm

__all__ = ["MessageNorm"]
