"""Reference segment_aggregate: several reductions of the rows of x per group (rows col[rowptr[v]:rowptr[v+1]],
or the consecutive segments when col is None), with the kernels' gradients (autograd of these torch ops)."""

from __future__ import annotations

import torch


def _groups(x, rowptr, col):
    V = rowptr.numel() - 1
    entries = x.shape[0] if col is None else col.numel()
    seg = torch.repeat_interleave(torch.arange(V, device=x.device), rowptr.diff(), output_size=entries)
    rows = torch.arange(entries, device=x.device) if col is None else col
    return rows.long(), seg, V


def _first_extreme(xe, seg, V, reduce):
    """max / min per group and channel, its gradient to the first row (in group order) that attains it."""
    E, F = xe.shape
    idx = seg[:, None].expand(E, F)
    val = xe.new_zeros((V, F)).scatter_reduce(0, idx, xe.detach(), "a" + reduce, include_self=False)
    pos = torch.arange(E, device=xe.device)[:, None].expand(E, F)
    hit = xe.detach() == val[seg]
    first = torch.full((V, F), E, dtype=torch.long, device=xe.device)
    first = first.scatter_reduce(0, idx, torch.where(hit, pos, E), "amin", include_self=True)
    padded = torch.cat([xe, xe.new_zeros((1, F))])  # groups without rows read the zero row
    return padded.gather(0, first)


def segment_aggregate(x, rowptr, col, reduce, t=None, p=None, clamp_min=None, clamp_max=None, semi_grad=False):
    """(out, stats): block k of out (V, K * F) holds reduce[k] of every group; stats (V, S * F) in x's
    accumulation dtype holds the mean of each "var" and the log-sum-exp of t x of each "softmax", in order, 0 for
    groups without rows (see csrc/ops/segment_aggregate/segment_aggregate.h)."""
    rows, seg, V = _groups(x, rowptr, col)
    F = x.shape[1]
    xe = x[rows]
    count = torch.bincount(seg, minlength=V).clamp(min=1).to(x.dtype)[:, None]

    def total(v):
        return v.new_zeros((V, F)).index_add(0, seg, v)

    outs, stats = [], []
    nonempty = (torch.bincount(seg, minlength=V) > 0)[:, None]
    acc = torch.float64 if x.dtype == torch.float64 else torch.float32
    for r in reduce:
        if r == "sum":
            outs.append(total(xe))
        elif r == "mean":
            outs.append(total(xe) / count)
        elif r in ("max", "min"):
            outs.append(_first_extreme(xe, seg, V, r))
        elif r == "mul":
            outs.append(xe.new_ones((V, F)).scatter_reduce(0, seg[:, None].expand_as(xe), xe, "prod", include_self=True))
        elif r == "var":
            mean = total(xe) / count
            stats.append(mean.detach().to(acc))
            var = total((xe - mean[seg]) ** 2) / count
            if semi_grad:  # the value of var, the gradient of -mean^2 only (PyG: no gradient through mean(x^2))
                var = var.detach() + mean.detach() ** 2 - mean**2
            outs.append(var)
        elif r == "softmax":
            z = xe * t
            top = z.detach().new_full((V, F), -torch.inf).scatter_reduce(0, seg[:, None].expand_as(z), z.detach(), "amax")
            ex = (z - top[seg]).exp()
            lse = torch.where(nonempty, top + total(ex).log(), 0.0)
            stats.append(lse.detach().to(acc))
            a = ex / total(ex)[seg]
            if semi_grad:
                a = a.detach()
            outs.append(total(a * xe))
        elif r == "powermean":
            c = xe if clamp_min is None and clamp_max is None else xe.clamp(min=clamp_min, max=clamp_max)
            outs.append(total(c.pow(p)) / count)
        else:
            raise ValueError(f"unknown reduction {r!r}")
    out = torch.cat(outs, dim=1) if outs else x.new_zeros((V, 0))
    return out, torch.cat(stats, dim=1) if stats else x.new_zeros((V, 0), dtype=acc)


def segment_aggregate_backward(grad, x, out, stats, rowptr, col, reduce, t=None, p=None, clamp_min=None,
                               clamp_max=None, semi_grad=False):
    """(grad_x, grad_t or (0,), grad_p or (0,)): the gradients of `segment_aggregate`'s out for the output gradient
    grad (differentiable: create_graph when any input requires grad). out and stats are not read: the forward is
    recomputed."""
    create = any(v is not None and v.requires_grad for v in (grad, x, t, p))
    with torch.enable_grad():
        xs = x if x.requires_grad else x.detach().requires_grad_(True)
        ts = None if t is None else (t if t.requires_grad else t.detach().requires_grad_(True))
        ps = None if p is None else (p if p.requires_grad else p.detach().requires_grad_(True))
        o = segment_aggregate(xs, rowptr, col, reduce, ts, ps, clamp_min, clamp_max, semi_grad)[0]
        inputs = [v for v in (xs, ts, ps) if v is not None]
        grads = torch.autograd.grad(o, inputs, grad, create_graph=create, allow_unused=True)
    grads = [torch.zeros_like(v) if g is None else g for g, v in zip(grads, inputs)]
    gx = grads[0]
    gt = grads[1] if t is not None else x.new_zeros(0)
    gp = grads[-1] if p is not None else x.new_zeros(0)
    return gx, gt, gp
