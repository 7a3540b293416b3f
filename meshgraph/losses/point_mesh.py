"""point_mesh_face_distance (PyTorch3D's loss): squared distances between points and mesh triangles, both ways."""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._utils import check_lengths, first_from_counts, index_from_counts

# the exact distance the kernels' pairs are scored with; defined once, beside the kernel's reference
from ..ops.reference.point_face import point_triangle_distance_sq  # noqa: F401  (part of this module's API)


def _as_segments(tris: torch.Tensor, fsizes: torch.Tensor, min_triangle_area: float):
    """PyTorch3D treats a triangle of area < min_triangle_area as its three sides (distance to the closest side,
    never to the interior). Such a triangle is replaced by the degenerate triangles (a, b, b), (b, c, c), (c, a, a),
    whose distance is the distance to that side. Returns (expanded tris, per-mesh counts, owner: original face
    of each expanded one, or None when no triangle is small)."""
    if not min_triangle_area > 0:
        return tris, fsizes, None
    area = torch.linalg.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0], dim=1).norm(dim=1) / 2
    small = area < min_triangle_area
    if not bool(small.any()):
        return tris, fsizes, None
    reps = torch.where(small, 3, 1)
    owner = index_from_counts(reps)
    k = torch.arange(owner.shape[0], device=tris.device) - first_from_counts(reps)[owner]
    corners = torch.where(small[owner, None], torch.stack([k, (k + 1) % 3, (k + 1) % 3], 1),
                          torch.arange(3, device=tris.device)[None])
    expanded = tris[owner[:, None], corners]
    face_mesh = index_from_counts(fsizes, tris.shape[0])
    return expanded, torch.bincount(face_mesh[owner], minlength=fsizes.shape[0]), owner


def _batches(meshes, points, lengths):
    """(meshes as a GraphBatch, packed points (P, 3), points per cloud (N,)) from the inputs both losses take."""
    from ..structures import as_graph_batch

    try:
        meshes = as_graph_batch(meshes)
    except TypeError:
        raise TypeError(f"meshes must be a GraphBatch or Meshes, got {type(meshes).__name__}") from None
    N = len(meshes)
    if N == 0:
        raise ValueError("meshes must not be empty")
    if not torch.is_tensor(points):
        try:
            points = as_graph_batch(points)
        except TypeError:
            raise ValueError("points must be (N, P, 3) or a batch of point clouds") from None
        if len(points) != N:
            raise ValueError("meshes and pointclouds must be equal sized batches")
        pts = points.pos_packed()
        sizes = points.num_verts_per_graph.to(pts.device)
    else:
        if points.dim() != 3 or points.shape[2] != 3:
            raise ValueError("points must be (N, P, 3) or a batch of point clouds")
        lengths = check_lengths(lengths, "lengths", points.shape[0], points.shape[1], points.device)
        mask = torch.arange(points.shape[1], device=points.device)[None, :] < lengths[:, None]
        pts, sizes = points[mask], lengths
    if sizes.shape[0] != N:
        raise ValueError(f"meshes has {N} graphs but points has {sizes.shape[0]} clouds")
    if pts.dtype != meshes.pos.dtype:
        raise TypeError(f"points ({pts.dtype}) and mesh vertices ({meshes.pos.dtype}) must share a dtype")
    return meshes, pts, sizes


def _both_ways(pts, sizes, tris, fsizes, what: str, elements: str, min_triangle_area: float = 0.0) -> torch.Tensor:
    """Sum over the batch of (mean over each cloud's points of the squared distance to the closest element of
    its mesh + mean over each mesh's elements (triangles (F, 3, 3); segments as (a, b, b)) of the squared
    distance to the closest point of its cloud), divided by N."""
    from ..ops.point_face_distance import closest_point_face_pairs

    N = sizes.shape[0]
    for i, (np_, nf) in enumerate(zip(sizes.tolist(), fsizes.tolist())):
        if np_ == 0 or nf == 0:
            raise ValueError(f"graph {i}: {what} needs {elements} and points in every element")
    tx, fx, owner = _as_segments(tris, fsizes, min_triangle_area)
    p2f, f2p = closest_point_face_pairs(pts, sizes, tx, fx)
    t = tx[p2f]
    d_p = point_triangle_distance_sq(pts, t[:, 0], t[:, 1], t[:, 2])
    d_f = point_triangle_distance_sq(pts[f2p], tx[:, 0], tx[:, 1], tx[:, 2])
    if owner is not None:  # a small triangle's distance is the least of its sides'
        d_f = d_f.new_full((tris.shape[0],), float("inf")).scatter_reduce(0, owner, d_f, "amin")
    gp, gf = index_from_counts(sizes, pts.shape[0]), index_from_counts(fsizes, tris.shape[0])
    per_p = torch.zeros(N, dtype=d_p.dtype, device=pts.device).index_add(0, gp, d_p) / sizes
    per_f = torch.zeros(N, dtype=d_f.dtype, device=pts.device).index_add(0, gf, d_f) / fsizes
    return (per_p + per_f).sum() / N


