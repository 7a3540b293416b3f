"""Edge-list functions on (2, E) `edge_index` tensors (row 0 sources, row 1 destinations), PyG's vocabulary.

Same signatures, defaults, return forms and edge order as `torch_geometric.utils` 2.8, so layers and user code
can build the edge list they need (self loops, undirected, coalesced) before handing it to the fused kernels:

- self loops: `contains_self_loops`, `remove_self_loops`, `segregate_self_loops`, `add_self_loops` (a loop per
  node appended after the edges), `add_remaining_self_loops` (non-loop edges kept in order, then one loop per
  node, carrying the attribute of an existing loop where there was one), `get_self_loop_attr`;
- ordering and duplicates: `sort_edge_index`, `coalesce` (sorted by (row, col), duplicates reduced),
  `to_undirected`, `is_undirected`;
- counts: `maybe_num_nodes`, `degree`, `contains_isolated_nodes`, `remove_isolated_nodes`.

`edge_attr` may be a tensor, None, or (where PyG allows it) a list of tensors. Functions whose PyG version returns
only the edge index when `edge_attr` is not passed (`coalesce`, `sort_edge_index`, `to_undirected`) do the same.
Duplicate edges are reduced with the fused segment kernel (`segment_reduce`) for float attributes.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .._utils import count_per_index, index_from_offsets, offsets_from_counts
from .scatter import REDUCE_NAMES, scatter, segment_reduce

MISSING = "???"  # PyG's sentinel: edge_attr not passed at all (then only the edge index is returned)


def maybe_num_nodes(edge_index, num_nodes: int | None = None) -> int:
    """num_nodes if given, else 1 + the largest index (0 for no edges). Accepts a tensor or a (row, col) pair."""
    if num_nodes is not None:
        return num_nodes
    if isinstance(edge_index, (tuple, list)):
        return max((maybe_num_nodes(t) for t in edge_index), default=0)
    if is_edge_index_like(edge_index) and callable(getattr(edge_index, "get_sparse_size", None)):
        return max(edge_index.get_sparse_size())  # its sparse size (inferred from the indices when not set)
    if getattr(edge_index, "layout", torch.strided) != torch.strided:  # torch.sparse adjacency
        return max(edge_index.size(0), edge_index.size(1))
    return int(edge_index.max()) + 1 if edge_index.numel() > 0 else 0


def maybe_num_nodes_dict(edge_index_dict: dict, num_nodes_dict: dict | None = None) -> dict:
    """Node count per node type of typed edge lists {(src_type, ..., dst_type): (2, E)}: the given counts, else
    1 + the largest index seen for the type (as source in row 0, as destination in row 1)."""
    out = dict(num_nodes_dict or {})
    given = set(out)
    for key, edge_index in edge_index_dict.items():
        for node_type, row in ((key[0], edge_index[0]), (key[-1], edge_index[1])):
            if node_type not in given:
                n = int(row.max()) + 1 if row.numel() else 0
                out[node_type] = max(n, out.get(node_type, n))
    return out


def _check_edge_index(edge_index) -> None:
    if not isinstance(edge_index, torch.Tensor):
        raise TypeError(f"edge_index must be a torch.Tensor, got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")


def is_edge_index_like(t) -> bool:
    """An index tensor subclass carrying its sparse size and sort order (PyG's EdgeIndex, duck-typed)."""
    return (isinstance(t, torch.Tensor) and type(t) is not torch.Tensor and callable(getattr(t, "sparse_size", None))
            and hasattr(t, "sort_order") and hasattr(t, "is_undirected"))


def like_edge_index(template, out, *, sort_order="keep", is_undirected="keep", sparse_size="keep"):
    """`out` as the subclass of `template` with its metadata ("keep": template's), when template is an
    EdgeIndex-like tensor; `out` unchanged otherwise. Built through the subclass's public constructor."""
    if not is_edge_index_like(template):
        return out
    return type(template)(
        out.as_subclass(torch.Tensor),
        sparse_size=template.sparse_size() if sparse_size == "keep" else sparse_size,
        sort_order=template.sort_order if sort_order == "keep" else sort_order,
        is_undirected=template.is_undirected if is_undirected == "keep" else is_undirected,
    )


def _loop_index(edge_index: torch.Tensor, N: int) -> torch.Tensor:
    """(2, N) loops 0..N-1 in edge_index's dtype; an EdgeIndex (N x N, undirected) when edge_index is one."""
    loops = torch.arange(N, device=edge_index.device, dtype=edge_index.dtype).view(1, -1).repeat(2, 1)
    return like_edge_index(edge_index, loops, sort_order=None, is_undirected=True, sparse_size=(N, N))


def _cat_edges(edge_index: torch.Tensor, loops: torch.Tensor) -> torch.Tensor:
    """edge_index then loops. For an EdgeIndex: its sparse size, no sort order, undirected when it was."""
    out = torch.cat([edge_index.as_subclass(torch.Tensor), loops.as_subclass(torch.Tensor)], dim=1)
    if not is_edge_index_like(edge_index):
        return out
    N = loops.shape[1]
    size = tuple(None if a is None else max(int(a), N) for a in edge_index.sparse_size())
    return like_edge_index(edge_index, out, sort_order=None, sparse_size=size)


def _select(edge_attr, index):
    """edge_attr (tensor, list of tensors or None) restricted / permuted to the edges `index` picks."""
    if edge_attr is None:
        return None
    if isinstance(edge_attr, torch.Tensor):
        return edge_attr[index]
    return [e[index] for e in edge_attr]


def _result(edge_index, edge_attr):
    """PyG's return forms: the edge index alone when edge_attr was not passed, else the pair."""
    return edge_index if isinstance(edge_attr, str) and edge_attr == MISSING else (edge_index, edge_attr)


# ---------------------------------------------------------------------- self loops


def contains_self_loops(edge_index: torch.Tensor) -> bool:
    """True when some edge i -> i exists."""
    _check_edge_index(edge_index)
    return bool((edge_index[0] == edge_index[1]).any())


def remove_self_loops(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None):
    """(edge_index, edge_attr) without the edges i -> i, the others in their order. A torch.sparse adjacency
    comes back as the same layout without its diagonal: (adj, None)."""
    if is_torch_sparse_tensor(edge_index):
        adj = edge_index
        ei, value = to_edge_index(adj)
        mask = ei[0] != ei[1]
        size = (adj.size(0), adj.size(1))
        return to_torch_sparse_tensor(ei[:, mask], value[mask], size, True, _layout(adj)), None
    _check_edge_index(edge_index)
    mask = edge_index[0] != edge_index[1]
    return like_edge_index(edge_index, edge_index[:, mask]), _select(edge_attr, mask)


def segregate_self_loops(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None):
    """(edge_index, edge_attr, loop_edge_index, loop_edge_attr): the non-loop edges and the loops, each in order."""
    _check_edge_index(edge_index)
    mask = edge_index[0] != edge_index[1]
    loops = like_edge_index(edge_index, edge_index[:, ~mask])
    return like_edge_index(edge_index, edge_index[:, mask]), _select(edge_attr, mask), loops, _select(edge_attr, ~mask)


def _loop_attr(edge_index: torch.Tensor, edge_attr: torch.Tensor, num_nodes: int, fill_value) -> torch.Tensor:
    """(num_nodes, *attr) attributes of new self loops: 1, a constant, a given row, or a reduction ("add", "mean",
    "max", "min", "mul") of the attributes of each node's in-edges."""
    size = (num_nodes, *edge_attr.shape[1:])
    if fill_value is None:
        return edge_attr.new_ones(size)
    if isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool):
        return edge_attr.new_full(size, fill_value)
    if isinstance(fill_value, torch.Tensor):
        value = fill_value.to(edge_attr.device, edge_attr.dtype)
        if value.dim() != edge_attr.dim():
            value = value.unsqueeze(0)
        return value.expand(size).contiguous()
    if isinstance(fill_value, str):
        return scatter(edge_attr, edge_index[1], num_nodes, fill_value)
    raise AttributeError("No valid 'fill_value' provided")


