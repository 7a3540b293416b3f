"""Adjacency: the CSR-by-destination form of an edge list that fused kernels consume, plus its transpose.

Built once per graph (GraphBatch caches it) and reused by every forward and backward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from .._utils import (
    can_inspect_values,
    check_index_range,
    check_index_tensor,
    count_per_index,
    index_from_offsets,
    offsets_from_counts,
)


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


def entry_endpoints(rowptr: torch.Tensor, col: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(src, dst) of every entry of a CSR by destination, in CSR order: src = col, dst = the entry's row (int64
    both). No sorting and no device sync (the entry count is col's length)."""
    return col.long(), index_from_offsets(rowptr, col.shape[0])


def edge_endpoints(adj: Adjacency) -> tuple[torch.Tensor, torch.Tensor]:
    """(src, dst) int64 of every CSR entry of an Adjacency, in CSR order (entry k is input edge adj.edge_id[k];
    `src[inverse]` with inverse the inverse permutation of edge_id gives them in input edge order)."""
    return entry_endpoints(adj.rowptr, adj.col)


def transpose_csr(rowptr: torch.Tensor, col: torch.Tensor, num_src: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CSR by destination -> (rowptr_t, col_t, eid_t), the CSR by source and each entry's original position."""
    _, rows = entry_endpoints(rowptr, col)
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
    seg = index_from_offsets(ptr, num_rows)
    col = rows.to(torch.int32 if num_rows < 2**31 else torch.int64)
    return Adjacency(ptr.long(), col, rows, torch.arange(num_rows + 1, device=ptr.device), seg.to(col.dtype), rows)


# ---------------------------------------------------------------------- adjacency cached on the edge tensor

# An edge tensor carries the adjacencies built from it, as PyG's EdgeIndex carries its CSR: the cache lives and
# dies with the tensor the user holds (no process-wide table), and index validation runs once, when an entry is
# built. Entries are plain tuples of tensors and ints, so a tensor that carries them still pickles and loads with
# torch.load(weights_only=True); an in-place change of the tensor (its version counter) drops them.
_CACHE_ATTR = "_meshgraph_adjacency"


def cached_value(owner: torch.Tensor, key: tuple, build: Callable[[], object]) -> object:
    """`build()`, cached on the tensor `owner` under `key` while `owner` is unmodified. The value must be plain
    data (tensors, ints, tuples of them) so that `owner` still pickles and loads with weights_only=True.

    Not cached (built on every call): while tracing (torch.compile / export / fake tensors), and for inference
    tensors, whose in-place changes are not versioned. Values built inside `torch.inference_mode()` are made as
    normal tensors, so a later autograd pass outside inference mode can save them for backward.
    """
    if not can_inspect_values(owner) or owner.is_inference():
        return build()
    version = owner._version
    store = owner.__dict__.get(_CACHE_ATTR)
    if store is None or store[0] != version:
        store = (version, {})
    hit = store[1].get(key)
    if hit is not None:
        return hit
    with torch.inference_mode(False):
        value = build()
    entries = dict(store[1])  # copy-on-write: readers in other threads keep a consistent dict
    entries[key] = value
    owner.__dict__[_CACHE_ATTR] = (version, entries)
    return value


def cached_on(owner: torch.Tensor, key: tuple, build: Callable[[], Adjacency]) -> Adjacency:
    """The Adjacency `build()` gives, cached on the tensor `owner` under `key` (see `cached_value`)."""
    return Adjacency(*cached_value(owner, key, lambda: tuple(build())))


def edge_layout(edges: torch.Tensor, directed: bool | None) -> tuple[bool, bool, str]:
    """How to read an edge tensor: (is PyG's (2, E) layout, directed, the argument's name). No data is touched.

    (2, E) PyG edge_index: row 0 sources, row 1 destinations, directed unless said otherwise. (E, 2) PyTorch3D
    edges: edges[e, 0] receives from edges[e, 1], undirected unless `directed`. A (2, 2) tensor is read as PyG's
    layout unless `directed` is given."""
    check_index_tensor(edges, "edges", dim=2)
    if edges.shape[0] == 2 and (edges.shape[1] != 2 or directed is None):
        return True, True if directed is None else directed, "edge_index"
    if edges.shape[1] == 2:
        return False, False if directed is None else directed, "edges"
    raise ValueError(f"edges must have shape (2, E) (PyG edge_index) or (E, 2) (PyTorch3D), got {tuple(edges.shape)}")


def as_edge_index(edges: torch.Tensor, pyg: bool) -> torch.Tensor:
    """(2, E) sources / destinations of an edge tensor read by `edge_layout` (a copy for PyTorch3D's layout)."""
    return edges if pyg else torch.stack([edges[:, 1], edges[:, 0]])


def resolve_graph(
    graph, num_src: int, directed: bool | None, device: torch.device, self_loops: bool = False, num_dst: int | None = None
) -> tuple[Adjacency, int, str]:
    """The graph argument of an op -> (Adjacency, number of input edges, the argument's name for messages).

    graph: an Adjacency; a (2, E) / (E, 2) edge tensor (see `edge_layout`; its adjacency is cached on it); an
    object with an `adjacency(directed=, self_loops=)` method and `num_edges` (GraphBatch, meshgraph's PyG-style
    records), or any object with an `edge_index` tensor (PyG's Data). num_src: rows of the source features;
    num_dst: destinations (default num_src). self_loops=True appends a loop per vertex (ids after the edges).
    """
    num_dst = num_src if num_dst is None else num_dst
    if isinstance(graph, Adjacency):
        if self_loops:
            raise ValueError("self loops cannot be added to a prebuilt Adjacency: build it with self_loops=True")
        if graph.num_src != num_src:
            raise ValueError(f"x has {num_src} rows but the adjacency has {graph.num_src} sources")
        if graph.rowptr.device != device:
            raise ValueError(f"adjacency is on {graph.rowptr.device} but x is on {device}: they must share a device")
        return graph, int(graph.edge_id.shape[0]), "adjacency"
    if isinstance(graph, torch.Tensor):
        pyg, directed, name = edge_layout(graph, directed)
        if graph.device != device:
            raise ValueError(f"{name} is on {graph.device} but x is on {device}: they must share a device")

        def build() -> Adjacency:
            edge_index = as_edge_index(graph, pyg)
            check_index_range(edge_index[0], name if pyg else "edges[:, 1]", num_src, once=True)
            check_index_range(edge_index[1], name if pyg else "edges[:, 0]", num_dst, once=True)
            return build_adjacency(edge_index, num_dst, num_src, directed=directed, self_loops=self_loops)

        adj = cached_on(graph, ("adjacency", num_src, num_dst, directed, self_loops, pyg), build)
        return adj, int(graph.shape[1] if pyg else graph.shape[0]), name
    if callable(getattr(graph, "adjacency", None)) and hasattr(graph, "num_edges"):
        n = graph.num_verts if hasattr(graph, "num_verts") else graph.num_nodes
        if n != num_src or n != num_dst:
            raise ValueError(f"x has {num_src} rows but the graph has {n} vertices")
        if getattr(graph, "device", device) != device:
            raise ValueError(f"graph is on {graph.device} but x is on {device}")
        adj = graph.adjacency(directed=True if directed is None else directed, self_loops=self_loops)
        return adj, int(graph.num_edges), "graph"
    edge_index = getattr(graph, "edge_index", None)
    if isinstance(edge_index, torch.Tensor):
        return resolve_graph(edge_index, num_src, directed, device, self_loops, num_dst)
    raise TypeError(
        "graph must be a GraphBatch, an Adjacency, an edge tensor or an object with edge_index, "
        f"got {type(graph).__name__}"
    )
