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


_COMPOSITE_MODES = {"alpha": 0, "norm_weighted": 1, "weighted_sum": 2}


def composite_points(features, alphas, idx, mode):
    """(N, C, H, W) = sum_k w_k features[idx_k]; w per mode "alpha" (0: front-to-back over), "norm_weighted" (1:
    normalized by max(sum alpha, 1e-4)), "weighted_sum" (2). features (P, C); alphas, idx (N, H, W, K); idx
    outside [0, P) skipped. mode: the op's string or its code."""
    mode = _COMPOSITE_MODES.get(mode, mode)
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


def _edge(px, py, ax, ay, bx, by):
    return (px - ax) * (by - ay) - (py - ay) * (bx - ax)


def _segment_dist2(px, py, ax, ay, bx, by):
    ex, ey = bx - ax, by - ay
    l2 = ex * ex + ey * ey
    degenerate = l2 <= 1e-8
    t = ((ex * (px - ax) + ey * (py - ay)) / torch.where(degenerate, 1.0, l2)).clamp(0, 1)
    qx, qy = px - ax - t * ex, py - ay - t * ey
    return torch.where(degenerate, (px - bx).square() + (py - by).square(), qx * qx + qy * qy)


def face_fragments(fv, px, py, perspective_correct, clip_barycentric_coords):
    """The per-(pixel, face) quantities of rasterize_meshes, broadcast over any leading shape.

    fv (..., 3, 3) face vertices in raster space, px, py pixel centres (broadcastable to fv[..., 0, 0]).
    Returns area A, barycentrics b (..., 3), pz, squared edge distance d and the `inside` mask."""
    x0, y0, z0 = fv[..., 0, 0], fv[..., 0, 1], fv[..., 0, 2]
    x1, y1, z1 = fv[..., 1, 0], fv[..., 1, 1], fv[..., 1, 2]
    x2, y2, z2 = fv[..., 2, 0], fv[..., 2, 1], fv[..., 2, 2]
    A = _edge(x2, y2, x0, y0, x1, y1)
    safe_A = torch.where(A.abs() > 1e-8, A, 1.0)
    w = torch.stack([_edge(px, py, x1, y1, x2, y2), _edge(px, py, x2, y2, x0, y0), _edge(px, py, x0, y0, x1, y1)], -1)
    w = w / safe_A[..., None]
    z = torch.stack([z0, z1, z2], -1)
    if perspective_correct:
        t = w * torch.stack([z1 * z2, z0 * z2, z0 * z1], -1)
        w = t / t.sum(-1, keepdim=True).clamp_min(1e-8)
    inside = (w > 0).all(-1)
    b = w
    if clip_barycentric_coords:
        c = w.clamp_min(0)
        b = c / c.sum(-1, keepdim=True).clamp_min(1e-5)
    pz = (b * z).sum(-1)
    d = torch.minimum(torch.minimum(_segment_dist2(px, py, x0, y0, x1, y1), _segment_dist2(px, py, x0, y0, x2, y2)),
                      _segment_dist2(px, py, x1, y1, x2, y2))
    return A, b, pz, d, inside


