"""graclus: greedy graph matching for Graclus coarsening, PyG 2.8's `graclus(edge_index, weight, num_nodes)`.

Kernels: csrc/ops/graclus/ (the contract, and how the CPU and CUDA matchings differ, is in graclus.h). The output
is an integer cluster index, so the op has no autograd (there is no gradient to register); its fake kernel gives
the (V,) int64 shape."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_index_range, check_index_tensor, check_nonnegative_int, check_tensor, \
    count_per_index, offsets_from_counts
from .edge_utils import maybe_num_nodes, sort_edge_index

_extension.load()


def _seed(generator: torch.Generator | None) -> int:
    """A 63-bit seed drawn from `generator` (default: the global CPU RNG, which PyG's randperm draws from)."""
    device = "cpu" if generator is None else generator.device
    return int(torch.randint(0, 2**63 - 1, (), generator=generator, device=device))


def graclus(edge_index: torch.Tensor, weight: torch.Tensor | None = None, num_nodes: int | None = None, *,
            generator: torch.Generator | None = None, reference: bool = False) -> torch.Tensor:
    """Greedy clustering of "Weighted Graph Cuts without Eigenvectors" (Dhillon et al.): each unmarked node, in a
    random order, is matched with an unmarked neighbour (the first in column order, or the one of largest weight),
    so every cluster holds one or two nodes.

    Args:
        edge_index: (2, E) int32/int64 edges (PyG assumes an undirected graph).
        weight: (E,) edge weights, optional; integer weights are read as float64. Negative weights are never
            matched.
        num_nodes: number of nodes V (default: edge_index.max() + 1).
        generator: torch.Generator for the random visit order (default: the global RNG).
        reference: run the pure-PyTorch definition (`meshgraph.ops.reference.graclus`, CPU algorithm).

    Returns:
        (V,) int64 cluster of each node: min(u, v) for a matched pair (u, v), u for a node left alone. Cluster ids
        are not consecutive (`meshgraph.nn.pool.consecutive_cluster` relabels them).
    """
    check_index_tensor(edge_index, "edge_index", shape=(2, None))
    N = check_nonnegative_int(maybe_num_nodes(edge_index, num_nodes), "num_nodes")
    check_index_range(edge_index, "edge_index", N)
    if weight is not None:
        check_tensor(weight, "weight", shape=(edge_index.shape[1],))
        if weight.dtype == torch.bool or weight.is_complex():
            raise TypeError(f"weight must be a real floating or integer tensor, got {weight.dtype}")
        if weight.device != edge_index.device:
            raise ValueError(f"weight is on {weight.device} but edge_index is on {edge_index.device}")
        if weight.dtype not in FLOAT_DTYPES:
            weight = weight.to(torch.float64)
    edge_index, weight = sort_edge_index(edge_index, weight, num_nodes=N)
    rowptr = offsets_from_counts(count_per_index(edge_index[0].long(), N))
    col = edge_index[1]
    seed = _seed(generator)
    if reference:
        from .reference import graclus as ref

        return ref(rowptr, col, weight, seed)
    return torch.ops.meshgraph.graclus(rowptr, col, weight, seed)


@torch.library.register_fake("meshgraph::graclus")
def _fake(rowptr, col, weight, seed):
    return rowptr.new_empty((rowptr.shape[0] - 1,), dtype=torch.int64)
