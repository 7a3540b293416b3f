"""Reference for add_points_to_volumes: splat points and their features into voxel grids (PyTorch3D's
points_to_volumes), written with plain tensor ops (one scatter_add per voxel corner). Differentiable by autograd,
so the backward's reference is torch.autograd.grad of this function.

Contract (csrc/ops/add_points_to_volumes/add_points_to_volumes.h): per axis the voxel coordinate is
loc = (p + 1) / 2 * (g - 1) (align_corners) or (p + 1) / 2 * g - 1/2; "trilinear" votes for floor(loc) + {0, 1}
with weights 1 - r and r (r = loc - floor(loc)); "nearest" for round(loc) (half away from zero) with weight 1;
votes outside the element's grid (grid_sizes[n] = (D_n, H_n, W_n)) and points with mask 0 or non-finite
coordinates are dropped. Outputs are the input volumes plus the votes times point_weight.
"""

from __future__ import annotations

import torch


def _round_half_away(x: torch.Tensor) -> torch.Tensor:
    t = x.trunc()
    return t + torch.where((x - t).abs() >= 0.5, x.sign(), torch.zeros_like(x))


def add_points_to_volumes(points_3d, points_features, volume_densities, volume_features, grid_sizes, mask,
                          point_weight: float, align_corners: bool, mode: str):
    """(densities (N, 1, D, H, W), features (N, C, D, H, W)): the inputs plus the points' votes."""
    if mode not in ("trilinear", "nearest"):
        raise ValueError(f"mode must be 'trilinear' or 'nearest', got {mode!r}")
    trilinear = mode == "trilinear"
    N, P, _ = points_3d.shape
    C = points_features.shape[2]
    D, H, W = volume_densities.shape[2:]
    acc = torch.promote_types(points_3d.dtype, torch.float32)
    p = points_3d.to(acc)
    g = grid_sizes.flip(1).to(acc)[:, None]  # (N, 1, 3) in x, y, z order
    loc = (p + 1) * 0.5 * (g - 1) if align_corners else (p + 1) * 0.5 * g - 0.5
    keep = ((loc >= -1) & (loc < g)).all(2) & (mask != 0)
    safe = torch.where(keep[..., None], loc, torch.zeros_like(loc))
    if trilinear:
        base = safe.detach().floor()
        frac = safe - base
    else:
        base = _round_half_away(safe.detach())
        frac = torch.zeros_like(safe)
    dens = volume_densities.to(acc).reshape(N, D * H * W).clone()
    feat = volume_features.to(acc).reshape(N, C, D * H * W).clone()
    f = points_features.to(acc).transpose(1, 2)  # (N, C, P)
    for k in range(8 if trilinear else 1):
        up = torch.tensor([(k >> 2) & 1, (k >> 1) & 1, k & 1], dtype=acc, device=p.device)
        corner = base + up
        w = torch.where(up > 0, frac, 1 - frac).prod(2) if trilinear else torch.ones_like(frac[..., 0])
        valid = ((corner >= 0) & (corner < g)).all(2) & keep
        c = torch.where(valid[..., None], corner, torch.zeros_like(corner)).long()
        lin = (c[..., 2] * H + c[..., 1]) * W + c[..., 0]  # (N, P)
        w = torch.where(valid, w * point_weight, torch.zeros_like(w))
        dens = dens.scatter_add(1, lin, w)
        contrib = torch.where(valid[:, None], f * w[:, None], torch.zeros_like(f))
        feat = feat.scatter_add(2, lin[:, None].expand(N, C, P), contrib)
    dt = points_3d.dtype
    return dens.reshape(N, 1, D, H, W).to(dt), feat.reshape(N, C, D, H, W).to(dt)


def add_points_to_volumes_backward(grad_densities, grad_features, points_3d, points_features, grid_sizes, mask,
                                   point_weight: float, align_corners: bool, mode: str):
    """(grad_points_3d, grad_points_features) by autograd through the reference (zero points grad for nearest)."""
    with torch.enable_grad():
        p = points_3d.detach().to(torch.promote_types(points_3d.dtype, torch.float32)).requires_grad_(True)
        f = points_features.detach().to(p.dtype).requires_grad_(True)
        dens = torch.zeros(grad_densities.shape, dtype=p.dtype, device=p.device)
        feat = torch.zeros(grad_features.shape, dtype=p.dtype, device=p.device)
        d, v = add_points_to_volumes(p, f, dens, feat, grid_sizes, mask.to(p.dtype), point_weight, align_corners, mode)
        pairs = [(o, g.to(p.dtype)) for o, g in ((d, grad_densities), (v, grad_features)) if o.requires_grad]
        gp, gf = torch.autograd.grad([o for o, _ in pairs], (p, f), [g for _, g in pairs], allow_unused=True)
    gp = torch.zeros_like(p) if gp is None else gp
    gf = torch.zeros_like(f) if gf is None else gf
    return gp.to(points_3d.dtype), gf.to(points_features.dtype)
