"""`torch_geometric.nn.to_hetero_with_bases_transformer` mirror."""

from meshgraph.nn.hetero import (HeteroBasisConv, LinearAlign, get_edge_offset_dict, get_edge_type, get_node_offset_dict,
                                 group_edge_placeholder, group_node_placeholder, key2str, split_output,
                                 to_hetero_with_bases)

__all__ = ["HeteroBasisConv", "LinearAlign", "get_edge_offset_dict", "get_edge_type", "get_node_offset_dict",
           "group_edge_placeholder", "group_node_placeholder", "key2str", "split_output", "to_hetero_with_bases"]