def add_self_loops(
    edge_index: torch.Tensor,
    edge_attr: torch.Tensor | None = None,
    fill_value: float | torch.Tensor | str | None = None,
    num_nodes: int | tuple[int, int] | None = None,
):
    """Append a loop i -> i for every node i (existing loops are kept: some nodes then have two).

    num_nodes may be (N_src, N_dst) for a bipartite graph: loops for the first min(N_src, N_dst) nodes.
    fill_value sets the loops' attributes (see `_loop_attr`; default 1). Returns (edge_index, edge_attr); a
    torch.sparse adjacency comes back as the same layout with the loops added to its diagonal: (adj, None).
    """
    if is_torch_sparse_tensor(edge_index):
        adj = edge_index
        size = (adj.size(0), adj.size(1))
        ei, value = to_edge_index(adj)
        N = min(size)
        loops = torch.arange(N, device=ei.device).view(1, -1).repeat(2, 1)
        if isinstance(fill_value, str):  # reduce over the entries of each row (the sparse layout's source side)
            loop_value = scatter(value, ei[0], N, fill_value)
        else:
            loop_value = _loop_attr(ei, value, N, fill_value)
        out = torch.cat([ei, loops], dim=1), torch.cat([value, loop_value], dim=0)
        return to_torch_sparse_tensor(*out, size, False, _layout(adj)), None
    _check_edge_index(edge_index)
    if isinstance(num_nodes, (tuple, list)):
        N = min(num_nodes[0], num_nodes[1])
    else:
        N = maybe_num_nodes(edge_index, num_nodes)
    if edge_attr is not None:
        edge_attr = torch.cat([edge_attr, _loop_attr(edge_index, edge_attr, N, fill_value)], dim=0)
    return _cat_edges(edge_index, _loop_index(edge_index, N)), edge_attr


