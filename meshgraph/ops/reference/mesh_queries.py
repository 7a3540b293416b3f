"""Pure-PyTorch definitions of winding_number and ray_mesh_intersect_idx: every query against every triangle of
its element (O(queries x faces) memory per element; the specification the BVH kernels meet)."""

from __future__ import annotations

import math

import torch


def triangle_solid_angle(q: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Signed solid angle of triangles (a, b, c) (..., 3) seen from q (..., 3), broadcasting (Van Oosterom and
    Strackee): positive when q lies on the side the normal (b - a) x (c - a) points away from."""
    x, y, z = a - q, b - q, c - q
    lx, ly, lz = x.norm(dim=-1), y.norm(dim=-1), z.norm(dim=-1)
    det = (x * torch.linalg.cross(y, z, dim=-1)).sum(-1)
    den = lx * ly * lz + (x * y).sum(-1) * lz + (x * z).sum(-1) * ly + (y * z).sum(-1) * lx
    return 2 * torch.atan2(det, den)


def winding_number(points, cloud_first, cloud_size, verts, faces, mesh_first, mesh_size):
    """(P,): sum over the element's triangles of their solid angle at each point / (4 pi); 0 for points of no
    element or of an element without faces. Half types computed in float32."""
    acc = torch.float64 if points.dtype == torch.float64 else torch.float32
    out = torch.zeros(points.shape[0], dtype=acc, device=points.device)
    v = verts.to(acc)
    for p0, np_, f0, nf in zip(cloud_first.tolist(), cloud_size.tolist(), mesh_first.tolist(), mesh_size.tolist()):
        if np_ <= 0 or nf <= 0:
            continue
        t = v[faces[f0 : f0 + nf]]  # (nf, 3, 3)
        q = points[p0 : p0 + np_].to(acc)[:, None, :]
        out[p0 : p0 + np_] = triangle_solid_angle(q, t[None, :, 0], t[None, :, 1], t[None, :, 2]).sum(1) / (4 * math.pi)
    return out.to(points.dtype)


def ray_triangle_t(o: torch.Tensor, d: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor):
    """Moller-Trumbore, broadcasting over (..., 3): (t, u, v, hit) for rays o + t d and triangles (a, b, c); the
    hit point is (1 - u - v) a + u b + v c. hit: det != 0, u >= 0, v >= 0, u + v <= 1, t > 0 (both sides)."""
    o, d, a, b, c = torch.broadcast_tensors(o, d, a, b, c)
    e1, e2 = b - a, c - a
    p = torch.linalg.cross(d, e2, dim=-1)
    det = (e1 * p).sum(-1)
    ok = det != 0
    inv = 1 / torch.where(ok, det, torch.ones_like(det))
    s = o - a
    u = (s * p).sum(-1) * inv
    q = torch.linalg.cross(s, e1, dim=-1)
    v = (d * q).sum(-1) * inv
    t = (e2 * q).sum(-1) * inv
    hit = ok & (u >= 0) & (u <= 1) & (v >= 0) & (u + v <= 1) & (t > 0)
    return t, u, v, hit


def ray_mesh_intersect_idx(origins, directions, ray_first, ray_size, tris, mesh_first, mesh_size):
    """(t (R,), face (R,)): the nearest hit (t > 0, both sides) of every ray within its element, ties to the
    smaller face index; t = inf and face = -1 for misses. Half types computed in float32, t in the input dtype."""
    acc = torch.float64 if origins.dtype == torch.float64 else torch.float32
    t_out = torch.full((origins.shape[0],), math.inf, dtype=acc, device=origins.device)
    face = torch.full((origins.shape[0],), -1, dtype=torch.int64, device=origins.device)
    tr = tris.to(acc)
    for r0, nr, f0, nf in zip(ray_first.tolist(), ray_size.tolist(), mesh_first.tolist(), mesh_size.tolist()):
        if nr <= 0 or nf <= 0:
            continue
        o, d = origins[r0 : r0 + nr].to(acc)[:, None], directions[r0 : r0 + nr].to(acc)[:, None]
        t, _, _, hit = ray_triangle_t(o, d, tr[None, f0 : f0 + nf, 0], tr[None, f0 : f0 + nf, 1], tr[None, f0 : f0 + nf, 2])
        t = torch.where(hit, t, math.inf)
        best = t.min(1).values
        # ties to the smaller index: the first column reaching the minimum
        first = torch.where(hit & (t == best[:, None]), torch.arange(nf, device=t.device), nf).min(1).values
        any_hit = torch.isfinite(best)
        t_out[r0 : r0 + nr] = best
        face[r0 : r0 + nr] = torch.where(any_hit, first + f0, -1)
    return t_out.to(origins.dtype), face
