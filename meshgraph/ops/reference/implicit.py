"""Implicit rendering ops: emission-absorption raymarching along each ray and inverse-CDF sampling (sample_pdf).

The kernels (csrc/ops/emission_absorption/, csrc/ops/sample_pdf/) compute exactly these, in the accumulation
dtype (float32 for float16 / bfloat16), with the summation orders their headers state.
"""

from __future__ import annotations

import torch


def _acc(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def emission_absorption(densities: torch.Tensor, features: torch.Tensor, eps: float,
                        surface_thickness: int) -> tuple[torch.Tensor, torch.Tensor]:
    """densities (R, P), features (R, P, C) -> (features_out (R, C), opacities (R,)): PyTorch3D's
    EmissionAbsorptionRaymarcher, w_k = d_k prod_{j <= k - s} ((1 + eps) - d_j), features_out = sum_k w_k f_k,
    opacities = 1 - prod_k (1 - d_k)."""
    acc = _acc(densities.dtype)
    d = densities.to(acc)
    f = features.to(acc)
    one_eps = torch.tensor(1.0 + eps, dtype=acc).item()  # 1 + eps rounded to the accumulation dtype once
    x = one_eps - d
    P = d.shape[-1]
    s = min(surface_thickness, P)
    absorb = torch.cat([torch.ones_like(d[..., :s]), torch.cumprod(x, -1)[..., : P - s]], -1)
    w = d * absorb
    out = (w[..., None] * f).sum(-2)
    opacity = 1.0 - torch.prod(1.0 - d, -1)
    return out.to(features.dtype), opacity.to(features.dtype)


def emission_absorption_backward(grad_features, grad_opacities, densities, features, eps, surface_thickness):
    """(grad_densities (R, P), grad_features (R, P, C)): the vector-Jacobian product of the above (autograd)."""
    with torch.enable_grad():
        d = densities.detach().to(_acc(densities.dtype)).requires_grad_(True)
        f = features.detach().to(_acc(densities.dtype)).requires_grad_(True)
        out, opacity = emission_absorption(d, f, eps, surface_thickness)
        gd, gf = torch.autograd.grad((out, opacity), (d, f), (grad_features.to(out.dtype), grad_opacities.to(out.dtype)),
                                     allow_unused=True)
    gd = torch.zeros_like(d) if gd is None else gd
    gf = torch.zeros_like(f) if gf is None else gf
    return gd.to(densities.dtype), gf.to(features.dtype)


def sample_pdf(bins: torch.Tensor, weights: torch.Tensor, uniforms: torch.Tensor, eps: float) -> torch.Tensor:
    """bins (B, n + 1), weights (B, n), uniforms (B, S) in the accumulation dtype -> samples (B, S): PyTorch3D's
    C++ sample_pdf (partial sums c, total = c[-1] + eps, bin = lower_bound of total * u in c[:-1], then the linear
    interpolation inside the bin with its "past the bin's weight" and "empty bin" rules)."""
    acc = _acc(bins.dtype)
    w = weights.to(acc)
    b = bins.to(acc)
    c = torch.cumsum(w, -1)
    total = c[..., -1:] + eps
    v = total * uniforms.to(acc)
    i = torch.searchsorted(c[..., :-1].contiguous(), v.contiguous(), right=False)  # lower_bound
    prev = torch.where(i > 0, torch.gather(c, -1, (i - 1).clamp(min=0)), torch.zeros_like(v))
    v = v - prev
    start, end = torch.gather(b, -1, i), torch.gather(b, -1, i + 1)
    bw = torch.gather(w, -1, i)
    inside = start + (v / torch.where(bw > eps, bw, torch.ones_like(bw))) * (end - start)
    out = torch.where(v > bw, end, torch.where(bw > eps, inside, start))
    return out.to(bins.dtype)