def add_remaining_self_loops(
    edge_index: torch.Tensor,
    edge_attr: torch.Tensor | None = None,
    fill_value: float | torch.Tensor | str | None = None,
    num_nodes: int | None = None,
):
    """One loop per node: the non-loop edges in order, then loops 0..N-1. A node that already had a loop keeps
    that loop's attribute (the last one, when it had several); the others get fill_value's."""
    _check_edge_index(edge_index)
    N = maybe_num_nodes(edge_index, num_nodes)
    mask = edge_index[0] != edge_index[1]
    if edge_attr is not None:
        loop_attr = _loop_attr(edge_index, edge_attr, N, fill_value)
        inv = ~mask
        loop_attr[edge_index[0][inv]] = edge_attr[inv]
        edge_attr = torch.cat([edge_attr[mask], loop_attr], dim=0)
    return _cat_edges(like_edge_index(edge_index, edge_index[:, mask]), _loop_index(edge_index, N)), edge_attr


def get_self_loop_attr(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, num_nodes: int | None = None):
    """(N, *attr) attribute of each node's self loop (0 where it has none; 1 per loop when edge_attr is None)."""
    _check_edge_index(edge_index)
    mask = edge_index[0] == edge_index[1]
    loop_index = edge_index[0][mask]
    loop_attr = edge_attr[mask] if edge_attr is not None else torch.ones(loop_index.numel(), device=edge_index.device)
    N = maybe_num_nodes(edge_index, num_nodes)
    out = loop_attr.new_zeros((N, *loop_attr.shape[1:]))
    out[loop_index] = loop_attr
    return out


# ---------------------------------------------------------------------- order and duplicates


def _edge_keys(edge_index: torch.Tensor, num_nodes: int, sort_by_row: bool) -> torch.Tensor:
    major, minor = (edge_index[0], edge_index[1]) if sort_by_row else (edge_index[1], edge_index[0])
    if num_nodes * num_nodes >= 2**63:
        raise ValueError("the edge keys (num_nodes ** 2) overflow int64")
    return major.long() * num_nodes + minor.long()


