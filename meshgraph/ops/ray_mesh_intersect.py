"""ray_mesh_intersect: the first triangle every ray meets (op ray_mesh_intersect_idx; kernels:
csrc/ops/ray_mesh_intersect/, one traversal per ray of the BVH of op mesh_bvh, on CPU and CUDA; pass a prebuilt
MeshBVH to cast many batches of rays without rebuilding it). The op returns the hit face, its ray parameter and
barycentrics. Where a gradient is wanted (grad mode on and the vertices, origins or directions requiring it), the
distances and barycentrics are recomputed from the hit face in torch (closed-form Moller-Trumbore over the hit
faces only: O(rays)), so they are differentiable w.r.t. the vertices, the origins and the directions; otherwise
the kernel's are used (the same formula: equal up to rounding)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, first_from_counts
from .mesh_bvh import MeshBVH, check_bvh
from .mesh_queries import _mesh_tensors, _query_rows, mesh_bvh

_extension.load()


class RayHits(NamedTuple):
    """ray_mesh_intersect's result, each of the rays' leading shape: distances (Euclidean, origin to hit; +inf
    for a miss), face (packed face index, -1 for a miss), barycentrics (..., 3) of the hit point w.r.t. the face's
    vertices in face order (zeros for a miss)."""

    distances: torch.Tensor
    face: torch.Tensor
    barycentrics: torch.Tensor


def ray_triangle_hits(origins: torch.Tensor, directions: torch.Tensor, ray_sizes: torch.Tensor, tris: torch.Tensor,
                      mesh_sizes: torch.Tensor, bvh: MeshBVH) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Packed rays (R, 3) + (R, 3) in N groups of `ray_sizes` against packed triangles (F, 3, 3) in N meshes of
    `mesh_sizes` with their MeshBVH `bvh` (mesh_bvh_packed of the same triangles): (t (R,), face (R,),
    bary (R, 3)) of the nearest hit o + t d with t > 0 (both sides of every triangle; ties to the smaller face
    index) and its barycentrics w.r.t. the face's vertices; t = inf, face = -1 and bary = 0 for misses. Not
    differentiable (see ray_mesh_intersect)."""
    check_tensor(origins, "origins", dtypes=FLOAT_DTYPES, shape=(None, 3))
    check_tensor(directions, "directions", dtypes=(origins.dtype,), shape=tuple(origins.shape))
    check_tensor(tris, "tris", dtypes=(origins.dtype,), shape=(None, 3, 3))
    check_tensor(ray_sizes, "ray_sizes", dim=1, dtypes=(torch.int64,))
    check_tensor(mesh_sizes, "mesh_sizes", shape=tuple(ray_sizes.shape), dtypes=(torch.int64,))
    check_same_device(origins=origins, directions=directions, tris=tris, ray_sizes=ray_sizes, mesh_sizes=mesh_sizes)
    check_bvh(bvh, origins, tris[:, 0], mesh_sizes)
    return torch.ops.meshgraph.ray_mesh_intersect_idx(origins.detach(), directions.detach(), first_from_counts(ray_sizes),
                                                      ray_sizes, tris.detach(), *bvh.tree)


@torch.library.register_fake("meshgraph::ray_mesh_intersect_idx")
def _fake(origins, directions, ray_first, ray_size, tris, box, node, order, root):
    R = origins.shape[0]
    return origins.new_empty((R,)), origins.new_empty((R,), dtype=torch.int64), origins.new_empty((R, 3))


def hit_distances_barycentrics(origins, directions, tris, face):
    """Differentiable (distances (R,), barycentrics (R, 3)) of rays at their hit faces (packed index, -1 for a
    miss): Moller-Trumbore evaluated on the hit triangle only, with safe denominators for misses (their
    gradients are 0; distance inf, barycentrics 0). Half types are computed in float32."""
    acc = torch.float64 if origins.dtype == torch.float64 else torch.float32
    hit = face >= 0
    t3 = tris[face.clamp(min=0)].to(acc) if tris.shape[0] else origins.new_zeros(face.shape[0], 3, 3, dtype=acc)
    o, d = origins.to(acc), directions.to(acc)
    a, b, c = t3.unbind(1)
    e1, e2 = b - a, c - a
    p = torch.linalg.cross(d, e2, dim=-1)
    det = (e1 * p).sum(-1)
    det = torch.where(hit & (det != 0), det, 1)
    s = o - a
    u = (s * p).sum(-1) / det
    q = torch.linalg.cross(s, e1, dim=-1)
    v = (d * q).sum(-1) / det
    t = (e2 * q).sum(-1) / det
    dist = torch.where(hit, t * d.norm(dim=-1), math.inf)
    bary = torch.where(hit[:, None], torch.stack([1 - u - v, u, v], -1), 0)
    return dist.to(origins.dtype), bary.to(origins.dtype)


def ray_mesh_intersect(origins: torch.Tensor, directions: torch.Tensor, meshes, rays_per_mesh=None,
                       bvh: MeshBVH | None = None) -> RayHits:
    """First intersection of rays with their meshes (both sides of every triangle; hits at t > 0 along
    o + t d only).

    Args:
        origins, directions: (N, R, 3) (R rays per mesh), or packed (R, 3) with `rays_per_mesh` (N,) counts
            (optional for a single mesh); directions need not be unit but must not be zero (ValueError).
        meshes: a batch of N meshes in the rays' dtype. A mesh without faces: all its rays miss.
        bvh: the meshes' MeshBVH (`mesh_bvh(meshes)`) to reuse across calls; built here when None. It must come
            from the meshes' current vertex positions.

    Returns:
        RayHits(distances, face, barycentrics): (N, R) / (R,) Euclidean distance to the hit (+inf for misses),
        packed face index (-1), barycentrics (..., 3) (zeros). distances and barycentrics are differentiable
        w.r.t. origins, directions and the mesh vertices (through the hit face; the face choice itself is
        piecewise constant). Nearest-hit search over a BVH (CPU and CUDA kernels)."""
    verts, faces, fsizes = _mesh_tensors(meshes)
    N = fsizes.shape[0]
    o, sizes, shape = _query_rows(origins, "origins", N, rays_per_mesh, "rays_per_mesh", verts.dtype)
    d, _, dshape = _query_rows(directions, "directions", N, rays_per_mesh, "rays_per_mesh", verts.dtype)
    if dshape != shape:
        raise ValueError(f"directions must have the shape of origins {tuple(origins.shape)}, got {tuple(directions.shape)}")
    if d.shape[0] and bool((d == 0).all(-1).any()):
        raise ValueError("directions must be non-zero (a zero-length ray direction has no intersection)")
    bvh = mesh_bvh(meshes) if bvh is None else bvh
    tris = verts[faces]
    t, face, bary = ray_triangle_hits(o, d, sizes, tris, fsizes, bvh)
    if torch.is_grad_enabled() and (verts.requires_grad or o.requires_grad or d.requires_grad):
        dist, bary = hit_distances_barycentrics(o, d, tris, face)
    else:  # t is in units of |d| (inf for misses)
        acc = torch.float64 if o.dtype == torch.float64 else torch.float32
        dist = (t.to(acc) * torch.linalg.vector_norm(d.to(acc), dim=-1)).to(o.dtype)
    return RayHits(dist.reshape(shape), face.reshape(shape), bary.reshape(*shape, 3))
