"""`torch_geometric.utils.random` mirror: PyG's signatures, drawing from torch's (Barabasi-Albert: NumPy's)
global RNG as PyG does; meshgraph.utils_graph's versions also take a `generator=`."""

from .... import utils_graph as _g


def erdos_renyi_graph(num_nodes: int, edge_prob: float, directed: bool = False):
    """PyG's `erdos_renyi_graph` (see meshgraph.utils_graph.erdos_renyi_graph)."""
    return _g.erdos_renyi_graph(num_nodes, edge_prob, directed)


def stochastic_blockmodel_graph(block_sizes, edge_probs, directed: bool = False):
    """PyG's `stochastic_blockmodel_graph` (see meshgraph.utils_graph.stochastic_blockmodel_graph)."""
    return _g.stochastic_blockmodel_graph(block_sizes, edge_probs, directed)


def barabasi_albert_graph(num_nodes: int, num_edges: int):
    """PyG's `barabasi_albert_graph` (see meshgraph.utils_graph.barabasi_albert_graph)."""
    return _g.barabasi_albert_graph(num_nodes, num_edges)


__all__ = ["barabasi_albert_graph", "erdos_renyi_graph", "stochastic_blockmodel_graph"]