def sort_edge_index(
    edge_index: torch.Tensor,
    edge_attr: torch.Tensor | Sequence[torch.Tensor] | None | str = MISSING,
    num_nodes: int | None = None,
    sort_by_row: bool = True,
):
    """Edges sorted by (row, col) (or (col, row) when sort_by_row=False), stable; edge_attr permuted alike.
    A (row, col) pair instead of a (2, E) tensor comes back as a pair."""
    if isinstance(edge_index, tuple):
        out = sort_edge_index(torch.stack(edge_index), edge_attr, num_nodes, sort_by_row)
        if isinstance(out, torch.Tensor):
            return out[0], out[1]
        return (out[0][0], out[0][1]), out[1]
    _check_edge_index(edge_index)
    N = maybe_num_nodes(edge_index, num_nodes)
    template = edge_index
    perm = torch.argsort(_edge_keys(edge_index, N, sort_by_row), stable=True)
    attr = edge_attr if isinstance(edge_attr, str) else _select(edge_attr, perm)
    return _result(like_edge_index(template, edge_index[:, perm], sort_order="row" if sort_by_row else "col"), attr)


def coalesce(
    edge_index: torch.Tensor,
    edge_attr: torch.Tensor | Sequence[torch.Tensor] | None | str = MISSING,
    num_nodes: int | None = None,
    reduce: str = "sum",
    is_sorted: bool = False,
    sort_by_row: bool = True,
):
    """Sort the edges by (row, col) and merge duplicates, reducing their attributes with `reduce`
    ("sum"/"add", "mean", "max", "min", "mul"). is_sorted=True skips the sort (the input is already in order).
    Returns the edge index alone when edge_attr is not passed, else (edge_index, edge_attr). A (row, col) pair
    instead of a (2, E) tensor comes back as a pair."""
    if isinstance(edge_index, tuple):
        out = coalesce(torch.stack(edge_index), edge_attr, num_nodes, reduce, is_sorted, sort_by_row)
        if isinstance(out, torch.Tensor):
            return out[0], out[1]
        return (out[0][0], out[0][1]), out[1]
    _check_edge_index(edge_index)
    if reduce not in REDUCE_NAMES:
        raise ValueError(f"Encountered invalid `reduce` argument '{reduce}'")
    N = maybe_num_nodes(edge_index, num_nodes)
    keys = _edge_keys(edge_index, N, sort_by_row)
    attr = edge_attr
    template = edge_index
    if not is_sorted:
        keys, perm = torch.sort(keys, stable=True)
        edge_index = edge_index[:, perm]
        if not isinstance(attr, str):
            attr = _select(attr, perm)
    edge_index = like_edge_index(template, edge_index, sort_order="row" if sort_by_row else "col")
    first = torch.ones_like(keys, dtype=torch.bool)
    first[1:] = keys[1:] > keys[:-1]
    if bool(first.all()):
        return _result(edge_index, attr)
    edge_index = like_edge_index(edge_index, edge_index[:, first])
    if attr is None or isinstance(attr, str):
        return _result(edge_index, attr)
    starts = torch.nonzero(first).view(-1)
    ptr = torch.cat([starts, starts.new_tensor([keys.shape[0]])])
    if isinstance(attr, torch.Tensor):
        return edge_index, segment_reduce(attr, ptr, reduce)
    return edge_index, [segment_reduce(a, ptr, reduce) for a in attr]


def to_undirected(
    edge_index: torch.Tensor,
    edge_attr: torch.Tensor | Sequence[torch.Tensor] | None | str = MISSING,
    num_nodes: int | None = None,
    reduce: str = "add",
):
    """Every edge in both directions, coalesced (sorted by (row, col), duplicates reduced with `reduce`).

    As in PyG, `to_undirected(edge_index, num_nodes)` (an int in edge_attr's place) is still accepted."""
    _check_edge_index(edge_index)
    if isinstance(edge_attr, int) and not isinstance(edge_attr, bool):
        num_nodes, edge_attr = edge_attr, MISSING
    both = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    if isinstance(edge_attr, torch.Tensor):
        edge_attr = torch.cat([edge_attr, edge_attr], dim=0)
    elif isinstance(edge_attr, (list, tuple)):
        edge_attr = [torch.cat([e, e], dim=0) for e in edge_attr]
    return coalesce(both, edge_attr, num_nodes, reduce)


