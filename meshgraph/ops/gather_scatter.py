"""Fused gather-scatter: out[v] = reduce over edges u -> v of w_uv * x[u], without an E x F temporary.

Kernels: csrc/ops/gather_scatter/. The forward walks the CSR by destination once; the backward w.r.t. x is the
same kernel over the cached transposed CSR, and the backward w.r.t. the edge weights is `edge_dot` (a per-edge
dot product, also fused). max/min backward uses the forward's per-feature arg (first CSR entry wins ties), so
every result is deterministic on CPU and CUDA (segment reductions, no atomics).
"""

from __future__ import annotations

import math

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, flatten_features, index_from_offsets, with_flat_features
from .adjacency import Adjacency, resolve_graph, transpose_csr

_extension.load()

REDUCTIONS = ("sum", "mean", "max", "min")


# The graph argument of every op resolves through one function (adjacency.resolve_graph).
_resolve = resolve_graph


def gather_scatter(
    x: torch.Tensor,
    graph,
    directed: bool | None = None,
    edge_weight: torch.Tensor | None = None,
    reduce: str = "sum",
) -> torch.Tensor:
    """Fused weighted neighbourhood aggregation.

    out[v] = reduce over edges (u -> v) of edge_weight[e] * x[u]  (edge_weight 1 when None).

    Args:
        x: (V, *F) vertex features, float16/bfloat16/float32/float64.
        graph: a GraphBatch (its CSR is cached on it), an Adjacency, a (2, E) PyG `edge_index` (row 0 sources,
            row 1 destinations), or (E, 2) PyTorch3D `edges`, where, as in
            `pytorch3d.ops.gather_scatter(input, edges, directed)`, vertex edges[e, 0] receives x[edges[e, 1]]
            and, unless directed, the reverse. A (2, 2) tensor is read as PyG's layout unless `directed` is given.
            An edge tensor carries the adjacency built from it (validated once, rebuilt after an in-place change).
        directed: False also sends every edge in reverse. Default: True for GraphBatch / edge_index,
            False for PyTorch3D (E, 2) edges (PyTorch3D's default). Third positional argument, as in PyTorch3D.
        edge_weight: (E,) weights in the order of the input edges (dtype of x), or None; or (E, H)
            multi-head weights (attention): x is then (V, H, C) or (V, H * C) and head h weights its C channels.
        reduce: "sum", "mean" (sum / in-degree), "max" or "min" (per feature; gradients go to the first
            attaining edge in CSR order). Vertices without in-edges get 0.

    Returns:
        (V, *F) aggregated features, differentiable w.r.t. x and edge_weight. Accumulation is float32 for
        16-bit inputs. Memory: O(V * F + E); no (E, F) tensor is formed in forward or backward.
    """
    check_tensor(x, "x", min_dim=1, dtypes=FLOAT_DTYPES)
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    if directed is not None and not isinstance(directed, bool):
        raise TypeError(f"directed must be a bool, got {type(directed).__name__}")
    adj, num_edges, _ = _resolve(graph, x.shape[0], directed, x.device)
    w = None
    if edge_weight is not None:
        check_tensor(edge_weight, "edge_weight", dtypes=FLOAT_DTYPES)
        width = math.prod(x.shape[1:])
        if edge_weight.dim() not in (1, 2) or edge_weight.shape[0] != num_edges:
            raise ValueError(f"edge_weight must have shape ({num_edges},) or ({num_edges}, H), got {tuple(edge_weight.shape)}")
        if edge_weight.dim() == 2 and (edge_weight.shape[1] < 1 or width % edge_weight.shape[1]):
            raise ValueError(f"edge_weight has {edge_weight.shape[1]} heads, which must divide the {width} features of x")
        if edge_weight.dtype != x.dtype:
            raise TypeError(f"edge_weight must have the dtype of x ({x.dtype}), got {edge_weight.dtype}")
        check_same_device(x=x, edge_weight=edge_weight)
        w = (edge_weight if adj.edge_id.shape[0] == num_edges else torch.cat([edge_weight, edge_weight]))[adj.edge_id]
    return _fused(x, adj, w, reduce)


