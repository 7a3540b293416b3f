"""`torch_geometric.nn.conv.gated_graph_conv` mirror."""

from meshgraph.nn.conv_edge import GatedGraphConv

__all__ = ["GatedGraphConv"]
