"""point_mesh_face_distance (PyTorch3D's loss): squared distances between points and mesh triangles, both ways."""

from __future__ import annotations

import torch

from ..graph import GraphBatch


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


def point_mesh_face_distance(meshes: GraphBatch, points: torch.Tensor | GraphBatch,
                             lengths: torch.Tensor | None = None, chunk: int = 2**22) -> torch.Tensor:
    """PyTorch3D's point_mesh_face_distance: for every point the squared distance to the closest triangle of its
    mesh, averaged per cloud; for every triangle the squared distance to the closest point of its cloud, averaged
    per mesh; both summed over the batch and divided by N.

    Args:
        meshes: GraphBatch of N meshes; points: (N, P, 3) padded clouds (with `lengths`) or a GraphBatch of N clouds.
        chunk: (points x triangles) pairs evaluated at once per cloud (bounds memory; exact either way).

    Returns:
        Scalar loss, differentiable w.r.t. mesh vertices and points. Exact (every pair is evaluated, in chunks):
        O(P * F) per batch element.
    """
    if not isinstance(meshes, GraphBatch):
        raise TypeError(f"meshes must be a GraphBatch, got {type(meshes).__name__}")
    if isinstance(points, GraphBatch):
        clouds = points.pos_list()
    else:
        if not isinstance(points, torch.Tensor) or points.dim() != 3 or points.shape[2] != 3:
            raise ValueError("points must be (N, P, 3) or a GraphBatch of point clouds")
        n_pts = lengths.tolist() if lengths is not None else [points.shape[1]] * points.shape[0]
        clouds = [points[i, : n_pts[i]] for i in range(points.shape[0])]
    N = len(meshes)
    if len(clouds) != N:
        raise ValueError(f"meshes has {N} graphs but points has {len(clouds)} clouds")
    if N == 0:
        raise ValueError("meshes must not be empty")
    total = meshes.pos_packed().new_zeros(())
    for i in range(N):
        m = meshes[i]
        tri = m.pos_packed()[m.faces_packed()]  # (F, 3, 3)
        pts = clouds[i]
        if tri.shape[0] == 0 or pts.shape[0] == 0:
            raise ValueError(f"graph {i}: point_mesh_face_distance needs faces and points in every element")
        step = max(1, chunk // tri.shape[0])
        p2f = torch.cat([
            point_triangle_distance_sq(pts[s : s + step, None, :], tri[None, :, 0], tri[None, :, 1], tri[None, :, 2]).min(1).values
            for s in range(0, pts.shape[0], step)
        ])
        step_t = max(1, chunk // pts.shape[0])
        f2p = torch.cat([
            point_triangle_distance_sq(pts[None, :, :], tri[s : s + step_t, None, 0], tri[s : s + step_t, None, 1],
                                       tri[s : s + step_t, None, 2]).min(1).values
            for s in range(0, tri.shape[0], step_t)
        ])
        total = total + p2f.mean() + f2p.mean()
    return total / N
