"""Reductions of per-edge (or any per-row) tensors: scatter, segment_reduce, global pooling.

Float "sum" / "mean" / "max" / "min" run on the fused gather-scatter kernel (rows are gathered through an index
CSR and reduced in one pass, deterministic, with kernel backward), so user code that builds (E, F) messages
reduces them without index_add's atomics or extra copies. Integer inputs and the reductions the kernel lacks
("mul", "any") use torch's scatter_reduce with PyG's conventions (empty outputs 0, or 1 for "mul").
"""

from __future__ import annotations

import torch

from .._utils import (
    can_inspect_values,
    check_index_range,
    check_index_tensor,
    check_nonnegative_int,
    check_ptr,
    check_tensor,
    count_per_index,
    first_from_counts,
    flatten_features,
    FLOAT_DTYPES,
    index_from_offsets,
    offsets_from_counts,
    with_flat_features,
)
from .adjacency import Adjacency, cached_on, segment_adjacency
from .gather_scatter import REDUCTIONS, _fused

# Names accepted by scatter / segment_reduce (PyG's and torch_scatter's): aliases map onto the kernel's four.
_ALIASES = {"add": "sum", "amax": "max", "amin": "min"}
REDUCE_NAMES = (*REDUCTIONS, *_ALIASES, "mul", "any")


def _reduce(src: torch.Tensor, adj, reduce: str) -> torch.Tensor:
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    return _fused(src, adj, None, reduce)


def _check_reduce(reduce: str) -> str:
    if reduce not in REDUCE_NAMES:
        raise ValueError(f"reduce must be one of {REDUCE_NAMES}, got {reduce!r}")
    return _ALIASES.get(reduce, reduce)


def _on_kernel(src: torch.Tensor, reduce: str) -> bool:
    return src.dtype in FLOAT_DTYPES and reduce in REDUCTIONS


def _torch_scatter(src: torch.Tensor, index: torch.Tensor, dim_size: int, reduce: str) -> torch.Tensor:
    """Row scatter along dim 0 with torch's own ops, for what the kernel does not take (integers, "mul", "any")."""
    check_index_range(index, "index", dim_size)
    size = (dim_size, *src.shape[1:])
    idx = index.long().view(-1, *([1] * (src.dim() - 1))).expand_as(src)
    if reduce == "sum":
        return src.new_zeros(size).scatter_add_(0, idx, src)
    if reduce == "mean":
        count = torch.zeros(dim_size, dtype=src.dtype, device=src.device).index_add_(0, index.long(), torch.ones_like(index, dtype=src.dtype))
        out = src.new_zeros(size).scatter_add_(0, idx, src)
        return out / count.clamp(min=1).view(-1, *([1] * (src.dim() - 1)))
    if reduce in ("max", "min"):
        return src.new_zeros(size).scatter_reduce_(0, idx, src, reduce="a" + reduce, include_self=False)
    if reduce == "mul":
        return src.new_ones(size).scatter_reduce_(0, idx, src, reduce="prod", include_self=True)
    return src.new_zeros(size).scatter_(0, idx, src)  # "any": one of the rows (the last write)


def _check_index(index: torch.Tensor, rows: int, device: torch.device, dim_size: int | None, where: str = "") -> int:
    """Validate a (rows,) group index on `device`; returns the number of groups (default index.max() + 1). The
    index range is checked when its adjacency is built (`_index_adjacency`), once per index tensor."""
    check_index_tensor(index, "index", dim=1)
    if index.shape[0] != rows:
        raise ValueError(f"index must have one entry per row of src{where} ({rows}), got {index.shape[0]}")
    if index.device != device:
        raise ValueError(f"index is on {index.device} but src is on {device}")
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() else 0
    return check_nonnegative_int(dim_size, "dim_size")