class PointFaceDistances(NamedTuple):
    """point_mesh_face_distance(..., reduction=None): per point the squared distance to the closest triangle of
    its mesh (differentiable) and that triangle's packed face index (-1 where the mesh has no faces; also for
    padding)."""

    dists: torch.Tensor
    face: torch.Tensor


def _per_point(meshes, points, lengths, min_triangle_area) -> PointFaceDistances:
    from ..ops.point_face_distance import closest_point_face_pairs

    padded = torch.is_tensor(points)
    meshes, pts, sizes = _batches(meshes, points, lengths)
    tris = meshes.pos_packed()[meshes.faces_packed().long()]
    fsizes = meshes.num_faces_per_graph.to(tris.device)
    tx, fx, owner = _as_segments(tris, fsizes, min_triangle_area)
    p2f, _ = closest_point_face_pairs(pts, sizes, tx, fx)
    t = tx[p2f.clamp(min=0)] if tx.shape[0] else pts.new_zeros(pts.shape[0], 3, 3)
    d = torch.where(p2f >= 0, point_triangle_distance_sq(pts, t[:, 0], t[:, 1], t[:, 2]), float("inf"))
    face = p2f if owner is None else torch.where(p2f >= 0, owner[p2f.clamp(min=0)], -1)
    if not padded:
        return PointFaceDistances(d, face)
    N, P = points.shape[:2]
    mask = torch.arange(P, device=pts.device)[None, :] < sizes[:, None]
    dp = d.new_zeros(N, P).masked_scatter(mask, d)
    fp = face.new_full((N, P), -1).masked_scatter(mask, face)
    return PointFaceDistances(dp, fp)


def point_mesh_face_distance(meshes, points, lengths: torch.Tensor | None = None,
                             min_triangle_area: float = 0.0, reduction: str | None = "mean"):
    """PyTorch3D's point_mesh_face_distance: for every point the squared distance to the closest triangle of its
    mesh, averaged per cloud; for every triangle the squared distance to the closest point of its cloud, averaged
    per mesh; both summed over the batch and divided by N.

    Args:
        meshes: a batch of N meshes (GraphBatch, Meshes, or PyTorch3D's own Meshes).
        points: (N, P, 3) padded clouds (with `lengths`) or a batch of N clouds (GraphBatch, Pointclouds,
            PyTorch3D's Pointclouds).
        min_triangle_area: triangles smaller than this count only by their sides (PyTorch3D's rule; its default
            there is 5e-3). 0: exact distances to every triangle.

        reduction: "mean" (PyTorch3D's loss) or None (meshgraph's extension, PyTorch3D #1083 / #2008): no
            loss but PointFaceDistances(dists, face), per point the squared distance to its closest triangle
            (differentiable w.r.t. points and vertices) and that face's packed index; (N, P) with 0 / -1 at
            padding for padded `points`, packed (P,) for a batch of clouds. Meshes without faces give inf / -1.

    Returns:
        Scalar loss, differentiable w.r.t. mesh vertices and points. The closest pairs come from the
        `point_face_distance_idx` kernel (a grid search per element on CPU), their distances are recomputed
        differentiably (O(P + F) memory). With reduction=None: PointFaceDistances.
    """
    if reduction is None:
        return _per_point(meshes, points, lengths, min_triangle_area)
    if reduction != "mean":
        raise ValueError(f'reduction must be "mean" or None, got {reduction!r}')
    meshes, pts, sizes = _batches(meshes, points, lengths)
    tris = meshes.pos_packed()[meshes.faces_packed().long()]  # (F, 3, 3)
    return _both_ways(pts, sizes, tris, meshes.num_faces_per_graph.to(tris.device), "point_mesh_face_distance",
                      "faces", min_triangle_area)


def point_mesh_edge_distance(meshes, points, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """PyTorch3D's point_mesh_edge_distance: as point_mesh_face_distance with the meshes' unique edges
    (`edges_packed()`, zero-length sides included) in place of their triangles (squared point-segment distances,
    averaged per cloud and per mesh, summed, divided by N). Same inputs; differentiable the same way (each
    segment is the degenerate triangle (a, b, b) of the same kernel)."""
    meshes, pts, sizes = _batches(meshes, points, lengths)
    e = meshes.edges_packed()
    segs = meshes.pos_packed()[e[:, [0, 1, 1]]]  # (E, 3, 3)
    counts = meshes.num_edges_per_mesh().to(device=segs.device, dtype=torch.int64)
    return _both_ways(pts, sizes, segs, counts, "point_mesh_edge_distance", "edges")
