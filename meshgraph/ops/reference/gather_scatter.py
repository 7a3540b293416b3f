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
    if weight is not None:
        msg = msg * weight[:, None]
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


def edge_dot(a, b, rowptr, col, rowptr_t=None, col_t=None, eid_t=None):
    """out[k] = <a[row(k)], b[col[k]]> for every CSR entry k."""
    return (a[_rows(rowptr, col.numel())] * b[col.long()]).sum(1)


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
    w = weight[e] if weight is not None else torch.ones_like(g)
    grad_x = torch.zeros_like(x).index_put((u, ff), w * g, accumulate=True)
    grad_w = x.new_zeros(E).index_put((e,), g * x[u, ff], accumulate=True) if compute_grad_weight else x.new_zeros(0)
    return grad_x, grad_w
