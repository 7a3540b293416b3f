"""The edge argument of a layer in any form PyG accepts, read once per call.

Forms: a (2, E) integer `edge_index` (PyG's `EdgeIndex` subclass included), a GraphBatch, a `torch.sparse`
COO / CSR / CSC adjacency or a SparseTensor-like object (duck-typed on `csr()` and `sparse_sizes()`). The
sparse forms hold the *transposed* adjacency `adj_t` (rows = destinations, columns = sources), as in PyG, and
their values are the edge weights.

`read_edges` gives the per-edge source and destination indices (in the order the edges' values / weights /
messages use) and the sizes the input fixes. `edge_adjacency` gives the Adjacency the fused kernels consume:
cached on the GraphBatch or (through `_resolve`) on the edge tensor for square graphs; for sparse and bipartite
inputs it is built from the indices (CSR inputs without sorting).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._utils import check_index_range, count_per_index, index_from_offsets, offsets_from_counts
from ..ops.adjacency import Adjacency, build_adjacency, edge_endpoints, transpose_csr
from ..ops.gather_scatter import _resolve

FLOWS = ("source_to_target", "target_to_source")


class Edges(NamedTuple):
    """index_j (E,): rows of x_j (message sources); index_i (E,): rows of x_i (destinations, the aggregation
    index); value: per-edge values of a sparse input (or None); size: PyG's [N_0, N_1] (None where the input
    does not fix it); sparse: the input was a sparse adjacency; edge_index: the plain (2, E) tensor (None for
    sparse inputs); rowptr: CSR offsets over destinations when the edge order already is CSR (else None)."""

    index_j: torch.Tensor
    index_i: torch.Tensor
    value: torch.Tensor | None
    size: list
    sparse: bool
    edge_index: torch.Tensor | None
    rowptr: torch.Tensor | None
    source: object


def is_graph_batch(obj) -> bool:
    from ..graph import GraphBatch

    return isinstance(obj, GraphBatch)


def is_sparse_tensor_like(obj) -> bool:
    """torch_sparse.SparseTensor and lookalikes (duck-typed)."""
    return not isinstance(obj, torch.Tensor) and callable(getattr(obj, "csr", None)) and callable(getattr(obj, "sparse_sizes", None))


def is_torch_sparse(obj) -> bool:
    return isinstance(obj, torch.Tensor) and obj.layout in (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)


def is_sparse(obj) -> bool:
    return is_torch_sparse(obj) or is_sparse_tensor_like(obj)


def plain(t: torch.Tensor) -> torch.Tensor:
    """A tensor subclass (PyG's EdgeIndex) as a plain tensor sharing its memory."""
    # Duck-typed on EdgeIndex's sparse_size: under torch.export the input is a FakeTensor / FunctionalTensor, which
    # must stay as it is (as_subclass would cut it out of the traced graph).
    return t if type(t) is torch.Tensor or not callable(getattr(t, "sparse_size", None)) else t.as_subclass(torch.Tensor)


def read_edges(edge_index, flow: str = "source_to_target", size=None) -> Edges:
    """Read any edge form (PyG's `_check_input` rules and messages for bad input)."""
    from ..graph import GraphBatch

    if isinstance(edge_index, GraphBatch):
        ei = edge_index.edge_index
        n = edge_index.num_verts
        j, i = (ei[0], ei[1]) if flow == "source_to_target" else (ei[1], ei[0])
        return Edges(j, i, None, [n, n], False, ei, None, edge_index)
    if is_sparse(edge_index):
        if flow == "target_to_source":
            raise ValueError(
                'Flow direction "target_to_source" is invalid for message propagation via `torch_sparse.SparseTensor` '
                "or `torch.sparse.Tensor`. If you really want to make use of a reverse message passing flow, pass in "
                "the transposed sparse tensor to the message passing module, e.g., `adj_t.t()`.")
        if is_sparse_tensor_like(edge_index):
            rowptr, col, value = edge_index.csr()
            n_dst, n_src = edge_index.sparse_sizes()
            return Edges(col, index_from_offsets(rowptr, col.numel()), value, [n_src, n_dst], True, None, rowptr, edge_index)
        n_dst, n_src = edge_index.shape[0], edge_index.shape[1]
        if edge_index.layout == torch.sparse_csr:
            rowptr, col = edge_index.crow_indices(), edge_index.col_indices()
            return Edges(col, index_from_offsets(rowptr, col.numel()), edge_index.values(), [n_src, n_dst], True, None,
                         rowptr, edge_index)
        if edge_index.layout == torch.sparse_csc:
            colptr, row = edge_index.ccol_indices(), edge_index.row_indices()
            return Edges(index_from_offsets(colptr, row.numel()), row, edge_index.values(), [n_src, n_dst], True, None, None,
                         edge_index)
        a = edge_index if edge_index.is_coalesced() else edge_index.coalesce()
        idx = a._indices()
        rowptr = offsets_from_counts(count_per_index(idx[0], n_dst))  # coalesced COO is sorted by row
        return Edges(idx[1], idx[0], a.values(), [n_src, n_dst], True, None, rowptr, edge_index)
    if isinstance(edge_index, torch.Tensor):
        if edge_index.dtype not in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
            raise ValueError(f"Expected 'edge_index' to be of integer type (got '{edge_index.dtype}')")
        if edge_index.dim() != 2:
            raise ValueError(f"Expected 'edge_index' to be two-dimensional (got {edge_index.dim()} dimensions)")
        if edge_index.shape[0] != 2:
            raise ValueError(f"Expected 'edge_index' to have size '2' in the first dimension (got '{edge_index.shape[0]}')")
        fixed = [None, None]
        sizes = getattr(edge_index, "sparse_size", None)
        if callable(sizes) and type(edge_index) is not torch.Tensor:  # EdgeIndex: (num_rows, num_cols)
            fixed = list(sizes())
        if size is not None:
            fixed = [size[0] if size[0] is not None else fixed[0], size[1] if size[1] is not None else fixed[1]]
        ei = plain(edge_index)
        j, i = (ei[0], ei[1]) if flow == "source_to_target" else (ei[1], ei[0])
        return Edges(j, i, None, fixed, False, ei, None, edge_index)
    raise ValueError(
        "`MessagePassing.propagate` only supports integer tensors of shape `[2, num_messages]`, "
        "`torch_sparse.SparseTensor` or `torch.sparse.Tensor` for argument `edge_index`.")


def edge_adjacency(edges: Edges, num_src: int, num_dst: int, flow: str = "source_to_target") -> Adjacency:
    """CSR by destination of the edges (entry k reads edge edge_id[k]), cached where the input allows."""
    from ..graph import GraphBatch

    src = edges.source
    device = edges.index_i.device
    if isinstance(src, GraphBatch) and flow == "source_to_target":
        return src.adjacency(directed=True)
    if edges.edge_index is not None and flow == "source_to_target" and num_src == num_dst and edges.edge_index.dtype in (torch.int32, torch.int64):
        return _resolve(edges.edge_index, num_dst, None, device)[0]
    j, i = edges.index_j, edges.index_i
    if edges.rowptr is not None:
        rowptr = edges.rowptr.long()
        index_dtype = torch.int32 if max(num_src, num_dst) < 2**31 else torch.int64
        col = j.to(index_dtype).contiguous()
        return Adjacency(rowptr, col, torch.arange(col.numel(), device=device), *transpose_csr(rowptr, col, num_src))
    check_index_range(j, "edge_index", num_src)
    check_index_range(i, "edge_index", num_dst)
    return build_adjacency(torch.stack([j.long(), i.long()]), num_dst, num_src=num_src)


def message_adjacency(edges: Edges, num_src: int, num_dst: int, flow: str = "source_to_target") -> Adjacency | None:
    """Adjacency that reduces (E, *F) per-edge messages (rows in edge order) into their destinations, derived
    without sorting from the cached CSR of a square (2, E) edge_index or a GraphBatch (cached there); None for
    inputs without a cached CSR (sparse, bipartite, reversed flow), where `scatter` sorts the index itself."""
    from ..graph import GraphBatch

    if flow != "source_to_target" or edges.sparse or num_src != num_dst:
        return None
    if isinstance(edges.source, GraphBatch):
        return edges.source.message_adjacency()
    if edges.edge_index is None or edges.edge_index.dtype not in (torch.int32, torch.int64):
        return None
    adj = _resolve(edges.edge_index, num_dst, None, edges.index_i.device)[0]
    E = adj.edge_id.numel()
    rows = edge_endpoints(adj)[1].to(adj.col.dtype)
    col_t = torch.empty_like(rows).index_copy_(0, adj.edge_id, rows)  # message m's destination
    eid_t = torch.empty_like(adj.edge_id).index_copy_(0, adj.edge_id, torch.arange(E, device=rows.device))
    arange = torch.arange(E + 1, device=rows.device)
    return Adjacency(adj.rowptr, adj.edge_id.to(adj.col.dtype), adj.edge_id, arange, col_t, eid_t)
