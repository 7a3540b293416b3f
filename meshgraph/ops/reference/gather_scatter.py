"""Reference gather-scatter family: the definitions the fused kernels meet (they materialize E x F; kernels don't)."""

from __future__ import annotations

import torch


def _rows(rowptr: torch.Tensor, num_entries: int) -> torch.Tensor:
    return torch.repeat_interleave(torch.arange(rowptr.numel() - 1, device=rowptr.device), rowptr.diff(), output_size=num_entries)


def gather_scatter(x, rowptr, col, weight, reduce, rowptr_t=None, col_t=None, eid_t=None):
    """out[v] = reduce over CSR row v of weight[k] * x[col[k]]; arg = first CSR position attaining max/min."""
    V, F, E = rowptr.numel() - 1, x.shape[1], col.numel()
    row = _rows(rowptr, E)
    msg = x[col.long()]
    if weight is not None:  # (E,) or (E, H): head h weights features h*C:(h+1)*C
        w = weight if weight.dim() == 2 else weight[:, None]
        msg = (msg.view(E, w.shape[1], F // w.shape[1]) * w[:, :, None]).view(E, F)
    out = x.new_zeros((V, F))
    if reduce in ("sum", "mean"):
        out = out.index_add(0, row, msg)
        if reduce == "mean":
            out = out / rowptr.diff().clamp(min=1).to(x.dtype)[:, None]
        return out, torch.empty((0, 0), dtype=torch.int64, device=x.device)
    how = {"max": "amax", "min": "amin"}[reduce]
    out = out.scatter_reduce(0, row[:, None].expand(E, F), msg, how, include_self=False)
    attains = msg == out[row]
    k = torch.arange(E, device=x.device)[:, None].expand(E, F)
    big = torch.full((V, F), E, dtype=torch.int64, device=x.device)
    arg = big.scatter_reduce(0, row[:, None].expand(E, F), torch.where(attains, k, E), "amin", include_self=True)
    return out, torch.where(arg == E, -1, arg)


def edge_dot(a, b, rowptr, col, heads=1, rowptr_t=None, col_t=None, eid_t=None):
    """out[k, h] = <a[row(k)], b[col[k]]> over head h's channels, for every CSR entry k; (E,) when heads == 1."""
    E = col.numel()
    prod = (a[_rows(rowptr, E)] * b[col.long()]).view(E, heads, a.shape[1] // heads).sum(2)
    return prod[:, 0] if heads == 1 else prod


def gather_scatter_arg_backward(grad_out, x, arg, rowptr_t, col_t, eid_t, weight, compute_grad_weight):
    """Backward of max/min gather-scatter from the forward's arg (CSR positions), given the transposed CSR."""
    E = col_t.numel()
    src_of_entry = torch.empty(E, dtype=torch.int64, device=x.device)
    src_of_entry[eid_t] = _rows(rowptr_t, E)  # the source of each forward CSR entry
    V, F = grad_out.shape
    v = torch.arange(V, device=x.device)[:, None].expand(V, F)
    f = torch.arange(F, device=x.device)[None, :].expand(V, F)
    ok = arg >= 0
    e, vv, ff = arg[ok], v[ok], f[ok]
    u = src_of_entry[e]
    g = grad_out[vv, ff]
    H = weight.shape[1] if weight is not None and weight.dim() == 2 else 1
    hh = ff // (F // H)
    w2 = weight.view(E, H) if weight is not None else None
    w = w2[e, hh] if w2 is not None else torch.ones_like(g)
    grad_x = torch.zeros_like(x).index_put((u, ff), w * g, accumulate=True)
    if not compute_grad_weight:
        return grad_x, x.new_zeros(0)
    grad_w = x.new_zeros(E, H).index_put((e, hh), g * x[u, ff], accumulate=True)
    return grad_x, grad_w if weight is not None and weight.dim() == 2 else grad_w[:, 0]
