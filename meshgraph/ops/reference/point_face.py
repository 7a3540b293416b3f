"""Pure-PyTorch definition of point_face_distance_idx: every point against every triangle of its element."""

from __future__ import annotations

import torch


def point_triangle_distance_sq(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Exact squared distance from points p (..., 3) to triangles (a, b, c) (..., 3), broadcasting: the closest point
    is found by the Voronoi-region test of Ericson's Real-Time Collision Detection (5.1.5); degenerate triangles
    fall back to their closest edge."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = p - b
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = p - c
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    eps = torch.finfo(p.dtype).tiny

    def seg(x, y):  # squared distance to the segment x-y
        xy = y - x
        t = (((p - x) * xy).sum(-1) / (xy * xy).sum(-1).clamp(min=eps)).clamp(0, 1)
        return (p - (x + t[..., None] * xy)).square().sum(-1)

    denom = (va + vb + vc)
    inside = (va >= 0) & (vb >= 0) & (vc >= 0) & (denom > eps)
    v = vb / denom.clamp(min=eps)
    w = vc / denom.clamp(min=eps)
    face = (p - (a + v[..., None] * ab + w[..., None] * ac)).square().sum(-1)
    edges = torch.minimum(torch.minimum(seg(a, b), seg(b, c)), seg(c, a))
    return torch.where(inside, face, edges)


def point_face_distance_idx(points, cloud_first, cloud_size, tris, mesh_first, mesh_size):
    """(point_to_face (P,), face_to_point (F,)): packed index of the closest triangle / point within each element
    (exact squared point-triangle distance, ties to the smaller index); -1 where the other set is empty."""
    p2f = torch.full((points.shape[0],), -1, dtype=torch.int64, device=points.device)
    f2p = torch.full((tris.shape[0],), -1, dtype=torch.int64, device=points.device)
    for p0, np_, f0, nf in zip(cloud_first.tolist(), cloud_size.tolist(), mesh_first.tolist(), mesh_size.tolist()):
        if np_ <= 0 or nf <= 0:
            continue
        p, t = points[p0 : p0 + np_], tris[f0 : f0 + nf]
        d = point_triangle_distance_sq(p[:, None, :], t[None, :, 0], t[None, :, 1], t[None, :, 2])  # (np, nf)
        p2f[p0 : p0 + np_] = d.argmin(1) + f0
        f2p[f0 : f0 + nf] = d.argmin(0) + p0
    return p2f, f2p
