"""Hierarchical (importance) sampling along rays: `sample_pdf`, the fused op, and `sample_pdf_python`, NeRF's
searchsorted formulation (PyTorch3D's `pytorch3d.renderer.implicit.sample_pdf`)."""

from __future__ import annotations

import torch

from ...ops.sample_pdf import sample_pdf


def sample_pdf_python(
    bins: torch.Tensor,
    weights: torch.Tensor,
    N_samples: int,
    det: bool = False,
    eps: float = 1e-5,
) -> torch.Tensor:
    """NeRF's original inverse-CDF sampling (PyTorch3D's sample_pdf_python): eps is added to every weight, the
    CDF is searched with torch.searchsorted(right=True) and each sample interpolated between the two CDF values
    around it (a gap below eps counts as 1). bins (..., n_bins + 1), weights (..., n_bins) ->
    (..., N_samples); quantiles linspace(0, 1) if det, else torch.rand in the CDF's dtype."""
    weights = weights + eps
    if weights.min() <= 0:
        raise ValueError("Negative weights provided.")
    cdf = torch.cumsum(weights / weights.sum(dim=-1, keepdim=True), -1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)
    shape = [*cdf.shape[:-1], N_samples]
    if det:
        u = torch.linspace(0.0, 1.0, N_samples, device=cdf.device, dtype=cdf.dtype).expand(shape).contiguous()
    else:
        u = torch.rand(shape, device=cdf.device, dtype=cdf.dtype)
    inds = torch.searchsorted(cdf, u, right=True)
    below = (inds - 1).clamp(min=0)
    above = inds.clamp(max=cdf.shape[-1] - 1)
    cdf_lo, cdf_hi = torch.gather(cdf, -1, below), torch.gather(cdf, -1, above)
    bins_lo, bins_hi = torch.gather(bins, -1, below), torch.gather(bins, -1, above)
    denom = cdf_hi - cdf_lo
    denom = torch.where(denom < eps, torch.ones_like(denom), denom)
    t = (u - cdf_lo) / denom
    return bins_lo + t * (bins_hi - bins_lo)


__all__ = ["sample_pdf", "sample_pdf_python"]