def is_undirected(
    edge_index: torch.Tensor,
    edge_attr: torch.Tensor | Sequence[torch.Tensor] | None = None,
    num_nodes: int | None = None,
) -> bool:
    """True when for every edge (i, j, attr) the edge (j, i, attr) exists as often (attributes compared exactly)."""
    _check_edge_index(edge_index)
    N = maybe_num_nodes(edge_index, num_nodes)
    attrs = [edge_attr] if isinstance(edge_attr, torch.Tensor) else list(edge_attr or [])
    by_row = torch.argsort(_edge_keys(edge_index, N, True), stable=True)
    by_col = torch.argsort(_edge_keys(edge_index, N, False), stable=True)
    a, b = edge_index[:, by_row], edge_index[:, by_col]
    if not (torch.equal(a[0], b[1]) and torch.equal(a[1], b[0])):
        return False
    return all(torch.equal(e[by_row], e[by_col]) for e in attrs)


# ---------------------------------------------------------------------- counts


def degree(index: torch.Tensor, num_nodes: int | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(N,) number of occurrences of each node in the 1-D `index` (e.g. edge_index[1]: in-degrees), as `dtype`
    (default: torch's default float dtype)."""
    if not isinstance(index, torch.Tensor) or index.dim() != 1:
        raise ValueError("index must be a 1-D tensor")
    N = maybe_num_nodes(index, num_nodes)
    out = torch.zeros((N,), dtype=dtype, device=index.device)
    return out.index_add_(0, index, torch.ones((index.shape[0],), dtype=out.dtype, device=out.device))


def contains_isolated_nodes(edge_index: torch.Tensor, num_nodes: int | None = None) -> bool:
    """True when some node has no edge other than self loops."""
    N = maybe_num_nodes(edge_index, num_nodes)
    edge_index, _ = remove_self_loops(edge_index)
    return torch.unique(edge_index.view(-1)).numel() < N


def remove_isolated_nodes(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, num_nodes: int | None = None):
    """Drop nodes without non-loop edges and renumber the rest in order: (edge_index, edge_attr, mask), mask the
    (N,) kept nodes. Loops of kept nodes (one per node) are appended after the other edges."""
    N = maybe_num_nodes(edge_index, num_nodes)
    edge_index, edge_attr, loops, loop_attr = segregate_self_loops(edge_index, edge_attr)
    mask = torch.zeros(N, dtype=torch.bool, device=edge_index.device)
    mask[edge_index.reshape(-1)] = True
    new_id = torch.full((N,), -1, dtype=torch.long, device=mask.device)
    new_id[mask] = torch.arange(int(mask.sum()), device=mask.device)
    edge_index = new_id[edge_index]
    # One loop per kept node (the last one of the node, as index assignment leaves it).
    last_loop = torch.full((N,), -1, dtype=torch.long, device=mask.device)
    last_loop[loops[0]] = torch.arange(loops.shape[1], device=mask.device)
    has_loop = torch.zeros_like(mask)
    has_loop[loops[0]] = True
    keep = last_loop[has_loop & mask]
    edge_index = torch.cat([edge_index, new_id[loops[:, keep]]], dim=1)
    if edge_attr is not None:
        edge_attr = torch.cat([edge_attr, loop_attr[keep]], dim=0)
    return edge_index, edge_attr, mask


# ---------------------------------------------------------------------- batch vectors


def _counts(batch: torch.Tensor, batch_size: int | None) -> torch.Tensor:
    """(B,) int64 rows of each graph of a batch vector (B = batch_size, default batch.max() + 1)."""
    size = int(batch.max()) + 1 if batch_size is None and batch.numel() else (batch_size or 0)
    return count_per_index(batch, size)


def to_dense_batch(x: torch.Tensor, batch: torch.Tensor | None = None, fill_value: float = 0.0,
                   max_num_nodes: int | None = None, batch_size: int | None = None):
    """(sum_N, *F) rows of graphs with a sorted batch vector -> ((B, N_max, *F) padded with fill_value,
    (B, N_max) bool mask of real rows). Rows past max_num_nodes are dropped."""
    if batch is None and max_num_nodes is None:
        return x.unsqueeze(0), torch.ones(1, x.shape[0], dtype=torch.bool, device=x.device)
    if batch is None:
        batch = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
    if batch_size is None:
        batch_size = int(batch.max()) + 1 if batch.numel() else 0
    counts = _counts(batch, batch_size)
    if max_num_nodes is None:
        max_num_nodes = int(counts.max()) if counts.numel() else 0
    first = torch.cumsum(counts, 0) - counts
    local = torch.arange(batch.shape[0], device=x.device) - first[batch]
    keep = local < max_num_nodes
    flat = (batch * max_num_nodes + local)[keep]
    out = torch.full((batch_size * max_num_nodes, *x.shape[1:]), fill_value, dtype=x.dtype, device=x.device)
    out[flat] = x[keep]
    mask = torch.zeros(batch_size * max_num_nodes, dtype=torch.bool, device=x.device)
    mask[flat] = True
    return out.view(batch_size, max_num_nodes, *x.shape[1:]), mask.view(batch_size, max_num_nodes)


def to_dense_adj(edge_index: torch.Tensor, batch: torch.Tensor | None = None, edge_attr: torch.Tensor | None = None,
                 max_num_nodes: int | None = None, batch_size: int | None = None) -> torch.Tensor:
    """(B, N_max, N_max, *attr) dense adjacency per graph (duplicate edges summed; weight 1 without edge_attr);
    edges touching nodes past max_num_nodes are dropped."""
    if batch is None:
        batch = edge_index.new_zeros(maybe_num_nodes(edge_index))
    if batch_size is None:
        batch_size = int(batch.max()) + 1 if batch.numel() else 1
    counts = _counts(batch, batch_size)
    first = torch.cumsum(counts, 0) - counts
    g = batch[edge_index[0]]
    src = edge_index[0] - first[batch][edge_index[0]]
    dst = edge_index[1] - first[batch][edge_index[1]]
    if max_num_nodes is None:
        max_num_nodes = int(counts.max()) if counts.numel() else 0
    else:
        keep = (src < max_num_nodes) & (dst < max_num_nodes)
        g, src, dst = g[keep], src[keep], dst[keep]
        edge_attr = None if edge_attr is None else edge_attr[keep]
    if edge_attr is None:
        edge_attr = torch.ones(g.numel(), device=edge_index.device)
    flat = (g * max_num_nodes + src) * max_num_nodes + dst
    out = scatter(edge_attr, flat, batch_size * max_num_nodes * max_num_nodes, "sum")
    return out.view(batch_size, max_num_nodes, max_num_nodes, *edge_attr.shape[1:])


def unbatch(src: torch.Tensor, batch: torch.Tensor, dim: int = 0, batch_size: int | None = None) -> list[torch.Tensor]:
    """Split src along dim into the rows of each graph (batch: sorted graph index of each row)."""
    return list(src.split(_counts(batch, batch_size).tolist(), dim))


def unbatch_edge_index(edge_index: torch.Tensor, batch: torch.Tensor, batch_size: int | None = None) -> list[torch.Tensor]:
    """Split a batched edge_index (edges grouped by graph) into per-graph edge lists with local node indices."""
    counts = _counts(batch, batch_size)
    first = torch.cumsum(counts, 0) - counts
    g = batch[edge_index[0]]
    local = edge_index - first[g]
    return list(local.split(_counts(g, counts.numel()).tolist(), dim=1))


# ---------------------------------------------------------------------- torch.sparse adjacency


def is_torch_sparse_tensor(src) -> bool:
    """True for a torch.sparse COO / CSR / CSC tensor."""
    return isinstance(src, torch.Tensor) and src.layout in (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)


def _layout(adj: torch.Tensor) -> torch.layout:
    return adj.layout


def is_sparse(src) -> bool:
    """True for a torch.sparse tensor or a SparseTensor-like object (with `csr()` / `storage`)."""
    return is_torch_sparse_tensor(src) or (callable(getattr(src, "csr", None)) and hasattr(src, "storage"))


def _sparse_size(edge_index: torch.Tensor, size) -> tuple[int, int]:
    if size is None:
        n = maybe_num_nodes(edge_index)
        return n, n
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def _sorted_edges(edge_index, edge_attr, size, is_coalesced: bool, by_row: bool):
    if edge_attr is None:
        edge_attr = torch.ones(edge_index.shape[1], device=edge_index.device)
    if not is_coalesced:
        edge_index, edge_attr = coalesce(edge_index, edge_attr, max(size), sort_by_row=by_row)
    return edge_index, edge_attr


def to_torch_coo_tensor(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, size=None,
                        is_coalesced: bool = False) -> torch.Tensor:
    """(2, E) edges (+ attributes, default 1) -> a coalesced torch.sparse_coo (N, M, *attr) tensor."""
    size = _sparse_size(edge_index, size)
    edge_index, edge_attr = _sorted_edges(edge_index, edge_attr, size, is_coalesced, True)
    out = torch.sparse_coo_tensor(edge_index, edge_attr, (*size, *edge_attr.shape[1:]), device=edge_index.device)
    return out._coalesced_(True)


def _compressed(edge_index, edge_attr, size, is_coalesced: bool, by_row: bool) -> torch.Tensor:
    """CSR (by_row) or CSC torch.sparse tensor of the edges (duplicates summed unless is_coalesced)."""
    size = _sparse_size(edge_index, size)
    edge_index, edge_attr = _sorted_edges(edge_index, edge_attr, size, is_coalesced, by_row)
    major, minor = (edge_index[0], edge_index[1]) if by_row else (edge_index[1], edge_index[0])
    ptr = offsets_from_counts(count_per_index(major, size[0 if by_row else 1]))
    make = torch.sparse_csr_tensor if by_row else torch.sparse_csc_tensor
    return make(ptr, minor, edge_attr, (*size, *edge_attr.shape[1:]), device=edge_index.device)


def to_torch_csr_tensor(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, size=None,
                        is_coalesced: bool = False) -> torch.Tensor:
    """(2, E) edges -> a torch.sparse_csr (N, M, *attr) tensor (duplicates summed)."""
    return _compressed(edge_index, edge_attr, size, is_coalesced, True)


def to_torch_csc_tensor(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, size=None,
                        is_coalesced: bool = False) -> torch.Tensor:
    """(2, E) edges -> a torch.sparse_csc (N, M, *attr) tensor (duplicates summed)."""
    return _compressed(edge_index, edge_attr, size, is_coalesced, False)


def to_torch_sparse_tensor(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, size=None,
                           is_coalesced: bool = False, layout: torch.layout | None = None) -> torch.Tensor:
    """(2, E) edges -> a torch.sparse tensor of `layout` (default COO)."""
    layout = torch.sparse_coo if layout is None else layout
    if layout == torch.sparse_coo:
        return to_torch_coo_tensor(edge_index, edge_attr, size, is_coalesced)
    if layout == torch.sparse_csr:
        return to_torch_csr_tensor(edge_index, edge_attr, size, is_coalesced)
    if layout == torch.sparse_csc:
        return to_torch_csc_tensor(edge_index, edge_attr, size, is_coalesced)
    raise ValueError(f"Unexpected sparse tensor layout (got '{layout}')")


def to_edge_index(adj) -> tuple[torch.Tensor, torch.Tensor]:
    """A torch.sparse (COO / CSR / CSC) or SparseTensor-like adjacency -> ((2, E) int64 edges, (E, ...) values)."""
    if not isinstance(adj, torch.Tensor) and callable(getattr(adj, "coo", None)):
        row, col, value = adj.coo()
        value = torch.ones_like(row, dtype=torch.float) if value is None else value
        return torch.stack([row, col]).long(), value
    if adj.layout == torch.sparse_coo:
        adj = adj.coalesce() if not adj.is_coalesced() else adj
        return adj.indices().detach().long(), adj.values()
    if adj.layout == torch.sparse_csr:
        rowptr, col = adj.crow_indices().detach(), adj.col_indices().detach()
        row = index_from_offsets(rowptr, col.numel())
        return torch.stack([row, col]).long(), adj.values()
    if adj.layout == torch.sparse_csc:
        colptr, row = adj.ccol_indices().detach(), adj.row_indices().detach()
        col = index_from_offsets(colptr, row.numel())
        return torch.stack([row, col]).long(), adj.values()
    raise ValueError(f"Expected a sparse adjacency (got layout '{adj.layout}')")


def dense_to_sparse(adj: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A dense (N, N) or batched (B, N, N) adjacency -> (edge_index, edge_attr) of its non-zero entries (batched
    graphs get node offsets; `mask` (B, N) marks the real nodes of padded graphs)."""
    if adj.dim() not in (2, 3):
        raise ValueError(f"Dense adjacency matrix 'adj' must be two- or three-dimensional (got {adj.dim()} dimensions)")
    if mask is not None and adj.dim() == 2:
        import warnings

        warnings.warn("Mask should not be provided in case the dense adjacency matrix is two-dimensional", stacklevel=2)
        mask = None
    if adj.dim() == 2:
        ei = adj.nonzero().t()
        return ei, adj[ei[0], ei[1]]
    if mask is not None:
        if mask.dim() != 2:
            raise ValueError(f"Mask must be two-dimensional (got {mask.dim()} dimensions)")
        if adj.shape[-2] != adj.shape[-1]:
            raise ValueError(f"Mask is only supported on quadratic adjacency matrices (got [*, {adj.shape[-2]}, {adj.shape[-1]}])")
        # Rows of masked-out nodes are dropped; graph b's nodes are renumbered from the count of real nodes
        # before it (real nodes come first in each padded graph).
        count = mask.sum(dim=-1)
        first = torch.cumsum(count, 0) - count
        b, r, c = adj.nonzero(as_tuple=True)
        keep = mask[b, r]
        b, r, c = b[keep], r[keep], c[keep]
        return torch.stack([first[b] + r, first[b] + c]), adj[b, r, c]
    b, r, c = adj.nonzero(as_tuple=True)  # (B, N, M): rows offset by N per graph, columns by M
    return torch.stack([b * adj.shape[1] + r, b * adj.shape[2] + c]), adj[b, r, c]


# ---------------------------------------------------------------------- subgraphs and scipy


def subgraph(subset, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, relabel_nodes: bool = False,
             num_nodes: int | None = None, *, return_edge_mask: bool = False):
    """The edges with both ends in `subset` (node positions, a list, or a bool mask), in order:
    (edge_index, edge_attr[, edge_mask]). relabel_nodes=True numbers the kept nodes by their position in `subset`
    (increasing node order for a mask), as PyG."""
    device = edge_index.device
    if isinstance(subset, (list, tuple)):
        subset = torch.tensor(subset, dtype=torch.long, device=device)
    if subset.dtype == torch.bool:
        node_mask = subset
        N = node_mask.numel()
    else:
        N = maybe_num_nodes(edge_index, num_nodes)
        node_mask = torch.zeros(N, dtype=torch.bool, device=device)
        node_mask[subset] = True
    edge_mask = node_mask[edge_index[0]] & node_mask[edge_index[1]]
    edge_index = edge_index[:, edge_mask]
    edge_attr = edge_attr[edge_mask] if edge_attr is not None else None
    if relabel_nodes:
        new_id = torch.full((N,), -1, dtype=torch.long, device=device)
        kept = node_mask.nonzero().view(-1) if subset.dtype == torch.bool else subset
        new_id[kept] = torch.arange(kept.numel(), device=device)
        edge_index = new_id[edge_index]
    return (edge_index, edge_attr, edge_mask) if return_edge_mask else (edge_index, edge_attr)


def to_scipy_sparse_matrix(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, num_nodes: int | None = None):
    """(2, E) edges (+ weights, default 1) -> a scipy.sparse.coo_matrix (N, N), entries in edge order."""
    import scipy.sparse

    row, col = edge_index.cpu()
    value = torch.ones(row.numel()) if edge_attr is None else edge_attr.view(-1).cpu()
    N = maybe_num_nodes(edge_index, num_nodes)
    return scipy.sparse.coo_matrix((value.numpy(), (row.numpy(), col.numpy())), (N, N))


def from_scipy_sparse_matrix(A) -> tuple[torch.Tensor, torch.Tensor]:
    """A scipy sparse matrix -> ((2, E) int64 edges, (E,) weights), in the matrix's COO entry order."""
    A = A.tocoo()
    edge_index = torch.stack([torch.from_numpy(A.row).long(), torch.from_numpy(A.col).long()])
    return edge_index, torch.from_numpy(A.data)