def _index_adjacency(index: torch.Tensor, rows: int, dim_size: int) -> Adjacency:
    """Adjacency that reduces row e into group index[e] (rows are the sources, groups the destinations), cached on
    the index tensor (a batch vector passed every step is sorted and validated once).

    Each source row has exactly one entry, so the CSR by source is the identity layout: only one sort (none when
    the index is already sorted, as a batch vector is)."""

    def build() -> Adjacency:
        check_index_range(index, "index", dim_size)
        idx = index.long()
        ids = torch.arange(rows, device=index.device)
        presorted = can_inspect_values(idx) and bool((idx[1:] >= idx[:-1]).all()) if rows > 1 else True
        order = ids if presorted else torch.argsort(idx, stable=True)
        col_dtype = torch.int32 if max(rows, dim_size) < 2**31 else torch.int64
        rowptr = offsets_from_counts(count_per_index(idx, dim_size))
        eid_t = ids if presorted else torch.empty_like(order).scatter_(0, order, ids)
        rowptr_t = torch.arange(rows + 1, device=index.device)
        return Adjacency(rowptr, order.to(col_dtype), order, rowptr_t, idx.to(col_dtype), eid_t)

    return cached_on(index, ("index_adjacency", rows, dim_size), build)


def scatter(src: torch.Tensor, index, dim_size: int | None = None, reduce: str = "sum", *, dim: int = 0) -> torch.Tensor:
    """out[i] = reduce of src[e] over the rows e with index[e] == i (torch_scatter's `scatter`).

    Args:
        src: (E, *F) rows (e.g. per-edge messages); any dtype (float runs on the fused kernel).
        index: (E,) int32/int64 target of each row, or a GraphBatch (its edge destinations; the index CSR is
            cached on the batch).
        dim_size: number of outputs (default: index.max() + 1; pass it to avoid a device sync).
        reduce: "sum" (or "add"), "mean", "max" (or "amax"), "min" (or "amin"), "mul" or "any"; outputs no row
            maps to are 0 (1 for "mul").
        dim: the dimension of src that index runs along (default 0; negative counts from the end).
    """
    from ..graph import GraphBatch

    reduce = _check_reduce(reduce)
    check_tensor(src, "src", min_dim=1)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -src.dim() <= dim < src.dim():
        raise ValueError(f"dim must lie in [{-src.dim()}, {src.dim() - 1}], got {dim}")
    dim = dim % src.dim()
    if dim != 0:
        return scatter(src.movedim(dim, 0), index, dim_size, reduce).movedim(0, dim)
    if isinstance(index, GraphBatch):
        if src.shape[0] != index.num_edges:
            raise ValueError(f"src must have one row per edge ({index.num_edges}), got {src.shape[0]}")
        if _on_kernel(src, reduce):
            return _reduce(src, index.message_adjacency(), reduce)
        return _torch_scatter(src, index.edge_index[1], index.num_verts, reduce)
    dim_size = _check_index(index, src.shape[0], src.device, dim_size)
    if not _on_kernel(src, reduce):
        return _torch_scatter(src, index, dim_size, reduce)
    return _reduce(src, _index_adjacency(index, src.shape[0], dim_size), reduce)


def segment_reduce(src: torch.Tensor, ptr: torch.Tensor, reduce: str = "sum") -> torch.Tensor:
    """out[i] = reduce of src[ptr[i]:ptr[i+1]] (consecutive segments; ptr is (N + 1,) non-decreasing offsets).

    reduce as in `scatter`; empty segments give 0."""
    reduce = _check_reduce(reduce)
    check_tensor(src, "src", min_dim=1)
    check_index_tensor(ptr, "ptr", dim=1)
    if ptr.shape[0] < 1:
        raise ValueError("ptr must have at least one entry")
    if ptr.device != src.device:
        raise ValueError(f"ptr is on {ptr.device} but src is on {src.device}")
    check_ptr(ptr, src.shape[0], "src")
    if not _on_kernel(src, reduce):
        seg = index_from_offsets(ptr, src.shape[0])
        return _torch_scatter(src, seg, ptr.shape[0] - 1, reduce)
    return _reduce(src, segment_adjacency(ptr, src.shape[0]), reduce)


