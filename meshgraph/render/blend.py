"""Blending of per-slot mesh features (N, H, W, K, C) into images (N, C, H, W): hard (nearest face), soft
(PyTorch3D's softmax_rgb_blend / sigmoid_alpha_blend semantics, for any feature width) and order-independent
transparency (`alpha_blend`: per-face / per-vertex alphas composited front to back over the K faces).

The soft and alpha blends are weights over the K slots plus a background weight (`softmax_weights`,
`alpha_weights`), applied by `blend_with_weights`: computed once, they blend any number of feature groups (a lit
RGB image and a latent image of the same fragments)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch


class BlendParams(NamedTuple):
    """Soft blending parameters (PyTorch3D's): sigma (edge sharpness), gamma (depth sharpness), background_color."""

    sigma: float = 1e-4
    gamma: float = 1e-4
    background_color: torch.Tensor | Sequence[float] = (1.0, 1.0, 1.0)


def _background(background, C: int, like: torch.Tensor) -> torch.Tensor:
    bg = torch.as_tensor(0.0 if background is None else background, dtype=like.dtype, device=like.device).reshape(-1)
    if bg.numel() not in (1, C):
        raise ValueError(f"background must be a float or have {C} entries, got {bg.numel()}")
    return bg.expand(C)


def hard_blend(features: torch.Tensor, pix_to_face: torch.Tensor, background=None) -> torch.Tensor:
    """The nearest face's features (slot 0), `background` where no face covers the pixel -> (N, C, H, W)."""
    C = features.shape[-1]
    bg = _background(background, C, features)
    img = torch.where((pix_to_face[..., :1] >= 0), features[..., 0, :], bg)
    return img.permute(0, 3, 1, 2)


def sigmoid_alpha_blend(pix_to_face: torch.Tensor, dists: torch.Tensor, sigma: float = 1e-4) -> torch.Tensor:
    """Soft silhouette (N, 1, H, W): 1 - prod_k (1 - sigmoid(-dists_k / sigma)) over covered slots."""
    prob = torch.sigmoid(-dists / sigma) * (pix_to_face >= 0)
    return (1 - torch.prod(1 - prob, dim=-1))[:, None]


def softmax_blend(features: torch.Tensor, pix_to_face: torch.Tensor, zbuf: torch.Tensor, dists: torch.Tensor,
                  sigma: float = 1e-4, gamma: float = 1e-4, background=None, znear: float = 1.0,
                  zfar: float = 100.0, eps: float = 1e-10, return_alpha: bool = False) -> torch.Tensor:
    """Soft rasterizer blending (Liu et al. 2019; PyTorch3D's softmax_rgb_blend) for C-wide features.

    weights_k = sigmoid(-dists_k / sigma) * exp((z_inv_k - max z_inv) / gamma) with z_inv = (zfar - z) / (zfar -
    znear); the background takes weight exp((eps - max z_inv) / gamma). Returns (N, C, H, W), or (N, C + 1, H, W)
    with the soft alpha appended when return_alpha.
    """
    C = features.shape[-1]
    bg = _background(background, C, features)
    w, delta, denom, alpha = _softmax_terms(pix_to_face, zbuf, dists, sigma, gamma, _per_image(znear, zbuf.dtype),
                                            _per_image(zfar, zbuf.dtype), eps, features.dtype)
    img = ((w[..., None] * features).sum(-2) + delta * bg) / denom
    out = img.permute(0, 3, 1, 2)
    return torch.cat([out, alpha[:, None]], 1) if return_alpha else out


def softmax_weights(pix_to_face: torch.Tensor, zbuf: torch.Tensor, dists: torch.Tensor, sigma: float = 1e-4,
                    gamma: float = 1e-4, znear=1.0, zfar=100.0, eps: float = 1e-10):
    """The soft rasterizer's normalized blending weights (see `softmax_blend`): (w (N, H, W, K), w_bg (N, H, W, 1),
    alpha (N, H, W)), so that image = sum_k w_k f_k + w_bg * background for features of any width (computed once,
    applied to several feature groups with `blend_with_weights`)."""
    w, delta, denom, alpha = _softmax_terms(pix_to_face, zbuf, dists, sigma, gamma, _per_image(znear, zbuf.dtype),
                                            _per_image(zfar, zbuf.dtype), eps, zbuf.dtype)
    return w / denom, delta / denom, alpha


def _per_image(z, dtype):
    """A per-image znear / zfar tensor (N,) viewed against (N, H, W, K); floats as they are."""
    return z.to(dtype).reshape(-1, 1, 1, 1) if torch.is_tensor(z) else z


def _softmax_terms(pix_to_face, zbuf, dists, sigma, gamma, znear, zfar, eps, dtype):
    """(unnormalized weights, background weight, their sum, soft alpha) of the soft rasterizer's blend over the
    last (K) axis; znear / zfar are floats or tensors broadcastable against zbuf."""
    mask = (pix_to_face >= 0).to(dtype)
    prob = torch.sigmoid(-dists / sigma) * mask
    alpha = 1 - torch.prod(1 - prob, dim=-1)
    z_inv = (zfar - zbuf) / (zfar - znear) * mask
    z_inv_max = z_inv.amax(-1, keepdim=True).clamp_min(eps)
    w = prob * torch.exp((z_inv - z_inv_max) / gamma)
    delta = torch.exp((eps - z_inv_max) / gamma).clamp_min(eps)
    denom = w.sum(-1, keepdim=True) + delta
    return w, delta, denom, alpha


def alpha_weights(alphas: torch.Tensor, pix_to_face: torch.Tensor):
    """Front-to-back "over" compositing weights of the K depth-sorted slots: with a_k the slot's alpha (0 where
    the slot is empty), w_k = a_k prod_{j<k} (1 - a_j) and the background's w_bg = prod_k (1 - a_k).
    -> (w (N, H, W, K), w_bg (N, H, W, 1), alpha (N, H, W) = 1 - w_bg)."""
    a = torch.where(pix_to_face >= 0, alphas, torch.zeros((), dtype=alphas.dtype, device=alphas.device))
    trans = torch.cumprod(1 - a, dim=-1)  # transmittance after each slot
    before = torch.cat([torch.ones_like(trans[..., :1]), trans[..., :-1]], -1)
    w_bg = trans[..., -1:]
    return a * before, w_bg, 1 - w_bg[..., 0]


def blend_with_weights(features: torch.Tensor, w: torch.Tensor, w_bg: torch.Tensor, background=None) -> torch.Tensor:
    """sum_k w_k features_k + w_bg * background -> (N, C, H, W): one batched product over the K slots (no
    (N, H, W, K, C) temporary). features (N, H, W, K, C), w (N, H, W, K), w_bg (N, H, W, 1)."""
    bg = _background(background, features.shape[-1], features)
    img = (w.to(features.dtype)[..., None, :] @ features).squeeze(-2) + w_bg.to(features.dtype) * bg
    return img.permute(0, 3, 1, 2)


def alpha_blend(features: torch.Tensor, alphas: torch.Tensor, pix_to_face: torch.Tensor, background=None,
                return_alpha: bool = False) -> torch.Tensor:
    """Order-independent transparency: the K faces of each pixel (sorted front to back by the rasterizer)
    composited with the "over" operator, C = sum_k c_k a_k prod_{j<k} (1 - a_j) + background * prod_k (1 - a_k).

    features (N, H, W, K, C), alphas (N, H, W, K) in [0, 1] (per face, per vertex interpolated or per slot),
    pix_to_face (N, H, W, K) (empty slots, -1, are skipped). Differentiable w.r.t. features and alphas; alphas
    of 1 give the hard (nearest face) render. Only the K nearest faces take part: give faces_per_pixel enough
    for the depth complexity of the scene. Returns (N, C, H, W), or (N, C + 1, H, W) with the coverage
    1 - prod_k (1 - a_k) appended when return_alpha.
    """
    if alphas.shape != pix_to_face.shape:
        raise ValueError(f"alphas must have the shape of pix_to_face {tuple(pix_to_face.shape)}, got {tuple(alphas.shape)}")
    w, w_bg, alpha = alpha_weights(alphas.to(features.dtype), pix_to_face)
    out = blend_with_weights(features, w, w_bg, background)
    return torch.cat([out, alpha[:, None]], 1) if return_alpha else out


def slot_alphas(alpha, fragments, meshes=None) -> torch.Tensor:
    """(N, H, W, K) alpha of each rasterized slot from a float, a (F,) per-face tensor (read through pix_to_face)
    or an (N, H, W, K) per-slot tensor (as it is). Empty slots get 0."""
    p2f = fragments.pix_to_face
    like = fragments.bary_coords
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        return torch.full(p2f.shape, float(alpha), dtype=like.dtype, device=like.device) * (p2f >= 0)
    if not isinstance(alpha, torch.Tensor):
        raise TypeError(f"alpha must be a float, a (F,) per-face or an (N, H, W, K) per-slot tensor, got {type(alpha).__name__}")
    if alpha.shape == p2f.shape:
        return alpha * (p2f >= 0)
    F = meshes.faces_packed().shape[0] if meshes is not None else None
    if alpha.dim() != 1 or (F is not None and alpha.shape[0] != F):
        raise ValueError(f"alpha must be (F,) = ({F},) per face or {tuple(p2f.shape)} per slot, got {tuple(alpha.shape)}")
    return torch.where(p2f >= 0, alpha[p2f.clamp_min(0)], torch.zeros((), dtype=alpha.dtype, device=alpha.device))

# -- PyTorch3D's blending call shapes: (colors (N, H, W, K, C), fragments, blend_params) -> (N, H, W, C + 1) --------


def _rgba(rgb_nchw: torch.Tensor, alpha_nhw: torch.Tensor) -> torch.Tensor:
    return torch.cat([rgb_nchw.permute(0, 2, 3, 1), alpha_nhw[..., None].to(rgb_nchw.dtype)], -1)


def hard_rgb_blend(colors: torch.Tensor, fragments, blend_params: BlendParams) -> torch.Tensor:
    """The nearest face's color (background_color where no face), alpha 1 where covered (PyTorch3D's)."""
    bg = torch.as_tensor(blend_params.background_color, dtype=colors.dtype, device=colors.device)
    rgb = hard_blend(colors, fragments.pix_to_face, bg)
    return _rgba(rgb, fragments.pix_to_face[..., 0] >= 0)


def sigmoid_alpha_rgba(colors: torch.Tensor, fragments, blend_params: BlendParams) -> torch.Tensor:
    """The nearest slot's color (no background) and the soft silhouette alpha 1 - prod_k (1 - sigmoid(-d_k /
    sigma)) (PyTorch3D's sigmoid_alpha_blend)."""
    alpha = sigmoid_alpha_blend(fragments.pix_to_face, fragments.dists, blend_params.sigma)[:, 0]
    return _rgba(colors[..., 0, :].permute(0, 3, 1, 2), alpha)


def alpha_rgb_blend(colors: torch.Tensor, alphas: torch.Tensor, fragments, blend_params: BlendParams) -> torch.Tensor:
    """`alpha_blend` (front-to-back "over" of the K faces) in PyTorch3D's blending call shape: colors (N, H, W, K,
    C), alphas (N, H, W, K) -> (N, H, W, C + 1), the last channel the coverage 1 - prod_k (1 - alpha_k)."""
    bg = torch.as_tensor(blend_params.background_color, dtype=colors.dtype, device=colors.device)
    return alpha_blend(colors, alphas, fragments.pix_to_face, bg, return_alpha=True).permute(0, 2, 3, 1)


def softmax_rgb_blend(colors: torch.Tensor, fragments, blend_params: BlendParams, znear=1.0, zfar=100) -> torch.Tensor:
    """Soft rasterizer blend of the colors and the soft alpha (PyTorch3D's softmax_rgb_blend); znear / zfar may
    be per-image tensors."""
    bg = torch.as_tensor(blend_params.background_color, dtype=colors.dtype, device=colors.device)
    if torch.compiler.is_compiling():  # static shapes: every pixel
        out = softmax_blend(colors, fragments.pix_to_face, fragments.zbuf, fragments.dists, blend_params.sigma,
                            blend_params.gamma, bg, znear, zfar, return_alpha=True)
        return out.permute(0, 2, 3, 1)
    return _softmax_rgb_blend_covered(colors, fragments, blend_params, bg, znear, zfar)


def _softmax_rgb_blend_covered(colors, fragments, blend_params, bg, znear, zfar, eps: float = 1e-10) -> torch.Tensor:
    """softmax_rgb_blend computed at the pixels with a face only. A pixel without one has no weight but the
    background's, exp((eps - eps) / gamma) = 1: its value is exactly (background, alpha 0), written directly."""
    p2f = fragments.pix_to_face
    N, H, W, K = p2f.shape
    C = colors.shape[-1]
    bg = _background(bg, C, colors)
    out = torch.cat([bg.expand(N * H * W, C), colors.new_zeros(N * H * W, 1)], 1)
    idx = (p2f >= 0).any(-1).reshape(-1).nonzero().squeeze(1)
    if idx.numel() == 0:
        return out.view(N, H, W, C + 1)
    zbuf = fragments.zbuf.reshape(-1, K)[idx]
    owner = idx // (H * W)
    near, far = ((z.to(zbuf.dtype).reshape(-1)[owner][:, None] if torch.is_tensor(z) else z) for z in (znear, zfar))
    w, delta, denom, alpha = _softmax_terms(p2f.reshape(-1, K)[idx], zbuf, fragments.dists.reshape(-1, K)[idx],
                                            blend_params.sigma, blend_params.gamma, near, far, eps, colors.dtype)
    rgb = ((w[..., None] * colors.reshape(-1, K, C)[idx]).sum(-2) + delta * bg) / denom
    return out.index_put((idx,), torch.cat([rgb, alpha[:, None].to(rgb.dtype)], 1)).view(N, H, W, C + 1)
