"""random_walk: node2vec biased random walks on a CSR graph (torch_cluster's random_walk semantics).

Kernels: csrc/ops/random_walk/; specification: meshgraph.ops.reference.sampling.random_walk."""

from __future__ import annotations

import math

import torch

from .. import _extension
from .._utils import INDEX_DTYPES, check_index_range, check_nonnegative_int, check_same_device, check_tensor
from .neighbor_sample import check_csr, draw_rng_seed

_extension.load()


def _check_positive_float(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a float, got {type(v).__name__}")
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be positive and finite, got {v}")
    return float(v)


def random_walk(
    rowptr: torch.Tensor,
    col: torch.Tensor,
    start: torch.Tensor,
    walk_length: int,
    p: float = 1.0,
    q: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    return_edge_indices: bool = False,
    reference: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Random walks of `walk_length` steps from every node of `start` (node2vec's second-order walks).

    Args:
        rowptr, col: the graph in CSR (neighbours of v: col[rowptr[v]:rowptr[v + 1]]).
        start: (S,) start nodes (repeat a node for several walks from it).
        walk_length: steps per walk.
        p: return parameter (a step back to the previous node is weighted 1/p); q: in-out parameter (a step to a
            node not adjacent to the previous one is weighted 1/q). p = q = 1 is the uniform walk; otherwise
            rejection sampling as torch_cluster does.
        generator: the torch.Generator one seed is drawn from (counter-based draws after it: the walks depend only
            on its state, never on threads or device).
        return_edge_indices: also return the CSR position of every traversed edge (-1 where a walk stays on a node
            without neighbours, as torch_cluster).
        reference: run the pure-Python definition instead of the kernel.

    Returns:
        (S, walk_length + 1) int64 node ids (walks stuck on a node without out-edges repeat it), and with
        return_edge_indices the (S, walk_length) edge ids.
    """
    rowptr, col = check_csr(rowptr, col)
    N = rowptr.numel() - 1
    check_tensor(start, "start", dim=1, dtypes=INDEX_DTYPES)
    check_same_device(rowptr=rowptr, start=start)
    check_index_range(start, "start", N)
    walk_length = check_nonnegative_int(walk_length, "walk_length")
    p, q = _check_positive_float(p, "p"), _check_positive_float(q, "q")
    if not isinstance(return_edge_indices, bool):
        raise TypeError(f"return_edge_indices must be a bool, got {type(return_edge_indices).__name__}")
    args = (rowptr, col, start.long(), walk_length, p, q, draw_rng_seed(generator))
    if reference:
        from .reference.sampling import random_walk as fn
    else:
        fn = torch.ops.meshgraph.random_walk
    nodes, edges = fn(*args)
    return (nodes, edges) if return_edge_indices else nodes


@torch.library.register_fake("meshgraph::random_walk")
def _fake(rowptr, col, start, walk_length, p, q, rng_seed):
    torch._check(walk_length >= 0, lambda: "walk_length must be non-negative")
    S = start.shape[0]
    return start.new_empty((S, walk_length + 1)), start.new_empty((S, walk_length))
