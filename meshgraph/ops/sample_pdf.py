"""sample_pdf: inverse-CDF sampling of piecewise-constant densities along rays (NeRF's hierarchical sampling,
PyTorch3D's `pytorch3d.renderer.implicit.sample_pdf.sample_pdf` and its C++ op).

Kernels: csrc/ops/sample_pdf/ (a binary search per sample on CPU and CUDA). Reference:
meshgraph/ops/reference/implicit.py.
"""

from __future__ import annotations

import math

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_nonnegative_int, check_same_device, check_tensor, values_are_free

_extension.load()


def _acc(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def sample_pdf(
    bins: torch.Tensor,
    weights: torch.Tensor,
    n_samples: int,
    det: bool = False,
    eps: float = 1e-5,
    *,
    generator: torch.Generator | None = None,
    uniforms: torch.Tensor | None = None,
) -> torch.Tensor:
    """Samples from the densities given by bin edges and non-negative per-bin weights.

    Args:
        bins: (..., n_bins + 1) bin edges (float16 / bfloat16 / float32 / float64).
        weights: (..., n_bins) non-negative weights of the bins (n_bins >= 1), in the dtype of bins.
        n_samples: samples per row.
        det: uniformly spaced quantiles linspace(0, 1, n_samples) instead of random ones.
        eps: added to each row's total weight, and the weight below which a bin is treated as empty.
        generator: the torch.Generator the random quantiles are drawn from (torch.rand; the default generator
            when None, as PyTorch3D).
        uniforms: (..., n_samples) quantiles in [0, 1] to use instead (PyTorch3D's op takes them as input).

    Returns:
        (..., n_samples) samples in the dtype of bins. Quantiles are float32 (float64 for float64 bins), drawn with
        the same call as PyTorch3D's, so under one seed the samples are PyTorch3D's. Not differentiable: inputs
        that require grad raise NotImplementedError while grad mode is on (as PyTorch3D).
    """
    check_tensor(bins, "bins", min_dim=1, dtypes=FLOAT_DTYPES)
    check_tensor(weights, "weights", min_dim=1, dtypes=FLOAT_DTYPES)
    check_same_device(bins=bins, weights=weights)
    n_samples = check_nonnegative_int(n_samples, "n_samples")
    if torch.is_grad_enabled() and (bins.requires_grad or weights.requires_grad):
        raise NotImplementedError("sample_pdf differentiability.")
    batch_shape, n_bins = bins.shape[:-1], weights.shape[-1]
    if n_bins + 1 != bins.shape[-1] or weights.shape[:-1] != batch_shape:
        raise ValueError(f"Inconsistent shapes of bins and weights: {tuple(bins.shape)}{tuple(weights.shape)}")
    if n_bins < 1:
        raise ValueError("weights must have at least one bin (bins at least two edges)")
    if values_are_free(weights) and weights.numel() and bool(weights.min() <= -eps):
        raise ValueError("Negative weights provided.")
    dtype = torch.promote_types(bins.dtype, weights.dtype)
    acc = _acc(dtype)
    output_shape = (*batch_shape, n_samples)
    if uniforms is not None:
        check_tensor(uniforms, "uniforms", dtypes=FLOAT_DTYPES, shape=output_shape)
        check_same_device(bins=bins, uniforms=uniforms)
        u = uniforms.to(acc)
    elif det:
        u = torch.linspace(0.0, 1.0, n_samples, device=bins.device, dtype=acc).expand(output_shape)
    else:
        u = torch.rand(output_shape, dtype=acc, device=bins.device, generator=generator)
    B = math.prod(batch_shape)
    out = torch.ops.meshgraph.sample_pdf(
        bins.to(dtype).reshape(B, n_bins + 1), weights.to(dtype).reshape(B, n_bins), u.reshape(B, n_samples),
        float(eps))
    return out.reshape(output_shape)


@torch.library.register_fake("meshgraph::sample_pdf")
def _fake(bins, weights, uniforms, eps):
    return bins.new_empty((bins.shape[0], uniforms.shape[1]))


__all__ = ["sample_pdf"]
