"""Blending of per-slot mesh features (N, H, W, K, C) into images (N, C, H, W): hard (nearest face) and soft
(PyTorch3D's softmax_rgb_blend / sigmoid_alpha_blend semantics, for any feature width)."""

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
    mask = (pix_to_face >= 0).to(features.dtype)
    prob = torch.sigmoid(-dists / sigma) * mask
    alpha = 1 - torch.prod(1 - prob, dim=-1)
    if torch.is_tensor(zfar):  # one per image
        zfar = zfar.to(zbuf.dtype).reshape(-1, 1, 1, 1)
    if torch.is_tensor(znear):
        znear = znear.to(zbuf.dtype).reshape(-1, 1, 1, 1)
    z_inv = (zfar - zbuf) / (zfar - znear) * mask
    z_inv_max = z_inv.amax(-1, keepdim=True).clamp_min(eps)
    w = prob * torch.exp((z_inv - z_inv_max) / gamma)
    delta = torch.exp((eps - z_inv_max) / gamma).clamp_min(eps)
    denom = w.sum(-1, keepdim=True) + delta
    img = ((w[..., None] * features).sum(-2) + delta * bg) / denom
    out = img.permute(0, 3, 1, 2)
    return torch.cat([out, alpha[:, None]], 1) if return_alpha else out


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


def softmax_rgb_blend(colors: torch.Tensor, fragments, blend_params: BlendParams, znear=1.0, zfar=100) -> torch.Tensor:
    """Soft rasterizer blend of the colors and the soft alpha (PyTorch3D's softmax_rgb_blend); znear / zfar may
    be per-image tensors."""
    bg = torch.as_tensor(blend_params.background_color, dtype=colors.dtype, device=colors.device)
    out = softmax_blend(colors, fragments.pix_to_face, fragments.zbuf, fragments.dists, blend_params.sigma,
                        blend_params.gamma, bg, znear, zfar, return_alpha=True)
    return out.permute(0, 2, 3, 1)
