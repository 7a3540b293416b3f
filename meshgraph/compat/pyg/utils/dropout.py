"""`torch_geometric.utils.dropout` mirror: PyG's signatures, drawing from torch's global RNG as PyG does
(meshgraph.utils_graph's versions also take a `generator=`). dropout_path walks with meshgraph's random_walk op
(no pyg-lib needed)."""

from .... import utils_graph as _g


def filter_adj(row, col, edge_attr, mask):
    """(row, col, edge_attr) restricted to the edges of `mask`."""
    return row[mask], col[mask], None if edge_attr is None else edge_attr[mask]


def dropout_adj(edge_index, edge_attr=None, p: float = 0.5, force_undirected: bool = False, num_nodes=None,
                training: bool = True):
    """PyG's deprecated `dropout_adj` (see meshgraph.utils_graph.dropout_adj)."""
    return _g.dropout_adj(edge_index, edge_attr, p, force_undirected, num_nodes, training)


def dropout_node(edge_index, p: float = 0.5, num_nodes=None, training: bool = True, relabel_nodes: bool = False):
    """PyG's `dropout_node` (see meshgraph.utils_graph.dropout_node)."""
    return _g.dropout_node(edge_index, p, num_nodes, training, relabel_nodes)


def dropout_edge(edge_index, p: float = 0.5, force_undirected: bool = False, training: bool = True):
    """PyG's `dropout_edge` (see meshgraph.utils_graph.dropout_edge)."""
    return _g.dropout_edge(edge_index, p, force_undirected, training)


def dropout_path(edge_index, p: float = 0.2, walks_per_node: int = 1, walk_length: int = 3, num_nodes=None,
                 is_sorted: bool = False, training: bool = True):
    """PyG's `dropout_path` (see meshgraph.utils_graph.dropout_path)."""
    return _g.dropout_path(edge_index, p, walks_per_node, walk_length, num_nodes, is_sorted, training)


__all__ = ["dropout_adj", "dropout_edge", "dropout_node", "dropout_path", "filter_adj"]
