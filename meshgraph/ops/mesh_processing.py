"""Mesh clean-up and smoothing: `taubin_smoothing` (PyTorch3D's `pytorch3d.ops.mesh_filtering`),
`remove_unreferenced_verts` and `merge_close_verts` (meshgraph's own).

Each works on plain (verts, faces) tensors and on mesh batches (our Meshes / GraphBatch, or anything with
`verts_list()` / `faces_list()`); the container is never imported here: a batch result is built by the input's own
class (`type(meshes)(verts=..., faces=...)` for Meshes-like classes, whose constructor takes `verts`;
`type(meshes).from_meshes(verts, faces)` for a GraphBatch).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from .._utils import FLOAT_DTYPES, can_inspect_values, check_index_range, check_index_tensor, check_tensor
from .ball_query import ball_query
from .laplacian import norm_laplacian


def _verts_packed(meshes: Any) -> torch.Tensor:
    return meshes.verts_packed() if hasattr(meshes, "verts_packed") else meshes.pos_packed()


def _verts_list(meshes: Any) -> list[torch.Tensor]:
    return meshes.verts_list() if hasattr(meshes, "verts_list") else meshes.pos_list()


def _rebuild(meshes: Any, verts: list[torch.Tensor], faces: list[torch.Tensor]) -> Any:
    """A batch of the input's class from per-mesh vertices and local faces."""
    cls = type(meshes)
    if "verts" in inspect.signature(cls.__init__).parameters or not hasattr(cls, "from_meshes"):
        return cls(verts=verts, faces=faces)
    return cls.from_meshes(verts, faces)


def _is_batch(x: Any) -> bool:
    return hasattr(x, "faces_list") and (hasattr(x, "verts_list") or hasattr(x, "pos_list"))


def taubin_smoothing(meshes: Any, lambd: float = 0.53, mu: float = -0.53, num_iter: int = 10) -> Any:
    """Taubin's shrink-free smoothing (Curve and Surface Smoothing without Shrinkage, ICCV 1997), PyTorch3D's
    function: num_iter times

        verts := (1 - lambd) verts + lambd L verts / w;   verts := (1 - mu) verts + mu L verts / w

    with L = norm_laplacian(verts, edges_packed) (L_ij = 1 / (|v_i - v_j| + 1e-12) on each edge, recomputed at
    every step) and w its row sums.

    Args:
        meshes: a mesh batch with `verts_packed()` (or `pos_packed()`), `edges_packed()` and `faces_list()`.
        lambd: > 0 (shrinking step), mu: < 0 (inflating step), num_iter: iterations (>= 0).

    Returns:
        a new batch of the input's class with the smoothed vertices and the same faces (PyTorch3D returns
        `Meshes(verts, faces)`: textures and other vertex data are not carried). A vertex on no edge keeps its
        position (PyTorch3D gives NaN there: 0 / 0). Differentiable w.r.t. the vertices.
    """
    if not _is_batch(meshes):
        raise TypeError(f"meshes must be a mesh batch (Meshes or GraphBatch), got {type(meshes).__name__}")
    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 0:
        raise ValueError(f"num_iter must be a non-negative int, got {num_iter!r}")
    verts = _verts_packed(meshes)
    edges = meshes.edges_packed()

    def step(v: torch.Tensor, t: float) -> torch.Tensor:
        L = norm_laplacian(v, edges)
        total = torch.sparse.sum(L, dim=1).to_dense().view(-1, 1) if edges.shape[0] else v.new_zeros(v.shape[0], 1)
        Lv = torch.sparse.mm(L, v) if edges.shape[0] else torch.zeros_like(v)
        avg = torch.where(total > 0, Lv / torch.where(total > 0, total, torch.ones_like(total)), v)
        return (1 - t) * v + t * avg

    for _ in range(num_iter):
        verts = step(verts, lambd)
        verts = step(verts, mu)
    counts = [v.shape[0] for v in _verts_list(meshes)]
    return _rebuild(meshes, list(verts.split(counts)), meshes.faces_list())


def _check_mesh_tensors(verts: torch.Tensor, faces: torch.Tensor) -> None:
    check_tensor(verts, "verts", dim=2, dtypes=FLOAT_DTYPES)
    check_index_tensor(faces, "faces", dim=2)
    if faces.device != verts.device:
        raise ValueError(f"faces is on {faces.device} but verts is on {verts.device}: they must share a device")
    if can_inspect_values(faces):
        check_index_range(faces, "faces", verts.shape[0])


def _remove_unreferenced(verts: torch.Tensor, faces: torch.Tensor):
    V = verts.shape[0]
    used = torch.zeros(V, dtype=torch.bool, device=verts.device)
    used[faces.reshape(-1).long()] = True
    kept = used.nonzero()[:, 0]
    new_index = torch.full((V,), -1, dtype=torch.int64, device=verts.device)
    new_index[kept] = torch.arange(kept.shape[0], device=verts.device)
    return verts[kept], new_index[faces.long()].to(faces.dtype), kept


