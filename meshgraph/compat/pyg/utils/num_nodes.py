"""`torch_geometric.utils.num_nodes` mirror."""

from ....ops.edge_utils import maybe_num_nodes, maybe_num_nodes_dict

__all__ = ["maybe_num_nodes", "maybe_num_nodes_dict"]