def _fused(x: torch.Tensor, adj: Adjacency, w: torch.Tensor | None, reduce: str) -> torch.Tensor:
    """The gather_scatter kernel on (V, *F) features: (num_dst, *F). w is in CSR order."""
    return with_flat_features(
        x, lambda x2: torch.ops.meshgraph.gather_scatter(x2, adj.rowptr, adj.col, w, reduce, adj.rowptr_t, adj.col_t, adj.eid_t)[0]
    )


def aggregate(x: torch.Tensor, adj: Adjacency, weight: torch.Tensor | None = None, reduce: str = "sum") -> torch.Tensor:
    """gather_scatter on a resolved Adjacency, weights indexed by the adjacency's edge ids (layers use this
    after adding self loops: weight then has E + V rows). No validation: callers pass consistent tensors."""
    w = weight[adj.edge_id] if weight is not None else None
    return _fused(x, adj, w, reduce)


def edge_dot(a: torch.Tensor, b: torch.Tensor, graph, directed: bool | None = None) -> torch.Tensor:
    """Per-edge dot product <a[v], b[u]> for every edge u -> v, without forming (E, F) tensors.

    Args:
        a: (V, F) or (V, H, C) destination-side features; b: source-side features of the same shape and dtype.
            With (V, H, C) the product is taken per head.
        graph: as in `gather_scatter`.

    Returns:
        (E,) or (E, H) in the order of the input edges; for directed=False, (2E, ...): the edges, then their
        reverses.
    """
    check_tensor(a, "a", dim=(2, 3), dtypes=FLOAT_DTYPES)
    check_tensor(b, "b", dim=(2, 3), dtypes=FLOAT_DTYPES)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    check_same_device(a=a, b=b)
    adj, num_edges, _ = _resolve(graph, a.shape[0], directed, a.device)
    heads = a.shape[1] if a.dim() == 3 else 1
    a, b = flatten_features(a), flatten_features(b)
    per_entry = torch.ops.meshgraph.edge_dot(a, b, adj.rowptr, adj.col, heads, adj.rowptr_t, adj.col_t, adj.eid_t)
    # CSR order -> input edge order: entry k belongs to edge edge_id[k].
    inverse = torch.empty_like(adj.edge_id).scatter_(0, adj.edge_id, torch.arange(adj.edge_id.shape[0], device=a.device))
    return per_entry[inverse]


# ---------------------------------------------------------------------- fake kernels


@torch.library.register_fake("meshgraph::gather_scatter")
def _gather_scatter_fake(x, rowptr, col, weight, reduce, rowptr_t=None, col_t=None, eid_t=None):
    torch._check(x.dim() == 2, lambda: "x must be 2-D")
    V = rowptr.shape[0] - 1
    out = x.new_empty((V, x.shape[1]))
    arg = x.new_empty((V, x.shape[1]) if reduce in ("max", "min") else (0, 0), dtype=torch.int64)
    return out, arg


@torch.library.register_fake("meshgraph::edge_dot")
def _edge_dot_fake(a, b, rowptr, col, heads=1, rowptr_t=None, col_t=None, eid_t=None):
    torch._check(a.dim() == 2 and b.dim() == 2, lambda: "a and b must be 2-D")
    return a.new_empty((col.shape[0],) if heads == 1 else (col.shape[0], heads))


@torch.library.register_fake("meshgraph::gather_scatter_arg_backward")
def _arg_backward_fake(grad_out, x, arg, rowptr_t, col_t, eid_t, weight, compute_grad_weight):
    if not compute_grad_weight:
        return x.new_empty(x.shape), x.new_empty((0,))
    wshape = (col_t.shape[0], weight.shape[1]) if weight is not None and weight.dim() == 2 else (col_t.shape[0],)
    return x.new_empty(x.shape), x.new_empty(wshape)


# ---------------------------------------------------------------------- autograd


def _transposed(rowptr, col, num_src, rowptr_t, col_t, eid_t):
    if rowptr_t is None or col_t is None or eid_t is None:
        return transpose_csr(rowptr, col, num_src)
    return rowptr_t, col_t, eid_t


def _setup_gather_scatter(ctx, inputs, output):
    x, rowptr, col, weight, reduce, rowptr_t, col_t, eid_t = inputs
    _, arg = output
    ctx.reduce = reduce
    ctx.num_src = x.shape[0]
    ctx.save_for_backward(x, rowptr, col, weight, rowptr_t, col_t, eid_t, arg)


