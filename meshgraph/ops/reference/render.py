"""Pure-PyTorch definitions of the rendering ops: brute force, every pixel against every point / face.

The conventions are PyTorch3D's: NDC +x points left, +y up, the shorter image side spans [-1, 1]; row 0 of an
image is its top (largest y), column 0 its left (largest x); z is the view depth.
"""

from __future__ import annotations

import torch


def pixel_centers(H: int, W: int, dtype=torch.float32, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """NDC centres of the pixel grid: ys (H,) top to bottom, xs (W,) left to right."""

    def axis(S1, S2):
        rng = 2.0 * S1 / S2 if S1 > S2 else 2.0
        rng_t = torch.tensor(rng, dtype=dtype)
        off = rng_t / 2
        i = torch.arange(S1, dtype=dtype)
        return (-off + (rng_t * i + off) / S1).flip(0).to(device)

    return axis(H, W), axis(W, H)


def _clouds(first: torch.Tensor, size: torch.Tensor):
    return [(int(f), int(s)) for f, s in zip(first.tolist(), size.tolist())]


def rasterize_points(points, cloud_first, cloud_size, radius, image_height, image_width, K, bin_size=0):
    """idx, zbuf, dists (N, H, W, K): for every pixel the K covering points of its cloud with the smallest
    (z, packed index); a point covers a pixel when its squared NDC distance is < radius^2 and z >= 0."""
    H, W = image_height, image_width
    N = cloud_first.shape[0]
    dev, dt = points.device, points.dtype
    idx = torch.full((N, H, W, K), -1, dtype=torch.int64, device=dev)
    zbuf = torch.full((N, H, W, K), -1, dtype=dt, device=dev)
    dists = torch.full((N, H, W, K), -1, dtype=dt, device=dev)
    ys, xs = pixel_centers(H, W, dt, dev)
    for n, (f, s) in enumerate(_clouds(cloud_first, cloud_size)):
        if s <= 0:
            continue
        p, r = points[f : f + s], radius[f : f + s]
        d2 = (p[:, 0] - xs[None, :, None]).square() + (p[:, 1] - ys[:, None, None]).square()  # (H, W, s)
        ok = (d2 < r.square()) & (p[:, 2] >= 0) & p.isfinite().all(1) & r.isfinite() & (r > 0)
        key = torch.where(ok, p[:, 2], torch.inf).expand(H, W, s)
        order = torch.sort(key, dim=-1, stable=True).indices[..., :K]
        take = order.shape[-1]
        valid = torch.gather(ok, 2, order)
        idx[n, ..., :take] = torch.where(valid, order + f, -1)
        zbuf[n, ..., :take] = torch.where(valid, p[:, 2][order], -1)
        dists[n, ..., :take] = torch.where(valid, torch.gather(d2, 2, order), -1)
    return idx, zbuf, dists


def rasterize_points_backward(points, idx, grad_zbuf, grad_dists):
    """d/d points of <grad_zbuf, zbuf> + <grad_dists, dists> for fixed idx."""
    N, H, W, K = idx.shape
    ys, xs = pixel_centers(H, W, points.dtype, points.device)
    valid = idx >= 0
    p = points[idx.clamp_min(0)]  # (N, H, W, K, 3)
    gd = torch.where(valid, grad_dists, 0)
    g = torch.stack(
        [2 * (p[..., 0] - xs[None, None, :, None]) * gd, 2 * (p[..., 1] - ys[None, :, None, None]) * gd,
         torch.where(valid, grad_zbuf, 0)], -1)
    return torch.zeros_like(points).index_add_(0, idx.clamp_min(0).reshape(-1), g.reshape(-1, 3).to(points.dtype))


def composite_points(features, alphas, idx, mode):
    """(N, C, H, W) = sum_k w_k features[idx_k]; w per mode 0 alpha (front-to-back over), 1 normalized (by
    max(sum alpha, 1e-4)), 2 weighted sum. features (P, C); alphas, idx (N, H, W, K); idx outside [0, P) skipped."""
    P = features.shape[0]
    valid = (idx >= 0) & (idx < P)
    a = torch.where(valid, alphas, 0).to(features.dtype)
    if mode == 0:
        trans = torch.cumprod(torch.cat([torch.ones_like(a[..., :1]), 1 - a[..., :-1]], -1), -1)
        w = a * trans
    elif mode == 1:
        w = a / a.sum(-1, keepdim=True).clamp_min(1e-4)
    else:
        w = a
    f = features[idx.clamp(0, max(P - 1, 0))] if P else features.new_zeros((*idx.shape, features.shape[1]))
    out = (w[..., None] * torch.where(valid[..., None], f, 0)).sum(-2)  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def composite_points_backward(grad_out, features, alphas, idx, mode):
    """(grad_features, grad_alphas): the vector-Jacobian product of composite_points (autograd of the above)."""
    with torch.enable_grad():
        f = features.detach().requires_grad_(True)
        a = alphas.detach().requires_grad_(True)
        out = composite_points(f, a, idx, mode)
        gf, ga = torch.autograd.grad(out, (f, a), grad_out, allow_unused=True)
    return (torch.zeros_like(features) if gf is None else gf), (torch.zeros_like(alphas) if ga is None else ga)
