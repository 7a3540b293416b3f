"""Adjacency: the CSR-by-destination form of an edge list that fused kernels consume, plus its transpose.

Built once per graph (GraphBatch caches it) and reused by every forward and backward pass.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._utils import count_per_index, offsets_from_counts


class Adjacency(NamedTuple):
    """Edges u -> v of a graph with V_src sources and V_dst destinations, in both CSR orders.

    rowptr (V_dst + 1,), col (E',): CSR by destination; col holds sources (int32 or int64).
    edge_id (E',) int64: the input edge behind each CSR entry; for directed=False, ids E..2E-1 are the
        reverses of edges 0..E-1 (so per-edge weights in input order are `w.repeat(2)[edge_id]`).
    rowptr_t (V_src + 1,), col_t (E',): CSR by source; col_t holds destinations.
    eid_t (E',) int64: the CSR-by-destination position of each CSR-by-source entry.
    E' is E for a directed graph and 2E when every edge is also used in reverse (directed=False).
    """

    rowptr: torch.Tensor
    col: torch.Tensor
    edge_id: torch.Tensor
    rowptr_t: torch.Tensor
    col_t: torch.Tensor
    eid_t: torch.Tensor

    @property
    def num_dst(self) -> int:
        return self.rowptr.shape[0] - 1

    @property
    def num_src(self) -> int:
        return self.rowptr_t.shape[0] - 1


def transpose_csr(rowptr: torch.Tensor, col: torch.Tensor, num_src: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CSR by destination -> (rowptr_t, col_t, eid_t), the CSR by source and each entry's original position."""
    num_dst = rowptr.shape[0] - 1
    rows = torch.repeat_interleave(
        torch.arange(num_dst, device=rowptr.device, dtype=torch.int64), rowptr.diff(), output_size=col.shape[0]
    )
    eid_t = torch.argsort(col, stable=True)
    return offsets_from_counts(count_per_index(col, num_src)), rows[eid_t].to(col.dtype), eid_t


def build_adjacency(
    edge_index: torch.Tensor,
    num_dst: int,
    num_src: int | None = None,
    *,
    directed: bool = True,
    index_dtype: torch.dtype | None = None,
    self_loops: bool = False,
) -> Adjacency:
    """Adjacency of a (2, E) edge list (row 0 sources, row 1 destinations); directed=False adds every reverse edge.

    self_loops=True appends one loop v -> v per vertex after the edges (ids E'..E'+V-1): GCN / GAT style.
    index_dtype defaults to int32 when the vertex count allows (half the index bytes for the kernels to read).
    """
    num_src = num_dst if num_src is None else num_src
    if self_loops:
        if num_src != num_dst:
            raise ValueError("self_loops=True needs a square graph (as many sources as destinations)")
        if not directed:
            edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
            directed = True
        loops = torch.arange(num_dst, device=edge_index.device, dtype=edge_index.dtype)
        edge_index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
    if index_dtype is None:
        index_dtype = torch.int32 if max(num_src, num_dst) < 2**31 else torch.int64
    src, dst = edge_index[0].long(), edge_index[1].long()
    E = src.shape[0]
    ids = torch.arange(E, device=src.device)
    if not directed:
        if num_src != num_dst:
            raise ValueError("directed=False needs a square graph (as many sources as destinations)")
        src, dst = torch.cat([src, dst]), torch.cat([dst, src])
        ids = torch.arange(2 * E, device=src.device)
    order = torch.argsort(dst, stable=True)
    rowptr = offsets_from_counts(count_per_index(dst, num_dst))
    col = src[order].to(index_dtype).contiguous()
    rowptr_t, col_t, eid_t = transpose_csr(rowptr, col, num_src)
    return Adjacency(rowptr, col, ids[order], rowptr_t, col_t, eid_t)


def segment_adjacency(ptr: torch.Tensor, num_rows: int) -> Adjacency:
    """Adjacency that reduces consecutive row segments: output i gathers rows ptr[i]:ptr[i+1] (no sorting)."""
    rows = torch.arange(num_rows, device=ptr.device)
    seg = torch.repeat_interleave(torch.arange(ptr.shape[0] - 1, device=ptr.device), ptr.diff(), output_size=num_rows)
    col = rows.to(torch.int32 if num_rows < 2**31 else torch.int64)
    return Adjacency(ptr.long(), col, rows, torch.arange(num_rows + 1, device=ptr.device), seg.to(col.dtype), rows)
