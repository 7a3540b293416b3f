"""`torch_geometric.nn.conv.gatv2_conv` mirror."""

from meshgraph.nn.conv_attention import GATv2Conv

__all__ = ["GATv2Conv"]