def global_pool(x: torch.Tensor, batch=None, reduce: str = "mean", size: int | None = None) -> torch.Tensor:
    """One row per graph: reduce ("sum", "mean", "max", "min") of the vertex features of each graph.

    Args:
        x: (sum_V, *F) vertex features; with batch=None also a dense (B, N, F) batch (reduced over N).
        batch: a GraphBatch (segments of its graphs), a (sum_V,) batch vector (graph of each row, any order, as
            PyG's `batch`), or None (all rows one graph).
        size: number of graphs for a batch vector (default batch.max() + 1; pass it to avoid a device sync).

    Returns:
        (N, *F); (1, F) for batch=None and 1-D / 2-D x (PyG's keepdim), (B, F) for dense x. Graphs without
        vertices give 0.
    """
    from ..graph import GraphBatch

    check_tensor(x, "x", min_dim=1)
    if isinstance(batch, GraphBatch):
        if x.shape[0] != batch.num_verts:
            raise ValueError(f"x has {x.shape[0]} rows but the batch has {batch.num_verts} vertices")
        return segment_reduce(x, batch.verts_ptr, reduce)
    dim = -1 if x.dim() == 1 else -2
    if batch is None:
        reduce = _check_reduce(reduce)
        keep = x.dim() <= 2
        if reduce == "sum":
            return x.sum(dim=dim, keepdim=keep)
        if reduce == "mean":
            return x.mean(dim=dim, keepdim=keep)
        if reduce in ("max", "min"):
            return getattr(x, reduce)(dim=dim, keepdim=keep)[0]
        raise ValueError(f"reduce must be 'sum', 'mean', 'max' or 'min' for batch=None, got {reduce!r}")
    if not isinstance(batch, torch.Tensor):
        raise TypeError(f"batch must be a GraphBatch, a batch vector or None, got {type(batch).__name__}")
    return scatter(x, batch, size, reduce, dim=dim)


def global_add_pool(x: torch.Tensor, batch, size: int | None = None) -> torch.Tensor:
    """Per-graph sum of x (see `global_pool`; PyG's `global_add_pool(x, batch, size)`)."""
    return global_pool(x, batch, "sum", size)


def global_mean_pool(x: torch.Tensor, batch, size: int | None = None) -> torch.Tensor:
    """Per-graph mean of x (see `global_pool`)."""
    return global_pool(x, batch, "mean", size)


def global_max_pool(x: torch.Tensor, batch, size: int | None = None) -> torch.Tensor:
    """Per-graph max of x (see `global_pool`)."""
    return global_pool(x, batch, "max", size)


def _softmax_rows(src: torch.Tensor, adj, dim: int) -> torch.Tensor:
    moved = src.movedim(dim, 0)
    out = with_flat_features(moved, lambda rows: torch.ops.meshgraph.neighbor_softmax(rows.contiguous(), adj.rowptr, adj.edge_id))
    return out.movedim(0, dim)


