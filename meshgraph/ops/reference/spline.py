"""Reference SplineCNN ops (the specification of spline_basis, spline_weighting and their backward kernels).

The semantics are torch_spline_conv's (the package behind PyG's SplineConv): a B-spline tensor-product basis of
degree 1..3 over pseudo-coordinates in [0, 1], and the continuous-kernel weighting sum_s basis[e, s] *
(x_e @ weight[weight_index[e, s]]), here summed (or averaged) per destination of a CSR.
"""

from __future__ import annotations

import torch


def _pieces(t: torch.Tensor, k: torch.Tensor, degree: int) -> torch.Tensor:
    """Piece k of the uniform B-spline of `degree` at t in [0, 1)."""
    if degree == 1:
        return 1 - t - k + 2 * t * k
    if degree == 2:
        return torch.where(k == 0, 0.5 * t * t - t + 0.5, torch.where(k == 1, -t * t + t + 0.5, 0.5 * t * t))
    return torch.where(k == 0, (1 - t) ** 3 / 6, torch.where(k == 1, (3 * t**3 - 6 * t * t + 4) / 6,
                       torch.where(k == 2, (-3 * t**3 + 3 * t * t + 3 * t + 1) / 6, t**3 / 6)))


def _piece_grads(t: torch.Tensor, k: torch.Tensor, degree: int) -> torch.Tensor:
    if degree == 1:
        return (2 * k - 1).to(t.dtype) * torch.ones_like(t)
    if degree == 2:
        return torch.where(k == 0, t - 1, torch.where(k == 1, -2 * t + 1, t))
    return torch.where(k == 0, (-t * t + 2 * t - 1) / 2, torch.where(k == 1, (3 * t * t - 4 * t) / 2,
                       torch.where(k == 2, (-3 * t * t + 2 * t + 1) / 2, t * t / 2)))


def _knots(pseudo, kernel_size, is_open_spline, degree):
    """(t, cell, k, scale, extent): fractions and cells (E, D, 1), piece numbers k (D, S), per-dim scale / extent."""
    E, D = pseudo.shape
    S = (degree + 1) ** D
    ks = kernel_size.long().to(pseudo.device)
    scale = ks - degree * (is_open_spline.to(pseudo.device) != 0).long()
    acc = torch.float64 if pseudo.dtype == torch.float64 else torch.float32
    v = pseudo.to(acc) * scale.to(acc)
    fl = torch.floor(v)
    t = v - fl
    ok = torch.isfinite(fl) & (fl.abs() <= 1e15)
    cell = torch.where(ok, fl, torch.zeros_like(fl)).long()
    s = torch.arange(S, device=pseudo.device)
    k = torch.stack([(s // (degree + 1) ** d) % (degree + 1) for d in range(D)])  # (D, S)
    return t[:, :, None], cell[:, :, None], k, scale, ks.clamp(min=1)


def spline_basis(pseudo, kernel_size, is_open_spline, degree):
    """(basis (E, S), weight_index (E, S) int64), S = (degree + 1)^D: basis[e, s] = prod_d B(t_ed, k_ds) and
    weight_index[e, s] = sum_d ((floor(v_ed) + k_ds) mod kernel_size[d]) * prod_{d' < d} kernel_size[d'], with
    v_ed = pseudo[e, d] * (kernel_size[d] - degree * is_open_spline[d]) and t_ed = v_ed - floor(v_ed)."""
    t, cell, k, _, extent = _knots(pseudo, kernel_size, is_open_spline, degree)
    E, D = pseudo.shape
    basis = torch.ones(E, k.shape[1], dtype=t.dtype, device=pseudo.device)
    index = torch.zeros(E, k.shape[1], dtype=torch.int64, device=pseudo.device)
    offset = 1
    for d in range(D):
        basis = basis * _pieces(t[:, d], k[d], degree)
        index = index + torch.remainder(cell[:, d] + k[d], extent[d]) * offset
        offset = offset * extent[d]
    return basis.to(pseudo.dtype), index


def spline_basis_backward(grad_basis, pseudo, kernel_size, is_open_spline, degree):
    """grad_pseudo[e, d] = scale_d * sum_s grad_basis[e, s] * B'(t_ed, k_ds) * prod_{d' != d} B(t_ed', k_d's)."""
    t, _, k, scale, _ = _knots(pseudo, kernel_size, is_open_spline, degree)
    D = pseudo.shape[1]
    g = grad_basis.to(t.dtype)
    cols = []
    for d in range(D):
        term = _piece_grads(t[:, d], k[d], degree)
        for d2 in range(D):
            if d2 != d:
                term = term * _pieces(t[:, d2], k[d2], degree)
        cols.append((term * g).sum(1) * scale[d].to(t.dtype))
    return torch.stack(cols, 1).to(pseudo.dtype) if cols else pseudo.new_zeros(pseudo.shape)


def _rows(rowptr, E):
    return torch.repeat_interleave(torch.arange(rowptr.numel() - 1, device=rowptr.device), rowptr.diff(), output_size=E)


def _scale(rowptr, reduce, dtype):
    deg = rowptr.diff().to(dtype)
    return 1.0 / deg.clamp(min=1) if reduce == "mean" else torch.ones_like(deg)


def _acc(t):
    return t.double() if t.dtype == torch.float64 else t.float()


def spline_weighting(x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t=None, col_t=None, eid_t=None):
    """out[v] = c_v * sum_{k in row v} sum_s basis[k, s] * (x[col[k]] @ weight[weight_index[k, s]]), c_v = 1 ("sum")
    or 1 / max(deg v, 1) ("mean"). The transposed CSR does not change the result."""
    E = col.numel()
    xa, wa, ba = _acc(x), _acc(weight), _acc(basis)
    msg = torch.einsum("ks,ki,ksio->ko", ba, xa[col.long()], wa[weight_index])
    out = torch.zeros(rowptr.numel() - 1, weight.shape[2], dtype=xa.dtype, device=x.device)
    out.index_add_(0, _rows(rowptr, E), msg)
    return (out * _scale(rowptr, reduce, xa.dtype)[:, None]).to(x.dtype)


def spline_weighting_backward(grad_out, x, weight, basis, weight_index, rowptr, col, reduce, rowptr_t, col_t, eid_t,
                              output_mask):
    """(grad_x, grad_weight, grad_basis) of spline_weighting; an output not asked for by output_mask is (0,)."""
    E = col.numel()
    xa, wa, ba = _acc(x), _acc(weight), _acc(basis)
    rows, src = _rows(rowptr, E), col.long()
    g = (_acc(grad_out) * _scale(rowptr, reduce, xa.dtype)[:, None])[rows]  # (E, Cout): c_v * grad_out[v]
    W = wa[weight_index]  # (E, S, Cin, Cout)
    none = lambda: x.new_empty(0)  # noqa: E731
    gx = torch.zeros_like(xa).index_add_(0, src, torch.einsum("ks,ksio,ko->ki", ba, W, g)) if output_mask[0] else None
    gw = None
    if output_mask[1]:
        contrib = torch.einsum("ks,ki,ko->ksio", ba, xa[src], g).reshape(-1, *weight.shape[1:])
        gw = torch.zeros_like(wa).index_add_(0, weight_index.reshape(-1), contrib)
    gb = torch.einsum("ki,ksio,ko->ks", xa[src], W, g) if output_mask[2] else None
    return tuple(t.to(x.dtype) if t is not None else none() for t in (gx, gw, gb))
