"""Inside / outside and distance queries against triangle meshes: winding_number, points_inside_mesh,
signed_distance and mesh_to_voxels (occupancy grids). Exact: the sign comes from the generalized winding number
(op winding_number), the magnitude from the exact closest triangle (op bvh_closest_face_idx). Both traverse the
meshes' BVH (op mesh_bvh): `mesh_bvh(meshes)` builds it once, and every query takes it as `bvh=` (built per call
when omitted).

Queries come as (N, P, 3) (P points per mesh; results (N, P)) or packed (P, 3) with `points_per_mesh` (N,) counts
(results (P,); without counts the batch must hold one mesh)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from .._utils import FLOAT_DTYPES, check_tensor
from ..ops.reference.point_face import point_triangle_distance_sq
from .bvh_closest_face import closest_faces
from .mesh_bvh import MeshBVH, check_bvh, mesh_bvh_packed
from .winding_number import winding_number_packed


def _mesh_tensors(meshes):
    """(packed verts (V, 3), packed faces (F, 3) int64 global, faces per mesh (N,)) of a batch of meshes."""
    from ..structures import as_graph_batch

    try:
        gb = as_graph_batch(meshes)
    except TypeError:
        raise TypeError(f"meshes must be a GraphBatch or Meshes, got {type(meshes).__name__}") from None
    if len(gb) == 0:
        raise ValueError("meshes must not be empty")
    verts = gb.pos_packed()
    return verts, gb.faces_packed().long(), gb.num_faces_per_graph.to(device=verts.device, dtype=torch.int64)


def _query_rows(x: torch.Tensor, name: str, N: int, per_mesh, per_name: str, dtype: torch.dtype):
    """Queries (N, P, 3) or (P, 3) (+ per-mesh counts) as (packed (P, 3), counts (N,), output shape)."""
    check_tensor(x, name, dim=(2, 3), dtypes=FLOAT_DTYPES)
    if x.shape[-1] != 3:
        raise ValueError(f"{name} must be (N, P, 3) or (P, 3), got shape {tuple(x.shape)}")
    if x.dtype != dtype:
        raise TypeError(f"{name} ({x.dtype}) and the mesh vertices ({dtype}) must share a dtype")
    if x.dim() == 3:
        if x.shape[0] != N:
            raise ValueError(f"{name} has {x.shape[0]} batch rows but meshes has {N} meshes")
        if per_mesh is not None:
            raise ValueError(f"{per_name} is only for packed (P, 3) {name}")
        counts = torch.full((N,), x.shape[1], dtype=torch.int64, device=x.device)
        return x.reshape(-1, 3), counts, tuple(x.shape[:2])
    if per_mesh is None:
        if N != 1:
            raise ValueError(f"packed {name} against {N} meshes need {per_name} (one count per mesh)")
        return x, torch.full((1,), x.shape[0], dtype=torch.int64, device=x.device), (x.shape[0],)
    counts = torch.as_tensor(per_mesh, device=x.device)
    check_tensor(counts, per_name, shape=(N,), dtypes=(torch.int32, torch.int64))
    counts = counts.long()
    if bool((counts < 0).any()) or int(counts.sum()) != x.shape[0]:
        raise ValueError(f"{per_name} must be non-negative counts summing to the {x.shape[0]} rows of {name}")
    return x, counts, (x.shape[0],)


def mesh_bvh(meshes) -> MeshBVH:
    """The bounding volume hierarchy of a batch of meshes (MeshBVH: tensors on the meshes' device), to pass as
    `bvh=` to winding_number, points_inside_mesh, signed_distance, mesh_to_voxels and ray_mesh_intersect when
    querying the same meshes more than once. Built on the CPU in O(F log F) (CUDA meshes: one host copy).

    The BVH holds the vertex positions' bounding boxes: it is valid for the positions it was built from. Build a
    new one after moving the vertices (an optimisation step); gradients w.r.t. the vertices of a query made with
    it are exact (the tree is a constant of the forward pass). Not differentiable itself."""
    verts, faces, fsizes = _mesh_tensors(meshes)
    return mesh_bvh_packed(verts, faces, fsizes)


def _mesh_bvh_of(bvh, verts, faces, fsizes) -> MeshBVH:
    return mesh_bvh_packed(verts, faces, fsizes) if bvh is None else check_bvh(bvh, verts, faces, fsizes)


def winding_number(points: torch.Tensor, meshes, points_per_mesh=None, bvh: MeshBVH | None = None) -> torch.Tensor:
    """Generalized winding number of every point with respect to its mesh (Jacobson et al. 2013): the sum of the
    mesh triangles' signed solid angles at the point / (4 pi). 1 inside and 0 outside a closed mesh with outward
    faces (-1 inside an inward one), a fraction near holes; defined for any triangle soup. Exact (hierarchical
    evaluation over a BVH), batched; 0 against a mesh without faces. Differentiable w.r.t. the points and the
    mesh vertices (the solid angles' gradient, exact away from the surface; on it the surface's own triangle
    contributes 0).

    Args:
        points: (N, P, 3), or packed (P, 3) with `points_per_mesh` (N,) counts (optional for a single mesh).
        meshes: a batch of N meshes (GraphBatch, Meshes, PyTorch3D's Meshes), the points' dtype.
        bvh: the meshes' `mesh_bvh` to reuse (built per call when None).

    Returns:
        (N, P) or (P,) in the points' dtype."""
    verts, faces, fsizes = _mesh_tensors(meshes)
    pts, sizes, shape = _query_rows(points, "points", fsizes.shape[0], points_per_mesh, "points_per_mesh", verts.dtype)
    bvh = _mesh_bvh_of(bvh, verts, faces, fsizes)
    return winding_number_packed(pts, sizes, verts, faces, fsizes, bvh).reshape(shape)


def points_inside_mesh(points: torch.Tensor, meshes, points_per_mesh=None, threshold: float = 0.5,
                       bvh: MeshBVH | None = None) -> torch.Tensor:
    """Whether each point lies inside its mesh: winding number >= `threshold` (bool, the shape of
    `winding_number`'s result). For closed meshes exact; for open meshes and soups the robust generalization of
    Jacobson et al. 2013. Points on the surface are either (the solid angle of the triangle they lie on is the
    limit from the side rounding puts them on). `bvh`: as for winding_number."""
    return winding_number(points.detach(), meshes, points_per_mesh, bvh=bvh).detach() >= threshold


def signed_distance(points: torch.Tensor, meshes, points_per_mesh=None, bvh: MeshBVH | None = None) -> torch.Tensor:
    """Signed Euclidean distance from each point to its mesh: negative inside (winding number >= 1/2), positive
    outside (the opposite of trimesh.proximity.signed_distance's sign). The magnitude is the exact distance to the
    closest triangle; it is differentiable w.r.t. the points and the mesh vertices (the sign is piecewise
    constant). +inf against a mesh without faces. Same shapes as `winding_number`; `bvh`: the meshes'
    `mesh_bvh` to reuse (built per call when None)."""
    verts, faces, fsizes = _mesh_tensors(meshes)
    pts, sizes, shape = _query_rows(points, "points", fsizes.shape[0], points_per_mesh, "points_per_mesh", verts.dtype)
    bvh = _mesh_bvh_of(bvh, verts, faces, fsizes)
    vd = verts.detach()
    w = winding_number_packed(pts.detach(), sizes, vd, faces, fsizes, bvh)
    p2f = closest_faces(pts, sizes, vd, faces, fsizes, bvh)
    if faces.shape[0]:
        t = verts[faces[p2f.clamp(min=0)]]
        d2 = point_triangle_distance_sq(pts, t[:, 0], t[:, 1], t[:, 2])
    else:
        d2 = pts.new_ones(pts.shape[0])
    pos = d2 > 0
    d = torch.where(pos, torch.where(pos, d2, 1).sqrt(), 0)  # sqrt with a finite gradient at 0
    d = torch.where(p2f >= 0, d, float("inf"))
    return torch.where(w >= 0.5, -d, d).reshape(shape)


class MeshVoxels(NamedTuple):
    """mesh_to_voxels' result. occupancy (N, D, H, W) bool indexed [n, z, y, x]; voxel (x, y, z) of mesh n is
    centred at origin[n] + (x + 1/2, y + 1/2, z + 1/2) * voxel_size[n] (origin: the grid's lower corner)."""

    occupancy: torch.Tensor
    origin: torch.Tensor
    voxel_size: torch.Tensor


def _triple(v, name: str):
    if isinstance(v, (int, float)):
        v = (v, v, v)
    v = tuple(v)
    if len(v) != 3:
        raise ValueError(f"{name} must be a number or 3 numbers, got {v}")
    return v


def mesh_to_voxels(meshes, grid_size=None, voxel_size=None, bounds=None, padding: int = 1,
                   threshold: float = 0.5, bvh: MeshBVH | None = None) -> MeshVoxels:
    """Occupancy grids of meshes by exact inside / outside: a voxel is occupied when the winding number at its
    centre is >= `threshold` (PyTorch3D #1362).

    Args:
        meshes: a batch of N meshes.
        grid_size: voxels per axis, an int or (D, H, W) (z, y, x). With `bounds` the grid spans them exactly;
            without, each mesh's bounding box plus `padding` voxels a side with cubic voxels (the largest side
            decides; the grid is centred on the box).
        voxel_size: cubic voxel side instead of grid_size: each mesh's box plus `padding` voxels a side, the same
            (largest) number of voxels per axis for every mesh (lower corner at box minimum - padding voxels), or
            the span of `bounds`.
        bounds: optional ((xmin, ymin, zmin), (xmax, ymax, zmax)) shared by every mesh.
        padding: empty voxels around each box when `bounds` is not given.
        bvh: the meshes' `mesh_bvh` to reuse (built here when None).

    Returns:
        MeshVoxels(occupancy (N, D, H, W) bool, origin (N, 3), voxel_size (N, 3)) in the vertices' dtype and
        device (voxel (x, y, z) centred at origin + (idx + 1/2) * voxel_size)."""
    if (grid_size is None) == (voxel_size is None):
        raise ValueError("give exactly one of grid_size and voxel_size")
    verts, faces, fsizes = _mesh_tensors(meshes)
    from ..structures import as_graph_batch

    gb = as_graph_batch(meshes)
    N, dev, dt = fsizes.shape[0], verts.device, verts.dtype
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    if bounds is not None:
        lo = torch.as_tensor(bounds[0], dtype=dt, device=dev).reshape(3)
        hi = torch.as_tensor(bounds[1], dtype=dt, device=dev).reshape(3)
        if not bool((hi > lo).all()):
            raise ValueError("bounds must have max > min on every axis")
        lo, hi, pad = lo.expand(N, 3), hi.expand(N, 3), 0
    else:
        vsz = gb.num_verts_per_graph.tolist()
        if min(vsz) == 0:
            raise ValueError("mesh_to_voxels needs vertices in every mesh (or bounds)")
        vs = verts.split(vsz)
        lo = torch.stack([v.min(0).values for v in vs])
        hi = torch.stack([v.max(0).values for v in vs])
        pad = padding
    if grid_size is not None:
        dims = tuple(int(g) for g in _triple(grid_size, "grid_size"))  # (D, H, W)
        if min(dims) <= 2 * pad:
            raise ValueError(f"grid_size must exceed 2 * padding ({2 * pad}) on every axis, got {dims}")
        cells = torch.tensor(dims[::-1], dtype=dt, device=dev)  # (x, y, z) counts
        if bounds is not None:
            size = (hi - lo) / cells
            origin = lo.clone()
        else:
            side = ((hi - lo) / (cells - 2 * pad)).max(1).values.clamp(min=torch.finfo(dt).tiny)
            size = side[:, None].expand(N, 3).clone()
            origin = (lo + hi) / 2 - cells * size / 2
    else:
        s = float(voxel_size)
        if not s > 0:
            raise ValueError(f"voxel_size must be > 0, got {voxel_size}")
        n_cells = torch.ceil((hi - lo) / s).clamp(min=1).max(0).values + 2 * pad  # (x, y, z), shared
        dims = tuple(int(c) for c in n_cells.tolist()[::-1])
        size = torch.full((N, 3), s, dtype=dt, device=dev)
        origin = lo - pad * s
    D, H, W = dims
    idx = torch.stack(torch.meshgrid(torch.arange(W, device=dev), torch.arange(H, device=dev),
                                     torch.arange(D, device=dev), indexing="xy"), -1)  # (H, W, D, 3) x, y, z
    idx = idx.permute(2, 0, 1, 3).reshape(1, -1, 3).to(dt)  # (1, D*H*W, 3) in z, y, x order
    centres = origin[:, None] + (idx + 0.5) * size[:, None]
    occ = points_inside_mesh(centres, meshes, threshold=threshold, bvh=bvh)
    return MeshVoxels(occ.reshape(N, D, H, W), origin, size)
