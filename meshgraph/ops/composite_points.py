"""composite_points: blend the features of the K points rasterized into each pixel (PyTorch3D's alpha,
normalized-weighted and weighted-sum compositors), fused forward and backward kernels for any feature width.

Kernels: csrc/ops/composite_points/. Inputs are read through their strides: PyTorch3D's (C, P) features and
(N, K, H, W) index/alpha layouts are transposed views, never copied.
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, values_are_free

_extension.load()

MODES = {"alpha": 0, "norm_weighted": 1, "weighted_sum": 2}  # the op's `str mode` values (codes: the reference's)


def composite_points(
    features: torch.Tensor,
    alphas: torch.Tensor,
    idx: torch.Tensor,
    mode: str = "alpha",
    background: float | torch.Tensor | None = None,
) -> torch.Tensor:
    """Blend per-point features into an image.

    Args:
        features: (P, C) features of the packed points (float16/bfloat16/float32/float64, summed in float32 or
            wider; any C).
        alphas: (N, H, W, K) opacity of each pixel's k-th point (the rasterizer's layout).
        idx: (N, H, W, K) int64 packed point indices, -1 for empty slots (as `rasterize_points` returns).
        mode: "alpha" (front-to-back over: w_k = a_k prod_{j<k} (1 - a_j)), "norm_weighted"
            (w_k = a_k / max(sum a, 1e-4)) or "weighted_sum" (w_k = a_k).
        background: None, a float or a (C,) tensor written where a pixel has no point (idx[..., 0] < 0).

    Returns:
        (N, C, H, W), differentiable w.r.t. features and alphas (fused backward kernel).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
    check_tensor(features, "features", dim=2, dtypes=FLOAT_DTYPES)
    check_tensor(alphas, "alphas", dim=4, dtypes=FLOAT_DTYPES)
    check_tensor(idx, "idx", dim=4, dtypes=(torch.int64,))
    if alphas.shape != idx.shape:
        raise ValueError(f"alphas and idx must have the same (N, H, W, K) shape, got {tuple(alphas.shape)} and {tuple(idx.shape)}")
    check_same_device(features=features, alphas=alphas, idx=idx)
    if values_are_free(idx) and idx.numel():
        lo, hi = int(idx.min()), int(idx.max())
        if lo < -1 or hi >= features.shape[0]:
            raise ValueError(f"idx must hold -1 or packed point indices in [0, {features.shape[0]}), got [{lo}, {hi}]")
    return composite_validated(features, alphas.to(features.dtype), idx, mode, background)


def composite_validated(features, alphas, idx, mode: str, background=None) -> torch.Tensor:
    """composite_points without the data checks (no device sync), for callers whose idx comes from a rasterizer
    (GraphToImage): alphas in the features' dtype; idx entries outside [0, P) are skipped by the kernels."""
    out = torch.ops.meshgraph.composite_points(features, alphas, idx, mode)
    if background is not None:
        bg = torch.as_tensor(background, dtype=out.dtype, device=out.device).reshape(-1)
        if bg.numel() not in (1, out.shape[1]):
            raise ValueError(f"background must be a float or have {out.shape[1]} entries, got {bg.numel()}")
        empty = (idx[..., 0] < 0)[:, None]
        out = torch.where(empty, bg.reshape(1, -1, 1, 1), out)
    return out


def _pytorch3d_call(mode: str, pointsidx, alphas, pt_clds, background=None):
    check_tensor(pointsidx, "pointsidx", dim=4, dtypes=(torch.int64,))
    check_tensor(alphas, "alphas", dim=4)
    check_tensor(pt_clds, "pt_clds", dim=2)
    return composite_points(pt_clds.t(), alphas.permute(0, 2, 3, 1), pointsidx.permute(0, 2, 3, 1), mode, background)


def alpha_composite(pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor) -> torch.Tensor:
    """PyTorch3D's call shape: pointsidx, alphas (N, K, H, W), pt_clds (C, P) -> (N, C, H, W)."""
    return _pytorch3d_call("alpha", pointsidx, alphas, pt_clds)


def norm_weighted_sum(pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor) -> torch.Tensor:
    """PyTorch3D's call shape: pointsidx, alphas (N, K, H, W), pt_clds (C, P) -> (N, C, H, W)."""
    return _pytorch3d_call("norm_weighted", pointsidx, alphas, pt_clds)


def weighted_sum(pointsidx: torch.Tensor, alphas: torch.Tensor, pt_clds: torch.Tensor) -> torch.Tensor:
    """PyTorch3D's call shape: pointsidx, alphas (N, K, H, W), pt_clds (C, P) -> (N, C, H, W)."""
    return _pytorch3d_call("weighted_sum", pointsidx, alphas, pt_clds)


