"""spline_weighting: SplineCNN's continuous-kernel weighting, sum_s basis[e, s] * (x_e @ weight[weight_index[e, s]]),
fused with the neighbourhood sum / mean: out[v] = aggregate over edges u -> v of that message, without forming the
(E, Cout) messages (or an (E, S, Cout) / (E, Cin, Cout) tensor) in forward or backward.

Kernels: csrc/ops/spline_weighting/ (CPU + CUDA). The backward w.r.t. x, weight and basis is one kernel op
(spline_weighting_backward); its own backward is expressed with the two ops (the weighting is linear in each of
x, weight and basis), so gradients of every order run on the kernels. Every output element is summed by one
thread in a fixed order on CPU and CUDA (no atomics): deterministic.
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, values_are_free
from .adjacency import Adjacency, transpose_csr
from .gather_scatter import _resolve

_extension.load()

REDUCTIONS = ("sum", "mean")


def _check_weighting(x, weight, basis, weight_index, rows: int) -> None:
    check_tensor(x, "x", dim=2, dtypes=FLOAT_DTYPES)
    check_tensor(weight, "weight", dim=3, dtypes=FLOAT_DTYPES)
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight must have shape (K, {x.shape[1]}, out_channels) (x has {x.shape[1]} channels), got "
                         f"{tuple(weight.shape)}")
    check_tensor(basis, "basis", dim=2, dtypes=FLOAT_DTYPES)
    if basis.shape[0] != rows:
        raise ValueError(f"basis must have one row per edge ({rows}), got shape {tuple(basis.shape)}")
    check_tensor(weight_index, "weight_index", shape=(rows, basis.shape[1]), dtypes=(torch.int64,))
    for name, t in (("weight", weight), ("basis", basis)):
        if t.dtype != x.dtype:
            raise TypeError(f"{name} must have the dtype of x ({x.dtype}), got {t.dtype}")
    check_same_device(x=x, weight=weight, basis=basis, weight_index=weight_index)
    if weight_index.numel() and values_are_free(weight_index):
        lo, hi = torch.aminmax(weight_index)
        if int(lo) < 0 or int(hi) >= weight.shape[0]:
            bad = int(lo) if int(lo) < 0 else int(hi)
            raise ValueError(f"weight_index holds {bad}, outside [0, {weight.shape[0]}) (the weight slices)")


def _identity_csr(E: int, device: torch.device):
    """One entry per row (entry e is row e, source e): its own transpose."""
    idx = torch.arange(E, device=device)
    return torch.arange(E + 1, device=device), idx.to(torch.int32 if E < 2**31 else torch.int64), idx


def spline_weighting(x: torch.Tensor, weight: torch.Tensor, basis: torch.Tensor, weight_index: torch.Tensor):
    """Per-edge spline weighting (torch_spline_conv.spline_weighting): out[e] = sum_s basis[e, s] *
    (x[e] @ weight[weight_index[e, s]]).

    Args:
        x: (E, Cin) per-edge input features (PyG's x_j); weight: (K, Cin, Cout); basis, weight_index: (E, S) from
            `spline_basis`. float16/bfloat16/float32/float64 (x, weight and basis of one dtype).

    Returns:
        (E, Cout), differentiable w.r.t. x, weight and basis. Prefer `spline_aggregate`, which sums the messages
        into their destinations without forming them.
    """
    check_tensor(x, "x", dim=2, dtypes=FLOAT_DTYPES)
    _check_weighting(x, weight, basis, weight_index, x.shape[0])
    rowptr, col, eid = _identity_csr(x.shape[0], x.device)
    return torch.ops.meshgraph.spline_weighting(x, weight, basis, weight_index, rowptr, col, "sum", rowptr, col, eid)


def spline_aggregate(x: torch.Tensor, graph, weight: torch.Tensor, basis: torch.Tensor, weight_index: torch.Tensor,
                     reduce: str = "mean", num_dst: int | None = None) -> torch.Tensor:
    """Fused SplineConv propagation: out[v] = reduce over edges e = (u -> v) of sum_s basis[e, s] *
    (x[u] @ weight[weight_index[e, s]]), with no (E, Cout) tensor.

    Args:
        x: (V_src, Cin) source features.
        graph: a (2, E) edge_index (row 0 sources, row 1 destinations; its adjacency is cached on it), a GraphBatch
            or an Adjacency (basis rows then follow its input edge ids).
        weight: (K, Cin, Cout); basis, weight_index: (E, S) in edge order (`spline_basis` of the edges' pseudo).
        reduce: "mean" (PyG SplineConv's default: the sum over the in-edges divided by the in-degree) or "sum".
        num_dst: destinations (default V_src).

    Returns:
        (num_dst, Cout); vertices without in-edges get 0. Differentiable w.r.t. x, weight and basis.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    check_tensor(x, "x", dim=2, dtypes=FLOAT_DTYPES)
    adj, num_edges, _ = _resolve(graph, x.shape[0], True if isinstance(graph, torch.Tensor) else None, x.device,
                                 num_dst=num_dst)
    _check_weighting(x, weight, basis, weight_index, num_edges)
    return aggregate(x, adj, weight, basis[adj.edge_id], weight_index[adj.edge_id], reduce)


def aggregate(x, adj: Adjacency, weight, basis_csr, index_csr, reduce: str) -> torch.Tensor:
    """The fused op on a resolved Adjacency with basis / weight_index already in its CSR order (layers use this).
    No validation."""
    return torch.ops.meshgraph.spline_weighting(x, weight, basis_csr, index_csr, adj.rowptr, adj.col, reduce,
                                                adj.rowptr_t, adj.col_t, adj.eid_t)


# ---------------------------------------------------------------------- fake kernels


@torch.library.register_fake("meshgraph::spline_weighting")
def _fake(x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t=None, col_t=None, eid_t=None):
    torch._check(weight.dim() == 3, lambda: "weight must be 3-D")
    return x.new_empty((rowptr.shape[0] - 1, weight.shape[2]))


@torch.library.register_fake("meshgraph::spline_weighting_backward")
def _fake_backward(grad_out, x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t, col_t, eid_t,
                   output_mask):
    none = lambda: x.new_empty((0,))  # noqa: E731  (one tensor per output: outputs never alias)
    return (x.new_empty(x.shape) if output_mask[0] else none(),
            weight.new_empty(weight.shape) if output_mask[1] else none(),
            basis.new_empty(basis.shape) if output_mask[2] else none())


# ---------------------------------------------------------------------- autograd


def _transposed(rowptr, col, num_src, rowptr_t, col_t, eid_t):
    if rowptr_t is None or col_t is None or eid_t is None:
        return transpose_csr(rowptr, col, num_src)
    return rowptr_t, col_t, eid_t


def _setup(ctx, inputs, output):
    x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t, col_t, eid_t = inputs
    ctx.reduce, ctx.num_src = reduce, x.shape[0]
    ctx.save_for_backward(x, weight, basis, weight_index, rowptr, col, rowptr_t, col_t, eid_t)


def _backward(ctx, grad_out):
    x, weight, basis, weight_index, rowptr, col, rowptr_t, col_t, eid_t = ctx.saved_tensors
    mask = list(ctx.needs_input_grad[:3])
    if not any(mask):
        return (None,) * 10
    rowptr_t, col_t, eid_t = _transposed(rowptr, col, ctx.num_src, rowptr_t, col_t, eid_t)
    gx, gw, gb = torch.ops.meshgraph.spline_weighting_backward(
        grad_out.contiguous(), x, weight, basis, weight_index, rowptr, col, ctx.reduce, rowptr_t, col_t, eid_t, mask)
    return (gx if mask[0] else None, gw if mask[1] else None, gb if mask[2] else None) + (None,) * 7


def _setup_backward(ctx, inputs, output):
    grad_out, x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t, col_t, eid_t, mask = inputs
    ctx.reduce, ctx.mask = reduce, list(mask)
    ctx.save_for_backward(grad_out, x, weight, basis, weight_index, rowptr, col, rowptr_t, col_t, eid_t)


def _backward_backward(ctx, gg_x, gg_w, gg_b):
    # The weighting f(x, W, b) is linear in each argument, and its backward is
    #   (Bx(g; W, b), BW(g; x, b), Bb(g; x, W)) = the partial gradients of <g, f(x, W, b)>.
    # Hence, for incoming (gg_x, gg_w, gg_b):
    #   d g = f(gg_x, W, b) + f(x, gg_w, b) + f(x, W, gg_b)
    #   d x = Bx(g; gg_w, b) + Bx(g; W, gg_b),  d W = BW(g; gg_x, b) + BW(g; x, gg_b),
    #   d b = Bb(g; gg_x, W) + Bb(g; x, gg_w)
    grad_out, x, weight, basis, wi, rowptr, col, rowptr_t, col_t, eid_t = ctx.saved_tensors
    mask, reduce = ctx.mask, ctx.reduce
    need_g, need_x, need_w, need_b = ctx.needs_input_grad[:4]
    ops = torch.ops.meshgraph
    gg = [t if (t is not None and m and t.numel()) else None for t, m in zip((gg_x, gg_w, gg_b), mask)]
    d_g = d_x = d_w = d_b = None

    def add(a, b):
        return b if a is None else a + b

    def fwd(xx, ww, bb):
        return ops.spline_weighting(xx, ww, bb, wi, rowptr, col, reduce, rowptr_t, col_t, eid_t)

    def bwd(xx, ww, bb, m):
        return ops.spline_weighting_backward(grad_out, xx, ww, bb, wi, rowptr, col, reduce, rowptr_t, col_t, eid_t, m)

    if need_g:
        if gg[0] is not None:
            d_g = add(d_g, fwd(gg[0], weight, basis))
        if gg[1] is not None:
            d_g = add(d_g, fwd(x, gg[1], basis))
        if gg[2] is not None:
            d_g = add(d_g, fwd(x, weight, gg[2]))
    if gg[0] is not None and (need_w or need_b):  # x replaced by gg_x: its W and basis gradients
        _, w_, b_ = bwd(gg[0], weight, basis, [False, need_w, need_b])
        d_w = add(d_w, w_) if need_w else d_w
        d_b = add(d_b, b_) if need_b else d_b
    if gg[1] is not None and (need_x or need_b):
        x_, _, b_ = bwd(x, gg[1], basis, [need_x, False, need_b])
        d_x = add(d_x, x_) if need_x else d_x
        d_b = add(d_b, b_) if need_b else d_b
    if gg[2] is not None and (need_x or need_w):
        x_, w_, _ = bwd(x, weight, gg[2], [need_x, need_w, False])
        d_x = add(d_x, x_) if need_x else d_x
        d_w = add(d_w, w_) if need_w else d_w
    return (d_g, d_x, d_w, d_b) + (None,) * 8


torch.library.register_autograd("meshgraph::spline_weighting", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::spline_weighting_backward", _backward_backward,
                                setup_context=_setup_backward)
