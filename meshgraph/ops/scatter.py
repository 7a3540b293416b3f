"""Reductions of per-edge (or any per-row) tensors: scatter, segment_reduce, global pooling.

All run on the fused gather-scatter kernel (rows are gathered through an index CSR and reduced in one pass,
deterministic, with kernel backward), so user code that builds (E, F) messages reduces them without
index_add's atomics or extra copies.
"""

from __future__ import annotations

import torch

from .._utils import FLOAT_DTYPES, check_index_range, check_index_tensor, check_nonnegative_int, check_tensor
from .adjacency import build_adjacency, segment_adjacency
from .gather_scatter import REDUCTIONS


def _reduce(src: torch.Tensor, adj, reduce: str) -> torch.Tensor:
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    x2 = src.reshape(src.shape[0], -1) if src.dim() != 2 else src
    out, _ = torch.ops.meshgraph.gather_scatter(x2, adj.rowptr, adj.col, None, reduce, adj.rowptr_t, adj.col_t, adj.eid_t)
    return out.reshape(adj.num_dst, *src.shape[1:])


def scatter(src: torch.Tensor, index, dim_size: int | None = None, reduce: str = "sum") -> torch.Tensor:
    """out[i] = reduce of src[e] over the rows e with index[e] == i (torch_scatter's `scatter` along dim 0).

    Args:
        src: (E, *F) float rows (e.g. per-edge messages).
        index: (E,) int32/int64 target of each row, or a GraphBatch (its edge destinations; the index CSR is
            cached on the batch).
        dim_size: number of outputs (default: index.max() + 1; pass it to avoid a device sync).
        reduce: "sum", "mean", "max" or "min"; outputs no row maps to are 0.
    """
    from ..graph import GraphBatch

    check_tensor(src, "src", min_dim=1, dtypes=FLOAT_DTYPES)
    if isinstance(index, GraphBatch):
        if src.shape[0] != index.num_edges:
            raise ValueError(f"src must have one row per edge ({index.num_edges}), got {src.shape[0]}")
        return _reduce(src, index.message_adjacency(), reduce)
    check_index_tensor(index, "index", dim=1)
    if index.shape[0] != src.shape[0]:
        raise ValueError(f"index must have one entry per row of src ({src.shape[0]}), got {index.shape[0]}")
    if index.device != src.device:
        raise ValueError(f"index is on {index.device} but src is on {src.device}")
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() else 0
    dim_size = check_nonnegative_int(dim_size, "dim_size")
    check_index_range(index, "index", dim_size)
    E = src.shape[0]
    pairs = torch.stack([torch.arange(E, device=src.device), index.long()])
    return _reduce(src, build_adjacency(pairs, dim_size, num_src=E), reduce)


def segment_reduce(src: torch.Tensor, ptr: torch.Tensor, reduce: str = "sum") -> torch.Tensor:
    """out[i] = reduce of src[ptr[i]:ptr[i+1]] (consecutive segments; ptr is (N + 1,) non-decreasing offsets)."""
    check_tensor(src, "src", min_dim=1, dtypes=FLOAT_DTYPES)
    check_index_tensor(ptr, "ptr", dim=1)
    if ptr.shape[0] < 1:
        raise ValueError("ptr must have at least one entry")
    if ptr.device != src.device:
        raise ValueError(f"ptr is on {ptr.device} but src is on {src.device}")
    from .._utils import check_first_idxs, can_inspect_values

    if can_inspect_values(ptr) and ptr.numel():
        if int(ptr[0]) != 0 or int(ptr[-1]) != src.shape[0]:
            raise ValueError(f"ptr must start at 0 and end at {src.shape[0]} (the rows of src)")
        check_first_idxs(ptr[:-1], src.shape[0], None, name="ptr")
    return _reduce(src, segment_adjacency(ptr, src.shape[0]), reduce)


def global_pool(x: torch.Tensor, graph, reduce: str = "mean") -> torch.Tensor:
    """(sum_V, *F) vertex features -> (N, *F) one row per graph of the GraphBatch (sum / mean / max / min)."""
    from ..graph import GraphBatch

    if not isinstance(graph, GraphBatch):
        raise TypeError(f"graph must be a GraphBatch, got {type(graph).__name__}")
    check_tensor(x, "x", min_dim=1, dtypes=FLOAT_DTYPES)
    if x.shape[0] != graph.num_verts:
        raise ValueError(f"x has {x.shape[0]} rows but the batch has {graph.num_verts} vertices")
    return segment_reduce(x, graph.verts_ptr, reduce)


def global_add_pool(x, graph):
    return global_pool(x, graph, "sum")


def global_mean_pool(x, graph):
    return global_pool(x, graph, "mean")


def global_max_pool(x, graph):
    return global_pool(x, graph, "max")