def remove_unreferenced_verts(verts: Any, faces: torch.Tensor | None = None):
    """Drop the vertices no face uses, keeping the others in their order.

    Args:
        verts: (V, D) float vertices with faces (F, k) int32/int64 indices into them (triangles, quads, edges: any
            k); or a mesh batch (faces then None), processed mesh by mesh.

    Returns:
        For tensors: (verts (V', D), faces (F, k) re-indexed, in faces' dtype, kept (V',) int64: the original
        index of each remaining vertex, increasing). For a batch: a new batch of its class with each mesh's
        referenced vertices (a mesh without faces keeps none). Differentiable w.r.t. verts (a selection).
    """
    if _is_batch(verts):
        if faces is not None:
            raise ValueError("faces must be None when verts is a mesh batch")
        out_v, out_f = [], []
        for v, f in zip(_verts_list(verts), verts.faces_list()):
            nv, nf, _ = _remove_unreferenced(v, f)
            out_v.append(nv)
            out_f.append(nf)
        return _rebuild(verts, out_v, out_f)
    if faces is None:
        raise ValueError("faces is required when verts is a tensor")
    _check_mesh_tensors(verts, faces)
    return _remove_unreferenced(verts, faces)


def _components(V: int, src: torch.Tensor, dst: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(V,) the smallest vertex index of each vertex's connected component (label propagation with pointer
    jumping on the undirected edges (src, dst))."""
    label = torch.arange(V, device=device)
    if src.numel() == 0:
        return label
    while True:
        m = torch.minimum(label[src], label[dst])
        new = label.scatter_reduce(0, src, m, reduce="amin").scatter_reduce(0, dst, m, reduce="amin")
        new = new[new]  # pointer jumping: follow the root's label
        if torch.equal(new, label):
            return label
        label = new


def _merge(verts: torch.Tensor, faces: torch.Tensor, tol: float, max_neighbors: int):
    V = verts.shape[0]
    if V == 0:
        return verts, faces, torch.zeros(0, dtype=torch.int64, device=verts.device)
    if tol == 0:
        _, inv = torch.unique(verts.detach(), dim=0, return_inverse=True)
        first = torch.full((int(inv.max()) + 1,), V, dtype=torch.int64, device=verts.device)
        first = first.scatter_reduce(0, inv, torch.arange(V, device=verts.device), reduce="amin")
        root = first[inv]
    else:
        p = verts.detach()[None]
        idx = ball_query(p, p, K=max_neighbors, radius=float(tol), return_nn=False).idx[0]  # d <= tol  # (V, K), -1 padded
        src = torch.arange(V, device=verts.device)[:, None].expand_as(idx)
        ok = idx >= 0
        root = _components(V, src[ok], idx[ok], verts.device)
    is_root = root == torch.arange(V, device=verts.device)
    new_of_root = torch.cumsum(is_root.long(), 0) - 1
    index = new_of_root[root]
    new_faces = index[faces.long()]
    if new_faces.shape[1] > 1:
        srt = new_faces.sort(1).values
        keep = (srt[:, 1:] != srt[:, :-1]).all(1)
        new_faces = new_faces[keep]
    return verts[is_root], new_faces.to(faces.dtype), index


def merge_close_verts(verts: Any, faces: torch.Tensor | None = None, tol: float = 1e-6, *, max_neighbors: int = 32):
    """Merge vertices closer than tol, re-index the faces and drop the faces that collapse.

    Semantics: vertices i, j are merged when they are linked by a chain of vertices each within tol (Euclidean,
    inclusive) of the next: the connected components of the "within tol" graph (single linkage, so a chain of
    close vertices merges even if its ends are farther apart than tol). Each component becomes one vertex at the
    position of its lowest-index member (no vertex moves); the new vertices keep the order of those members.
    Faces are re-indexed; a face with a repeated vertex after merging (zero area) is dropped, duplicate faces are
    kept. tol = 0 merges exact duplicates only. The neighbour search is meshgraph's ball_query, which links each
    vertex to its max_neighbors lowest-index neighbours within tol (itself included): only a vertex with more
    neighbours than that can leave a chain unmerged; raise max_neighbors for such dense clusters.

    Args:
        verts: (V, D) float vertices with faces (F, k) int indices; or a mesh batch (faces None): each mesh is
            merged on its own (vertices of different meshes never merge).
        tol: merge distance (>= 0).

    Returns:
        For tensors: (verts (V', D), faces (F', k) in faces' dtype, index (V,) int64: each original vertex's new
        index). For a batch: a new batch of its class. Differentiable w.r.t. the kept vertices.
    """
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    if _is_batch(verts):
        if faces is not None:
            raise ValueError("faces must be None when verts is a mesh batch")
        out_v, out_f = [], []
        for v, f in zip(_verts_list(verts), verts.faces_list()):
            nv, nf, _ = _merge(v, f, float(tol), max_neighbors)
            out_v.append(nv)
            out_f.append(nf)
        return _rebuild(verts, out_v, out_f)
    if faces is None:
        raise ValueError("faces is required when verts is a tensor")
    _check_mesh_tensors(verts, faces)
    return _merge(verts, faces, float(tol), max_neighbors)


__all__ = ["merge_close_verts", "remove_unreferenced_verts", "taubin_smoothing"]
