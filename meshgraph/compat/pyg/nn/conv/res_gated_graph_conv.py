"""`torch_geometric.nn.conv.res_gated_graph_conv` mirror."""

from meshgraph.nn.conv_edge import ResGatedGraphConv

__all__ = ["ResGatedGraphConv"]
