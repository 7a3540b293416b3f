"""Reference for box3d_overlap: the intersection of two boxes as the polytope of their twelve half-spaces.

An algorithm independent of the kernel's face clipping: the polytope's vertices are the feasible intersections of
three of the twelve planes; each (distinct) plane holding three or more of them bounds a facet, whose vertices are
ordered by angle about their mean; the volume is the sum of the pyramids from the vertices' centroid to the facets
(area * height / 3). Computed in float64, one pair at a time (readable, slow).
"""

from __future__ import annotations

import itertools

import torch

_BOX_PLANES = [[0, 1, 2, 3], [3, 2, 6, 7], [0, 1, 5, 4], [0, 3, 7, 4], [1, 2, 6, 5], [4, 5, 6, 7]]
_TRIPLES = torch.tensor(list(itertools.combinations(range(12), 3)))


def _half_spaces(box: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(normals (6, 3) outward unit, offsets (6,)): the box is {x : normals @ x <= offsets}."""
    quads = box[torch.tensor(_BOX_PLANES)]  # (6, 4, 3)
    n = torch.linalg.cross(quads[:, 2] - quads[:, 0], quads[:, 3] - quads[:, 1], dim=1)
    n = n / n.norm(dim=1, keepdim=True)
    centres = quads.mean(1)
    sign = torch.sign(((centres - box.mean(0)) * n).sum(1))
    n = n * sign[:, None]
    return n, (n * centres).sum(1)


def _polytope_volume(normals: torch.Tensor, offsets: torch.Tensor, tol: float) -> torch.Tensor:
    """Volume of {x : normals @ x <= offsets} (bounded), normals (K, 3) unit."""
    K = normals.shape[0]
    triples = _TRIPLES[(_TRIPLES < K).all(1)]
    A = normals[triples]  # (T, 3, 3)
    b = offsets[triples]
    ok = torch.linalg.det(A).abs() > 1e-9
    A, b = A[ok], b[ok]
    if A.shape[0] == 0:
        return normals.new_zeros(())
    x = torch.linalg.solve(A, b[..., None])[..., 0]  # (T, 3)
    feasible = ((x @ normals.T) <= offsets + tol).all(1)
    verts = x[feasible]
    if verts.shape[0] < 4:
        return normals.new_zeros(())
    centroid = verts.mean(0)
    vol = normals.new_zeros(())
    seen: list[int] = []
    for k in range(K):
        if any(bool((normals[k] - normals[j]).abs().max() < 1e-9 and abs(offsets[k] - offsets[j]) <= tol)
               for j in seen):
            continue  # the same plane from the other box: one facet
        seen.append(k)
        on = (verts @ normals[k] - offsets[k]).abs() <= tol
        face = verts[on]
        if face.shape[0] < 3:
            continue
        mid = face.mean(0)
        u = face - mid
        e1 = u[u.norm(dim=1).argmax()]
        e1 = e1 / e1.norm()
        e2 = torch.linalg.cross(normals[k], e1, dim=0)
        order = torch.atan2(u @ e2, u @ e1).argsort()
        ring = u[order]
        area_vec = torch.linalg.cross(ring, ring.roll(-1, 0), dim=1).sum(0) / 2
        height = offsets[k] - normals[k] @ centroid
        vol = vol + area_vec.norm() * height / 3
    return vol


def box3d_overlap(boxes1: torch.Tensor, boxes2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(vol (N, M), iou (N, M)) of boxes (N, 8, 3) and (M, 8, 3) in PyTorch3D's corner order, in their dtype."""
    N, M = boxes1.shape[0], boxes2.shape[0]
    vol = torch.zeros(N, M, dtype=torch.float64)
    iou = torch.zeros(N, M, dtype=torch.float64)
    b1 = boxes1.detach().cpu().double()
    b2 = boxes2.detach().cpu().double()
    for n in range(N):
        n1, h1 = _half_spaces(b1[n])
        scale1 = float((b1[n] - b1[n].mean(0)).abs().max())
        v1 = _polytope_volume(n1, h1, 1e-12 * scale1)
        for m in range(M):
            n2, h2 = _half_spaces(b2[m])
            scale2 = float((b2[m] - b2[m].mean(0)).abs().max())
            v2 = _polytope_volume(n2, h2, 1e-12 * scale2)
            tol = 1e-9 * max(scale1, scale2, float(b1[n].abs().max()), float(b2[m].abs().max()))
            v = _polytope_volume(torch.cat((n1, n2)), torch.cat((h1, h2)), tol).clamp(min=0)
            v = torch.minimum(v, torch.minimum(v1, v2))
            vol[n, m] = v
            union = v1 + v2 - v
            iou[n, m] = v / union if union > 0 else 0.0
    return vol.to(boxes1.dtype).to(boxes1.device), iou.to(boxes1.dtype).to(boxes1.device)
