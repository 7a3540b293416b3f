"""Mesh Laplacians on plain tensors (PyTorch3D's `laplacian`, `cot_laplacian`, `norm_laplacian`): sparse COO
(V, V) matrices from vertices and an (E, 2) edge list or (F, 3) faces. GraphBatch's `laplacian()` /
`cot_laplacian()` give the same matrices for a batch."""

from __future__ import annotations

import torch

from .._utils import FLOAT_DTYPES, check_tensor


def _symmetric(edges: torch.Tensor) -> torch.Tensor:
    """(2, 2E): every edge (i, j) and its reverse (j, i)."""
    e = edges.long()
    return torch.cat([e, e.flip(1)]).t()


def laplacian(verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Uniform Laplacian: L[i, j] = 1 / deg(i) for each edge (i, j) of the undirected (E, 2) edges (deg counts
    both directions; a repeated edge or a loop (i, i) counts each time), L[i, i] -= 1. Not differentiable."""
    check_tensor(verts, "verts", dim=2, dtypes=FLOAT_DTYPES)
    check_tensor(edges, "edges", dim=2, dtypes=(torch.int32, torch.int64))
    V = verts.shape[0]
    idx = _symmetric(edges)
    deg = torch.zeros(V, dtype=verts.dtype, device=verts.device).index_add_(
        0, idx[0], torch.ones(idx.shape[1], dtype=verts.dtype, device=verts.device))
    val = 1.0 / deg[idx[0]]
    diag = torch.arange(V, device=verts.device)
    return torch.sparse_coo_tensor(torch.cat([idx, torch.stack([diag, diag])], 1),
                                   torch.cat([val, -torch.ones(V, dtype=verts.dtype, device=verts.device)]),
                                   (V, V)).coalesce()


def cot_laplacian(verts: torch.Tensor, faces: torch.Tensor, eps: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
    """Cotangent Laplacian and inverse vertex areas (PyTorch3D's definition).

    L[i, j] = cot(a_ij) + cot(b_ij), the cotangents of the angles opposite edge (i, j) in its faces (computed
    from side lengths, cot = (sum of the adjacent sides^2 - opposite side^2) / (4 area), the area by Heron's
    formula clamped at eps); no diagonal. inv_areas (V, 1): 1 / (sum of the areas of the faces around each
    vertex), 0 where that sum is 0. Differentiable w.r.t. verts.
    """
    check_tensor(verts, "verts", dim=2, dtypes=FLOAT_DTYPES)
    check_tensor(faces, "faces", dim=2, dtypes=(torch.int32, torch.int64))
    V = verts.shape[0]
    f = faces.long()
    fv = verts[f]
    a = (fv[:, 1] - fv[:, 2]).norm(dim=1)  # side opposite corner 0
    b = (fv[:, 0] - fv[:, 2]).norm(dim=1)
    c = (fv[:, 0] - fv[:, 1]).norm(dim=1)
    s = 0.5 * (a + b + c)
    area = (s * (s - a) * (s - b) * (s - c)).clamp(min=eps).sqrt()
    a2, b2, c2 = a * a, b * b, c * c
    cot = torch.stack([b2 + c2 - a2, a2 + c2 - b2, a2 + b2 - c2], dim=1) / area[:, None] / 4.0
    ii, jj = f[:, [1, 2, 0]].reshape(-1), f[:, [2, 0, 1]].reshape(-1)  # corner k's angle faces edge (ii, jj)
    vals = cot.reshape(-1)
    L = torch.sparse_coo_tensor(torch.stack([torch.cat([ii, jj]), torch.cat([jj, ii])]), torch.cat([vals, vals]),
                                (V, V)).coalesce()
    areas = torch.zeros(V, dtype=area.dtype, device=verts.device).index_add(0, f.reshape(-1), area.repeat_interleave(3))
    inv = torch.where(areas > 0, 1.0 / torch.where(areas > 0, areas, torch.ones_like(areas)), torch.zeros_like(areas))
    return L, inv[:, None]


def norm_laplacian(verts: torch.Tensor, edges: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """L[i, j] = L[j, i] = 1 / (|v_i - v_j| + eps) for each edge (i, j) of (E, 2) edges. Differentiable."""
    check_tensor(verts, "verts", dim=2, dtypes=FLOAT_DTYPES)
    check_tensor(edges, "edges", dim=2, dtypes=(torch.int32, torch.int64))
    e = edges.long()
    w = torch.reciprocal((verts[e[:, 0]] - verts[e[:, 1]]).norm(dim=1) + eps)
    V = verts.shape[0]
    return torch.sparse_coo_tensor(_symmetric(e), torch.cat([w, w]), (V, V)).coalesce()
