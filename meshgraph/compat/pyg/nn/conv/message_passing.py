"""`torch_geometric.nn.conv.message_passing` mirror."""

from meshgraph.nn.message_passing import MessagePassing

__all__ = ["MessagePassing"]
