"""Mesh utilities: icospheres."""

from __future__ import annotations

import math

import torch

from .graph import Graph


def ico_sphere(level: int = 0, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> Graph:
    """Unit icosphere: the icosahedron (12 vertices, 20 faces) subdivided `level` times, vertices projected to
    the sphere (level 4: 2,562 vertices, 5,120 faces). Faces wind outward (right-handed normals point out)."""
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise ValueError(f"level must be a non-negative int, got {level!r}")
    t = (1.0 + math.sqrt(5.0)) / 2.0
    verts = torch.tensor(
        [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]], dtype=torch.float64)
    faces = torch.tensor(
        [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6],
         [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
         [8, 6, 7], [9, 8, 1]], dtype=torch.int64)
    verts = verts / verts.norm(dim=1, keepdim=True)
    from .graph import GraphBatch
    from .ops.subdivide import subdivide

    mesh = GraphBatch([Graph(verts, faces)])
    for _ in range(level):  # split every face in four, then push the new midpoints out to the sphere
        mesh = subdivide(mesh)
        mesh.update_features("pos", torch.nn.functional.normalize(mesh.pos_packed(), dim=1))
    verts, faces = mesh.pos_packed(), mesh.faces_packed()
    return Graph(verts.to(dtype=dtype, device=device), faces.to(device))

__all__ = ["ico_sphere"]
