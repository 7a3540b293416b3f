"""Mesh regularizers on GraphBatch meshes (PyTorch3D's mesh_edge_loss, mesh_laplacian_smoothing,
mesh_normal_consistency; each graph weighted equally, then averaged over the batch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import first_from_counts
from ..graph import GraphBatch
from ..ops.laplacian import cot_laplacian


def _check(meshes) -> GraphBatch:
    """A GraphBatch of meshes from a GraphBatch, our Meshes or PyTorch3D's own Meshes (duck-typed)."""
    from ..structures import as_graph_batch

    try:
        meshes = as_graph_batch(meshes)
    except TypeError:
        raise TypeError(f"meshes must be a GraphBatch or Meshes, got {type(meshes).__name__}") from None
    if meshes.pos is None or meshes.pos.shape[1] != 3:
        raise ValueError("meshes need 3-D positions")
    return meshes


def _zero(meshes: GraphBatch) -> torch.Tensor:
    """The loss of a batch without any mesh with faces: PyTorch3D's tensor([0.0]) (shape (1,), float32,
    requiring grad)."""
    return torch.tensor([0.0], dtype=torch.float32, device=meshes.device, requires_grad=True)


def _is_empty(meshes: GraphBatch) -> bool:
    return len(meshes) == 0 or meshes.num_faces == 0


def mesh_edge_loss(meshes, target_length: float = 0.0) -> torch.Tensor:
    """PyTorch3D's mesh_edge_loss: mean over meshes of the mean over each mesh's unique edges (`edges_packed()`,
    zero-length sides of faces that repeat a vertex included) of (|e| - target_length)^2; meshes without edges
    count as 0 in the mean."""
    meshes = _check(meshes)
    if _is_empty(meshes):
        return _zero(meshes)
    e = meshes.edges_packed()
    pos = meshes.pos
    per_mesh = meshes.num_edges_per_mesh().to(torch.int64)
    w = 1.0 / per_mesh.gather(0, meshes.edges_packed_to_mesh_idx()).to(pos.dtype)
    loss = ((pos[e[:, 0]] - pos[e[:, 1]]).norm(dim=1, p=2) - target_length) ** 2.0
    return (loss * w).sum() / len(meshes)


def mesh_laplacian_smoothing(meshes, method: str = "uniform") -> torch.Tensor:
    """Laplacian smoothing: uniform ("uniform"), cotangent ("cot") or cotangent curvature ("cotcurv")
    weights, as in PyTorch3D (each vertex weighted 1 / its mesh's vertex count, summed, divided by N); the
    Laplacian is held constant (no gradient through it). "cot" divides by each row's cotangent sum where that
    is positive and multiplies by it elsewhere, as PyTorch3D does."""
    meshes = _check(meshes)
    if _is_empty(meshes):
        return _zero(meshes)
    if method not in ("uniform", "cot", "cotcurv"):
        raise ValueError("Method should be one of {uniform, cot, cotcurv}")
    verts = meshes.pos
    w = 1.0 / meshes.num_verts_per_graph.clamp(min=1).to(verts.dtype)[meshes.graph_index]
    with torch.no_grad():
        if method == "uniform":
            L = meshes.laplacian()
        else:
            L, inv_areas = cot_laplacian(verts.detach(), meshes.faces_packed())
            L_sum = torch.sparse.sum(L, dim=1).to_dense().view(-1, 1)
            if method == "cot":
                norm_w = torch.where(L_sum > 0, 1.0 / L_sum.clamp(min=1e-30), L_sum)
            else:
                norm_w = 0.25 * inv_areas
    if method == "uniform":
        loss = torch.sparse.mm(L, verts)
    elif method == "cot":
        loss = torch.sparse.mm(L, verts) * norm_w - verts
    else:
        loss = (torch.sparse.mm(L, verts) - L_sum * verts) * norm_w
    return (loss.norm(dim=1) * w).sum() / len(meshes)


def mesh_normal_consistency(meshes) -> torch.Tensor:
    """Mean over meshes of the mean over pairs of faces sharing an edge of 1 - cos(n0, n1), the normals
    taken from the shared edge and each face's opposite vertex (PyTorch3D's definition; non-manifold edges
    contribute every pair of their faces)."""
    meshes = _check(meshes)
    if _is_empty(meshes):
        return _zero(meshes)
    verts = meshes.pos
    pairs = meshes._cached(("face_pairs", None), lambda: _face_pairs(meshes))
    if pairs is None:
        return _zero(meshes)
    e_s, opp_s, i, j = pairs
    v0, v1 = verts[e_s[i, 0]], verts[e_s[i, 1]]
    a, b = verts[opp_s[i]], verts[opp_s[j]]
    n0 = torch.linalg.cross(v1 - v0, a - v0, dim=1)
    n1 = -torch.linalg.cross(v1 - v0, b - v0, dim=1)
    loss = 1 - F.cosine_similarity(n0, n1, dim=1)
    g = meshes.graph_index[e_s[i, 0]]
    per_mesh = torch.zeros(len(meshes), dtype=torch.int64, device=verts.device).index_add_(0, g, torch.ones_like(g))
    w = 1.0 / per_mesh.clamp(min=1).to(verts.dtype)[g]
    return (loss * w).sum() / len(meshes)


def _face_pairs(meshes: GraphBatch):
    """Topology behind normal consistency (cached per batch): for every pair of faces sharing an edge, the
    edge's vertices and each face's opposite vertex, as indices into sorted per-face-edge arrays."""
    faces, V = meshes.faces_packed(), meshes.num_verts
    e = torch.cat([faces[:, [1, 2]], faces[:, [2, 0]], faces[:, [0, 1]]])
    opp = torch.cat([faces[:, 0], faces[:, 1], faces[:, 2]])
    e_sorted = torch.sort(e, dim=1).values
    key = e_sorted[:, 0] * V + e_sorted[:, 1]
    order = torch.argsort(key, stable=True)
    key_s, e_s, opp_s = key[order], e_sorted[order], opp[order]
    _, counts = torch.unique_consecutive(key_s, return_counts=True)
    starts = first_from_counts(counts)
    pairs_i, pairs_j = [], []
    max_c = int(counts.max()) if counts.numel() else 0
    for a in range(max_c):  # all pairs (a < b) within each group of faces sharing an edge
        for b in range(a + 1, max_c):
            sel = counts > b
            pairs_i.append(starts[sel] + a)
            pairs_j.append(starts[sel] + b)
    if not pairs_i:
        return None
    return e_s, opp_s, torch.cat(pairs_i), torch.cat(pairs_j)


__all__ = ["mesh_edge_loss", "mesh_laplacian_smoothing", "mesh_normal_consistency"]