def rasterize_meshes(face_verts, mesh_first, mesh_size, image_height, image_width, blur_radius, K, bin_size=0,
                     perspective_correct=False, clip_barycentric_coords=False, cull_backfaces=False):
    """pix_to_face, zbuf, bary (…, 3), dists (N, H, W, K): every pixel against every face of its mesh; the K hits
    with the smallest (depth, face index). A hit: a finite, non-degenerate (|area| > 1e-8) face, front-facing when
    culling, the pixel within its xy bounding box grown by sqrt(blur_radius), depth >= 0, and the pixel inside or
    (blur) with squared edge distance < blur_radius."""
    H, W = image_height, image_width
    N = mesh_first.shape[0]
    dev, dt = face_verts.device, face_verts.dtype
    p2f = torch.full((N, H, W, K), -1, dtype=torch.int64, device=dev)
    zbuf = torch.full((N, H, W, K), -1, dtype=dt, device=dev)
    bary = torch.full((N, H, W, K, 3), -1, dtype=dt, device=dev)
    dists = torch.full((N, H, W, K), -1, dtype=dt, device=dev)
    ys, xs = pixel_centers(H, W, dt, dev)
    px, py = xs[None, :, None], ys[:, None, None]
    for n, (f, s) in enumerate(_clouds(mesh_first, mesh_size)):
        if s <= 0:
            continue
        fv = face_verts[f : f + s]
        A, b, pz, d, inside = face_fragments(fv[None, None], px, py, perspective_correct, clip_barycentric_coords)
        ok_face = fv.isfinite().flatten(1).all(1) & (A.abs() > 1e-8)[0, 0]
        if cull_backfaces:
            ok_face &= A[0, 0] >= 0
        m = blur_radius**0.5
        xy = fv[..., :2]
        lo, hi = xy.amin(1), xy.amax(1)  # (s, 2)
        in_box = ((px >= lo[:, 0] - m) & (px <= hi[:, 0] + m) & (py >= lo[:, 1] - m) & (py <= hi[:, 1] + m))
        ok = ok_face & in_box & (pz >= 0) & (inside | (d < blur_radius))
        key = torch.where(ok, pz, torch.inf)
        order = torch.sort(key, dim=-1, stable=True).indices[..., :K]
        take = order.shape[-1]
        valid = torch.gather(ok, 2, order)
        p2f[n, ..., :take] = torch.where(valid, order + f, -1)
        zbuf[n, ..., :take] = torch.where(valid, torch.gather(pz, 2, order), -1)
        dists[n, ..., :take] = torch.where(valid, torch.gather(torch.where(inside, -d, d), 2, order), -1)
        bsel = torch.gather(b, 2, order[..., None].expand(-1, -1, -1, 3))
        bary[n, ..., :take, :] = torch.where(valid[..., None], bsel, -1)
    return p2f, zbuf, bary, dists


def mesh_slot_fragments(face_verts, pix_to_face, perspective_correct, clip_barycentric_coords):
    """(zbuf, bary, dists) of the given pixel slots recomputed differentiably from face_verts (0 where empty)."""
    N, H, W, K = pix_to_face.shape
    ys, xs = pixel_centers(H, W, face_verts.dtype, face_verts.device)
    valid = pix_to_face >= 0
    fv = face_verts[pix_to_face.clamp_min(0)]  # (N, H, W, K, 3, 3)
    _, b, pz, d, inside = face_fragments(fv, xs[None, None, :, None], ys[None, :, None, None], perspective_correct,
                                         clip_barycentric_coords)
    dist = torch.where(inside, -d, d)
    return torch.where(valid, pz, 0), torch.where(valid[..., None], b, 0), torch.where(valid, dist, 0)


def rasterize_meshes_backward(face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, perspective_correct,
                              clip_barycentric_coords):
    """d/d face_verts of <grad_zbuf, zbuf> + <grad_bary, bary> + <grad_dists, dists> for fixed pix_to_face."""
    with torch.enable_grad():
        fv = face_verts.detach().requires_grad_(True)
        z, b, d = mesh_slot_fragments(fv, pix_to_face, perspective_correct, clip_barycentric_coords)
        total = (z * grad_zbuf).sum() + (b * grad_bary).sum() + (d * grad_dists).sum()
        (g,) = torch.autograd.grad(total, fv)
    return g


def interpolate_face_attributes(pix_to_face, bary, values, faces=None):
    """(S..., D): sum_i bary_i * values[row(f, i)], row = faces[f, i] (values (V, D)) or (f, i) of (F, 3, D)."""
    valid = pix_to_face >= 0
    f = pix_to_face.clamp_min(0)
    corners = values[faces[f]] if faces is not None else values[f]  # (S..., 3, D)
    return torch.where(valid[..., None], (bary[..., None] * corners).sum(-2), 0)


def interpolate_face_attributes_backward(grad, pix_to_face, bary, values, faces=None):
    """(grad_bary, grad_values) of the above (autograd of the definition)."""
    with torch.enable_grad():
        b = bary.detach().requires_grad_(True)
        v = values.detach().requires_grad_(True)
        gb, gv = torch.autograd.grad(interpolate_face_attributes(pix_to_face, b, v, faces), (b, v), grad, allow_unused=True)
    return (torch.zeros_like(bary) if gb is None else gb), (torch.zeros_like(values) if gv is None else gv)