def _check_dim(src: torch.Tensor, dim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not -src.dim() <= dim < src.dim():
        raise ValueError(f"dim must lie in [{-src.dim()}, {src.dim() - 1}], got {dim}")
    return dim % src.dim()


def scatter_softmax(src: torch.Tensor, index: torch.Tensor, dim_size: int | None = None, *, dim: int = 0) -> torch.Tensor:
    """Softmax of src over the rows (along `dim`) that share an index: out[e] = exp(src[e]) / sum over e' with
    index[e'] == index[e] of exp(src[e']), per remaining entry. Fused kernel (neighbor_softmax), stable."""
    check_tensor(src, "src", min_dim=1, dtypes=FLOAT_DTYPES)
    dim = _check_dim(src, dim)
    E = src.shape[dim]
    dim_size = _check_index(index, E, src.device, dim_size, f" along dim {dim}")
    return _softmax_rows(src, _index_adjacency(index, E, dim_size), dim)


def segment_softmax(src: torch.Tensor, ptr: torch.Tensor, *, dim: int = 0) -> torch.Tensor:
    """Softmax of src over consecutive row segments ptr[i]:ptr[i+1] along `dim` (fused kernel, no sorting)."""
    check_tensor(src, "src", min_dim=1, dtypes=FLOAT_DTYPES)
    dim = _check_dim(src, dim)
    check_index_tensor(ptr, "ptr", dim=1)
    E = src.shape[dim]
    if ptr.shape[0] < 1:
        raise ValueError("ptr must have at least one entry")
    check_ptr(ptr, E, f"src along dim {dim}")
    return _softmax_rows(src, segment_adjacency(ptr.to(src.device), E), dim)


def scatter_argmax(src: torch.Tensor, index: torch.Tensor, dim_size: int | None = None, *, dim: int = 0) -> torch.Tensor:
    """Position (along `dim`) of the maximum of each index group, per remaining entry: (dim_size, *rest) int64;
    the first maximal row wins ties; groups no row maps to get src.shape[dim] (torch_scatter's convention)."""
    check_tensor(src, "src", min_dim=1)
    dim = _check_dim(src, dim)
    moved = src.movedim(dim, 0)
    E = moved.shape[0]
    dim_size = _check_index(index, E, src.device, dim_size, f" along dim {dim}")
    rest = moved.shape[1:]
    if moved.dtype in FLOAT_DTYPES:
        adj = _index_adjacency(index, E, dim_size)
        x2 = flatten_features(moved)
        _, arg = torch.ops.meshgraph.gather_scatter(x2.contiguous(), adj.rowptr, adj.col, None, "max", adj.rowptr_t, adj.col_t, adj.eid_t)
        rows = torch.where(arg >= 0, adj.edge_id[arg.clamp(min=0)], E)
    else:  # integers: the rows equal to their group's max, the smallest of them per group
        x2 = flatten_features(moved)
        best = _torch_scatter(x2, index, dim_size, "max")
        hit = x2 == best[index.long()]
        rows_e = torch.arange(E, device=src.device).view(-1, 1).expand_as(x2)
        cand = torch.where(hit, rows_e, torch.full_like(rows_e, E))
        rows = torch.full((dim_size, x2.shape[1]), E, dtype=torch.long, device=src.device)
        rows.scatter_reduce_(0, index.long().view(-1, 1).expand_as(x2), cand, reduce="amin", include_self=True)
    return rows.reshape(dim_size, *rest).movedim(0, dim)


def group_cat(tensors, indices, dim: int = 0, return_index: bool = False):
    """Concatenate tensors along dim, rows reordered so equal index values are adjacent (stable, in index order);
    with return_index also the sorted index."""
    index, perm = torch.cat(list(indices)).sort(stable=True)
    out = torch.cat(list(tensors), dim=dim).index_select(dim, perm)
    return (out, index) if return_index else out


def group_argsort(src: torch.Tensor, index: torch.Tensor, dim: int = 0, num_groups: int | None = None,
                  descending: bool = False, return_consecutive: bool = False, stable: bool = False) -> torch.Tensor:
    """Rank of each entry of the 1-D src within its index group (0 = smallest, or largest when descending);
    return_consecutive=True gives the position in the whole group-by-group order instead. Ties keep input order."""
    if src.dim() != 1 or index.dim() != 1 or src.numel() != index.numel() or dim not in (0, -1):
        raise ValueError("group_argsort takes 1-D src and index of the same length (dim 0)")
    if src.numel() == 0:
        return torch.zeros_like(src)
    perm = torch.argsort(src, descending=descending, stable=True)
    perm = perm[torch.argsort(index[perm], stable=True)]
    out = torch.empty_like(index)
    out[perm] = torch.arange(index.numel(), device=index.device, dtype=index.dtype)
    if return_consecutive:
        return out
    size = int(index.max()) + 1 if num_groups is None else num_groups
    return out - first_from_counts(count_per_index(index, size)).to(index.dtype)[index]


def segment_logsumexp(src: torch.Tensor, ptr: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum(exp(src))) over consecutive segments ptr[i]:ptr[i+1] along dim (stable: the segment max is
    subtracted first, on the fused kernels); empty segments give 0."""
    moved = src.movedim(dim, 0)
    top = segment_reduce(moved.detach(), ptr, "max")
    seg = index_from_offsets(ptr, moved.shape[0])
    total = segment_reduce((moved - top[seg]).exp(), ptr, "sum")
    return (total.log().nan_to_num(neginf=0.0) + top).movedim(0, dim)