class _Compositor(torch.nn.Module):
    mode = "alpha"

    def __init__(self, background_color=None):
        super().__init__()
        self.background_color = background_color

    def forward(self, fragments: torch.Tensor, alphas: torch.Tensor, ptclds: torch.Tensor, **kwargs) -> torch.Tensor:
        """PyTorch3D's compositor call: fragments (N, K, H, W) indices, alphas (N, K, H, W), ptclds (C, P) ->
        (N, C, H, W). background_color (a float, or C or C - 1 values, then with alpha 1 appended) fills the
        pixels without any point."""
        images = _pytorch3d_call(self.mode, fragments, alphas, ptclds)
        bg = kwargs.get("background_color", self.background_color)
        return images if bg is None else _with_background(fragments[:, 0] < 0, images, bg)


def _with_background(empty: torch.Tensor, images: torch.Tensor, background_color) -> torch.Tensor:
    """images (N, C, H, W) with background_color where empty (N, H, W) (PyTorch3D's compositor rule)."""
    bg = background_color if torch.is_tensor(background_color) else images.new_tensor(background_color)
    if bg.ndim == 0:
        bg = bg.expand(images.shape[1])
    if bg.ndim > 1:
        raise ValueError("Wrong shape of background_color")
    bg = bg.to(images)
    if bg.shape[0] + 1 == images.shape[1]:  # RGB background for RGBA features: opaque
        bg = torch.cat([bg, images.new_ones(1)])
    if images.shape[1] != bg.shape[0]:
        raise ValueError(f"Background color has {bg.shape[0]} channels not {images.shape[1]}")
    return torch.where(empty[:, None], bg.reshape(1, -1, 1, 1), images)


class AlphaCompositor(_Compositor):
    """Front-to-back alpha compositing (PyTorch3D's AlphaCompositor); background_color fills empty pixels."""

    mode = "alpha"


class NormWeightedCompositor(_Compositor):
    """Alpha-weighted mean of the pixel's points (PyTorch3D's NormWeightedCompositor)."""

    mode = "norm_weighted"


class WeightedSumCompositor(_Compositor):
    """Alpha-weighted sum of the pixel's points (PyTorch3D's WeightedSumCompositor)."""

    mode = "weighted_sum"


@torch.library.register_fake("meshgraph::composite_points")
def _fake(features, alphas, idx, mode):
    N, H, W, _ = alphas.shape
    return features.new_empty((N, features.shape[1], H, W))


@torch.library.register_fake("meshgraph::composite_points_backward")
def _fake_backward(grad_out, features, alphas, idx, mode):
    return features.new_empty(features.shape), alphas.new_empty(alphas.shape)


def _setup(ctx, inputs, output):
    features, alphas, idx, mode = inputs  # the schema's names
    ctx.mode = mode
    ctx.save_for_backward(features, alphas, idx)


def _backward(ctx, grad):
    features, alphas, idx = ctx.saved_tensors
    gf, ga = torch.ops.meshgraph.composite_points_backward(grad.contiguous(), features, alphas, idx, ctx.mode)
    return gf, ga, None, None


def _setup_backward(ctx, inputs, output):
    grad_out, features, alphas, idx, mode = inputs
    ctx.mode = mode
    ctx.save_for_backward(grad_out, features, alphas, idx)


def _backward_backward(ctx, gg_f, gg_a):
    # Second order through the readable reference (exact; double backward is rare in rendering).
    from .reference.render import composite_points_backward as ref_backward

    grad_out, features, alphas, idx = ctx.saved_tensors
    with torch.enable_grad():
        g = grad_out.detach().requires_grad_(True)
        f = features.detach().requires_grad_(True)
        a = alphas.detach().requires_grad_(True)
        outs = ref_backward_graph(g, f, a, idx, ctx.mode)
        pairs = [(o, gg) for o, gg in zip(outs, (gg_f, gg_a)) if gg is not None]
        grads = torch.autograd.grad([o for o, _ in pairs], (g, f, a), [gg for _, gg in pairs], allow_unused=True)
    return grads[0], grads[1], grads[2], None, None


def ref_backward_graph(grad_out, features, alphas, idx, mode):
    """The backward as a differentiable graph (create_graph), for second derivatives."""
    from .reference.render import composite_points as ref

    out = ref(features, alphas, idx, mode)
    return torch.autograd.grad(out, (features, alphas), grad_out, create_graph=True)


torch.library.register_autograd("meshgraph::composite_points", _backward, setup_context=_setup)
torch.library.register_autograd(
    "meshgraph::composite_points_backward", _backward_backward, setup_context=_setup_backward
)
