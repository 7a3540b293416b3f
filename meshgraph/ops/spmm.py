"""spmm: sparse (N, M) matrix times dense (M, F) features with a sum / mean / min / max reduction, fused.

PyG's `torch_geometric.utils.spmm(src, other, reduce='sum')` semantics: out[i] = reduce over the stored entries
(i, j, v) of row i of v * other[j]; rows without entries give 0. Runs on the fused gather-scatter kernel (no
nnz x F temporary), differentiable w.r.t. `other` and the stored values.
"""

from __future__ import annotations

import warnings

import torch

from .._utils import FLOAT_DTYPES, check_tensor, index_from_offsets
from .adjacency import build_adjacency
from .gather_scatter import aggregate

REDUCE = ("sum", "mean", "min", "max")


def _entries(src) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, int, int]:
    """(rows, cols, values or None, N, M) of a torch.sparse matrix or a SparseTensor-like object (`csr()`)."""
    if not isinstance(src, torch.Tensor) and callable(getattr(src, "csr", None)):
        rowptr, col, value = src.csr()
        n, m = src.sparse_sizes()
        rows = index_from_offsets(rowptr, col.numel())
        return rows, col, value, int(n), int(m)
    sizes = getattr(src, "sparse_size", None)
    if isinstance(src, torch.Tensor) and src.layout == torch.strided and callable(sizes):
        # PyG's EdgeIndex (duck-typed): a (2, E) index of A[row, col] = 1 with its (N, M) sparse size
        ei = src.as_subclass(torch.Tensor)
        n, m = sizes()
        if ei.dim() != 2 or ei.shape[0] != 2 or n is None or m is None:
            raise ValueError("an EdgeIndex 'src' needs shape (2, E) and a known sparse_size")
        return ei[0], ei[1], None, int(n), int(m)
    if isinstance(src, torch.Tensor) and src.layout in (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc):
        if src.dim() != 2:
            raise ValueError(f"'src' must be a 2-D sparse matrix, got shape {tuple(src.shape)}")
        n, m = src.shape
        if src.layout != torch.sparse_csr:  # PyG's warning, word for word: the call pays a conversion each time
            warnings.warn(
                "Converting sparse tensor to CSR format for more efficient processing. Consider converting your "
                f"sparse tensor to CSR format beforehand to avoid repeated conversion (got '{src.layout}')",
                stacklevel=3,
            )
        if src.layout == torch.sparse_coo:
            a = src if src.is_coalesced() else src.coalesce()
            idx = a.indices()
            return idx[0], idx[1], a.values(), n, m
        a = src if src.layout == torch.sparse_csr else src.to_sparse_csr()
        rowptr, col = a.crow_indices(), a.col_indices()
        rows = index_from_offsets(rowptr, col.numel())
        return rows, col, a.values(), n, m
    raise ValueError("'src' must be a 'torch_sparse.SparseTensor' or a 'torch.sparse.Tensor'")


def spmm(src, other: torch.Tensor, reduce: str = "sum") -> torch.Tensor:
    """Sparse-dense product with a reduction.

    Args:
        src: (N, M) torch.sparse COO / CSR / CSC tensor, a SparseTensor-like object with `csr()` and
            `sparse_sizes()`, or an EdgeIndex-like (2, E) index tensor with `sparse_size()`; stored values weight
            the entries (1 when there are none).
        other: (M, F) dense features (float16 / bfloat16 / float32 / float64).
        reduce: "sum" (alias "add"), "mean" (sum / number of stored entries of the row), "min" or "max".

    Returns:
        (N, F) in the dtype of `other`.
    """
    reduce = "sum" if reduce == "add" else reduce
    if reduce not in REDUCE:
        raise ValueError(f"`reduce` argument '{reduce}' not supported")
    check_tensor(other, "other", dim=2, dtypes=FLOAT_DTYPES)
    rows, cols, values, n, m = _entries(src)
    if other.shape[0] != m:
        raise ValueError(f"other must have {m} rows (the columns of src), got {other.shape[0]}")
    if rows.device != other.device:
        raise ValueError(f"src is on {rows.device} but other is on {other.device}: they must share a device")
    adj = build_adjacency(torch.stack([cols, rows]), n, m)
    w = None if values is None else values.to(other.dtype)
    return aggregate(other, adj, w, reduce)


__all__ = ["spmm"]
