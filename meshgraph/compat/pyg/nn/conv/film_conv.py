"""`torch_geometric.nn.conv.film_conv` mirror."""

from meshgraph.nn.conv_relational import FiLMConv

__all__ = ["FiLMConv"]
