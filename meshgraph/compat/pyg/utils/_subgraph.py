"""`torch_geometric.utils._subgraph` mirror (hyper_subgraph is not implemented)."""

from ....ops.edge_utils import subgraph
from ....utils_graph import bipartite_subgraph, get_num_hops, k_hop_subgraph

__all__ = ["bipartite_subgraph", "get_num_hops", "k_hop_subgraph", "subgraph"]