def _backward_gather_scatter(ctx, grad_out, _grad_arg):
    x, rowptr, col, weight, rowptr_t, col_t, eid_t, arg = ctx.saved_tensors
    need_x, _, _, need_w = ctx.needs_input_grad[:4]  # the schema's x, rowptr, col, weight
    need_w = weight is not None and need_w
    rowptr_t, col_t, eid_t = _transposed(rowptr, col, ctx.num_src, rowptr_t, col_t, eid_t)
    grad_x = grad_w = None
    if ctx.reduce in ("max", "min"):
        grad_x, grad_w = torch.ops.meshgraph.gather_scatter_arg_backward(
            grad_out, x, arg, rowptr_t, col_t, eid_t, weight, need_w
        )
        return grad_x if need_x else None, None, None, grad_w if need_w else None, None, None, None, None
    E = col.shape[0]
    inv_deg = None
    if ctx.reduce == "mean":
        inv_deg = 1.0 / rowptr.diff().clamp(min=1).to(grad_out.dtype)
    if need_x:
        # grad_x[u] = sum over entries u -> v of w * grad_out[v] (/ deg v): the same kernel, transposed.
        w_t = weight[eid_t] if weight is not None else None
        if inv_deg is not None:
            scale = inv_deg[col_t.long()]
            w_t = scale if w_t is None else w_t * (scale[:, None] if w_t.dim() == 2 else scale)
        grad_x = torch.ops.meshgraph.gather_scatter(grad_out, rowptr_t, col_t, w_t, "sum", rowptr, col, None)[0]
    if need_w:
        # grad_w[k] = <grad_out[v], x[col[k]]> (/ deg v): a fused per-edge dot product.
        heads = weight.shape[1] if weight.dim() == 2 else 1
        grad_w = torch.ops.meshgraph.edge_dot(grad_out, x, rowptr, col, heads, rowptr_t, col_t, eid_t)
        if weight.dim() == 2 and heads == 1:
            grad_w = grad_w[:, None]
        if inv_deg is not None:
            scale = inv_deg[index_from_offsets(rowptr, E)]
            grad_w = grad_w * (scale[:, None] if grad_w.dim() == 2 else scale)
    return grad_x, None, None, grad_w, None, None, None, None


def _setup_edge_dot(ctx, inputs, output):
    a, b, rowptr, col, heads, rowptr_t, col_t, eid_t = inputs
    ctx.num_src = b.shape[0]
    ctx.save_for_backward(a, b, rowptr, col, rowptr_t, col_t, eid_t)


def _backward_edge_dot(ctx, grad):
    a, b, rowptr, col, rowptr_t, col_t, eid_t = ctx.saved_tensors
    rowptr_t, col_t, eid_t = _transposed(rowptr, col, ctx.num_src, rowptr_t, col_t, eid_t)
    grad_a = grad_b = None
    need_a, need_b = ctx.needs_input_grad[:2]  # the schema's a, b
    if need_a:  # grad_a[v] = sum_k in row v of g[k] * b[col[k]]
        grad_a = torch.ops.meshgraph.gather_scatter(b, rowptr, col, grad, "sum", rowptr_t, col_t, eid_t)[0]
    if need_b:  # grad_b[u] = sum over entries u -> v of g[k] * a[v]
        grad_b = torch.ops.meshgraph.gather_scatter(a, rowptr_t, col_t, grad[eid_t], "sum", rowptr, col, None)[0]
    return grad_a, grad_b, None, None, None, None, None, None


def _setup_arg_backward(ctx, inputs, output):
    pass


def _backward_arg_backward(ctx, *grads):
    raise NotImplementedError(
        "double backward of gather_scatter with reduce='max'/'min' is not supported (first-order gradients are)"
    )


torch.library.register_autograd("meshgraph::gather_scatter", _backward_gather_scatter, setup_context=_setup_gather_scatter)
torch.library.register_autograd("meshgraph::edge_dot", _backward_edge_dot, setup_context=_setup_edge_dot)
torch.library.register_autograd(
    "meshgraph::gather_scatter_arg_backward", _backward_arg_backward, setup_context=_setup_arg_backward
)
