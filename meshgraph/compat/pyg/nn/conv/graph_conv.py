"""`torch_geometric.nn.conv.graph_conv` mirror: PyG's GraphConv (meshgraph.nn.PyGGraphConv)."""

from meshgraph.nn.conv import PyGGraphConv as GraphConv

__all__ = ["GraphConv"]
