"""`pytorch3d.renderer.implicit.sample_pdf` mirror: sample_pdf on meshgraph's fused op (CPU and CUDA kernels, any
float dtype), sample_pdf_python the searchsorted formulation."""

import torch

from .....ops.sample_pdf import sample_pdf as _sample_pdf
from .....render.implicit.sample_pdf import sample_pdf_python  # noqa: F401


def sample_pdf(
    bins: torch.Tensor,
    weights: torch.Tensor,
    n_samples: int,
    det: bool = False,
    eps: float = 1e-5,
) -> torch.Tensor:
    """PyTorch3D's sample_pdf: bins (..., n_bins + 1), weights (..., n_bins) -> (..., n_samples) samples of the
    piecewise-constant densities (meshgraph.ops.sample_pdf, which also takes a generator or the quantiles)."""
    return _sample_pdf(bins, weights, n_samples, det, eps)


__all__ = ["sample_pdf", "sample_pdf_python"]
