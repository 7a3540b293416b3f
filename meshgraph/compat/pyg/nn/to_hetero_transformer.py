"""`torch_geometric.nn.to_hetero_transformer` mirror."""

from meshgraph.nn.hetero import get_dict, key2str, to_hetero

__all__ = ["get_dict", "key2str", "to_hetero"]
