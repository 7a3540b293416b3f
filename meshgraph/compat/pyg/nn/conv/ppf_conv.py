"""`torch_geometric.nn.conv.ppf_conv` mirror."""

from meshgraph.nn.conv_geometric import PPFConv, get_angle, point_pair_features

__all__ = ["PPFConv", "get_angle", "point_pair_features"]
