"""segment_aggregate: several reductions (sum, mean, max, min, mul, var, softmax, powermean) of the rows of x per
group, in one fused pass over the rows, with a fused backward.

Kernels: csrc/ops/segment_aggregate/ (contract in segment_aggregate.h). The rows are read through the group CSR
(int64 row ids; cached on the index tensor, see scatter._index_adjacency) or as consecutive ptr segments, so no
(E, F) temporary and no sorted copy of x is made in forward or backward; the raw op also returns the per-group
statistics its backward reuses (mean for var, log-sum-exp for softmax), so the backward is one pass over the rows.
Deterministic on every device.
"""

from __future__ import annotations

import math

from collections.abc import Sequence

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_index_tensor, check_ptr, check_tensor

_extension.load()

MODES = ("sum", "mean", "max", "min", "mul", "var", "softmax", "powermean")


def _param(v, name: str, x: torch.Tensor, F: int) -> torch.Tensor | None:
    """t / p as the kernel takes it: a (1,) or (F,) tensor of x's dtype (differentiable cast of a parameter)."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, torch.Tensor)):
        raise TypeError(f"{name} must be a float or a tensor, got {type(v).__name__}")
    if not isinstance(v, torch.Tensor):
        return torch.full((1,), float(v), dtype=x.dtype, device=x.device)
    check_tensor(v, name, dtypes=FLOAT_DTYPES)
    if v.device != x.device:
        raise ValueError(f"{name} is on {v.device} but x is on {x.device}")
    v = v.reshape(-1)
    if v.numel() not in (1, F):
        raise ValueError(f"{name} must have 1 or {F} (one per channel) entries, got {v.numel()}")
    return v.to(x.dtype)


def segment_aggregate(
    x: torch.Tensor,
    index: torch.Tensor | None = None,
    ptr: torch.Tensor | None = None,
    dim_size: int | None = None,
    reduce: Sequence[str] = ("mean",),
    *,
    t=None,
    p=None,
    clamp_min: float | None = None,
    clamp_max: float | None = None,
    semi_grad: bool = False,
) -> list[torch.Tensor]:
    """reduce[k] of the rows of x (along dim 0) per group, for every k, from one pass over the rows.

    Args:
        x: (E, *F) rows, float16/bfloat16/float32/float64.
        index: (E,) group of every row (any order; its group CSR is cached on the tensor), or
        ptr: (V + 1,) offsets of consecutive row segments; neither: all rows one group.
        dim_size: number of groups for `index` (default index.max() + 1; pass it to avoid a device sync).
        reduce: names among "sum", "mean", "max", "min", "mul", "var" (population variance), "softmax"
            (sum of softmax(t x) * x, needs t) and "powermean" (mean of clamp(x, clamp_min, clamp_max) ** p, needs
            p: PyG's inner mean; the outer clamp and 1 / p power are the caller's); softmax and powermean at most
            once each.
        t, p: a float, or a tensor with 1 or prod(F) entries (one per channel); differentiable.
        semi_grad: PyG's semi_grad: var passes no gradient through mean(x^2), softmax none through its weights.

    Returns:
        One (V, *F) tensor per name (views of one (V, K * prod(F)) result). Groups without rows give 0 (1 for
        "mul"). Max / min pass their gradient to the first row of the group (in row order) that attains them.
    """
    from .scatter import _check_index, _index_adjacency

    check_tensor(x, "x", min_dim=1, dtypes=FLOAT_DTYPES)
    if isinstance(reduce, str) or not all(isinstance(r, str) for r in reduce):
        raise TypeError("reduce must be a list of reduction names")
    reduce = list(reduce)
    for r in reduce:
        if r not in MODES:
            raise ValueError(f"reduce must name reductions among {MODES}, got {r!r}")
    if not reduce or reduce.count("softmax") > 1 or reduce.count("powermean") > 1:
        raise ValueError("reduce must name at least one reduction, softmax and powermean at most once each")
    if ("softmax" in reduce) != (t is not None):
        raise ValueError("t is required by softmax and used only by it")
    if ("powermean" in reduce) != (p is not None):
        raise ValueError("p is required by powermean and used only by it")
    E, rest = x.shape[0], x.shape[1:]
    x2 = x.reshape(E, math.prod(rest)) if x.dim() != 2 else x  # explicit width: E = 0 is allowed
    F = x2.shape[1]
    t, p = _param(t, "t", x, F), _param(p, "p", x, F)
    if index is not None:
        V = _check_index(index, E, x.device, dim_size)
        adj = _index_adjacency(index, E, V)
        rowptr, col = adj.rowptr, adj.edge_id
    else:
        if ptr is None:
            ptr = torch.tensor([0, E], device=x.device)
        check_index_tensor(ptr, "ptr", dim=1)
        if ptr.shape[0] < 1:
            raise ValueError("ptr must have at least one entry")
        if ptr.device != x.device:
            raise ValueError(f"ptr is on {ptr.device} but x is on {x.device}")
        check_ptr(ptr, E, "x")
        rowptr, col = ptr.long(), None
    out, _ = torch.ops.meshgraph.segment_aggregate(x2, rowptr, col, reduce, t, p, clamp_min, clamp_max, bool(semi_grad))
    V = rowptr.shape[0] - 1
    return [block.reshape(V, *rest) for block in out.split(F, dim=1)] if F else [x.new_zeros((V, *rest)) for _ in reduce]


def _stats_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype of the saved statistics (segment_aggregate.h): x's accumulation type."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


@torch.library.register_fake("meshgraph::segment_aggregate")
def _fake(x, rowptr, col, reduce, t=None, p=None, clamp_min=None, clamp_max=None, semi_grad=False):
    V, F = rowptr.shape[0] - 1, x.shape[1]
    saved = sum(r in ("var", "softmax") for r in reduce)
    return x.new_empty((V, len(reduce) * F)), x.new_empty((V, saved * F), dtype=_stats_dtype(x))


@torch.library.register_fake("meshgraph::segment_aggregate_backward")
def _fake_backward(grad, x, out, stats, rowptr, col, reduce, t=None, p=None, clamp_min=None, clamp_max=None,
                   semi_grad=False):
    return (torch.empty_like(x), x.new_empty(0) if t is None else torch.empty_like(t),
            x.new_empty(0) if p is None else torch.empty_like(p))


def _setup(ctx, inputs, output):
    x, rowptr, col, reduce, t, p, clamp_min, clamp_max, semi_grad = inputs
    out, stats = output
    ctx.options = (reduce, clamp_min, clamp_max, semi_grad)
    ctx.mark_non_differentiable(stats)  # what the backward reuses (mean, log-sum-exp), not a result
    ctx.save_for_backward(x, out, stats, rowptr, col, t, p)


def _backward(ctx, grad, _grad_stats):
    x, out, stats, rowptr, col, t, p = ctx.saved_tensors
    reduce, clamp_min, clamp_max, semi_grad = ctx.options
    gx, gt, gp = torch.ops.meshgraph.segment_aggregate_backward(grad, x, out, stats, rowptr, col, reduce, t, p,
                                                                clamp_min, clamp_max, semi_grad)
    need = ctx.needs_input_grad
    return (gx if need[0] else None, None, None, None, gt if t is not None and need[4] else None,
            gp if p is not None and need[5] else None, None, None, None)


def _setup_backward(ctx, inputs, output):
    grad, x, out, stats, rowptr, col, reduce, t, p, clamp_min, clamp_max, semi_grad = inputs
    ctx.options = (reduce, clamp_min, clamp_max, semi_grad)
    ctx.save_for_backward(grad, x, rowptr, col, t, p)


def _backward_backward(ctx, gg_x, gg_t, gg_p):
    # Double backward by the reference's autograd (pure torch, E x F temporaries: second-order use is rare). The
    # dependence on `out` and `stats` is carried by the recomputed forward, so they get no gradient here.
    from .reference.segment_aggregate import segment_aggregate_backward as ref_backward

    grad, x, rowptr, col, t, p = ctx.saved_tensors
    reduce, clamp_min, clamp_max, semi_grad = ctx.options
    with torch.enable_grad():
        leaves = [v.detach().requires_grad_(True) if v is not None else None for v in (grad, x, t, p)]
        g, xs, ts, ps = leaves
        outs = ref_backward(g, xs, None, None, rowptr, col, reduce, ts, ps, clamp_min, clamp_max, semi_grad)
        pairs = [(o, gg) for o, gg in zip(outs, (gg_x, gg_t, gg_p)) if gg is not None and o.requires_grad]
        inputs = [v for v in leaves if v is not None]
        if pairs:
            grads = torch.autograd.grad([o for o, _ in pairs], inputs, [gg for _, gg in pairs], allow_unused=True,
                                        create_graph=torch.is_grad_enabled())
        else:
            grads = [None] * len(inputs)
    it = iter(grads)
    d_grad, d_x = next(it), next(it)
    d_t = next(it) if t is not None else None
    d_p = next(it) if p is not None else None
    return d_grad, d_x, None, None, None, None, None, d_t, d_p, None, None, None


torch.library.register_autograd("meshgraph::segment_aggregate", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::segment_aggregate_backward", _backward_backward, setup_context=_setup_backward)
