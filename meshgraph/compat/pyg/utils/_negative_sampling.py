"""`torch_geometric.utils._negative_sampling` mirror: PyG's signatures, drawing from the global RNGs as PyG does
(Python's `random` for the pair ids, torch's for structured sampling); meshgraph.utils_graph's versions also take
a `generator=`."""

from .... import utils_graph as _g
from ....utils_graph import edge_index_to_vector, structured_negative_sampling_feasible, vector_to_edge_index


def negative_sampling(edge_index, num_nodes=None, num_neg_samples=None, method: str = "sparse",
                      force_undirected: bool = False):
    """PyG's `negative_sampling` (see meshgraph.utils_graph.negative_sampling)."""
    return _g.negative_sampling(edge_index, num_nodes, num_neg_samples, method, force_undirected)


def batched_negative_sampling(edge_index, batch, num_neg_samples=None, method: str = "sparse",
                              force_undirected: bool = False):
    """PyG's `batched_negative_sampling` (see meshgraph.utils_graph.batched_negative_sampling)."""
    return _g.batched_negative_sampling(edge_index, batch, num_neg_samples, method, force_undirected)


def structured_negative_sampling(edge_index, num_nodes=None, contains_neg_self_loops: bool = True):
    """PyG's `structured_negative_sampling` (see meshgraph.utils_graph.structured_negative_sampling)."""
    return _g.structured_negative_sampling(edge_index, num_nodes, contains_neg_self_loops)


def sample(population: int, k: int, device=None):
    """k distinct ids of range(population) from Python's random.sample (all of them when k >= population)."""
    return _g.sample(population, k, device)


__all__ = ["batched_negative_sampling", "edge_index_to_vector", "negative_sampling", "sample",
           "structured_negative_sampling", "structured_negative_sampling_feasible", "vector_to_edge_index"]
