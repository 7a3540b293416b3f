"""Shared fixtures of the mesh-query tests (test_mesh_bvh, test_bvh_closest_face, test_winding_number): three meshes
packed together, and a hypothesis strategy of random triangle soups."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from meshgraph.utils import ico_sphere, torus


def mixed_meshes(dtype=torch.float64, seed=0):
    """(verts, faces, faces per mesh) of an icosphere (closed, 320 faces), an open torus (a third of its faces
    removed) and a random soup of 30 faces over 20 vertices (degenerate faces included)."""
    g = torch.Generator().manual_seed(seed)
    s = ico_sphere(2, dtype=dtype)
    t = torus(0.3, 1.0, 12, 16, dtype=dtype)
    tf = t.faces[: 2 * t.faces.shape[0] // 3]
    sv = torch.rand(20, 3, generator=g, dtype=dtype)
    sf = torch.randint(0, 20, (30, 3), generator=g)
    verts = torch.cat([s.pos, t.pos, sv])
    faces = torch.cat([s.faces, tf + s.pos.shape[0], sf + s.pos.shape[0] + t.pos.shape[0]]).long()
    return verts, faces, [s.faces.shape[0], tf.shape[0], 30]


def mixed_mesh_ranges(dtype=torch.float64, seed=0):
    """mixed_meshes with the face ranges as int64 tensors: (verts, faces, mesh_first, mesh_size)."""
    verts, faces, fs = mixed_meshes(dtype, seed)
    return verts, faces, torch.tensor([0, fs[0], fs[0] + fs[1]]), torch.tensor(fs)


@st.composite
def soups(draw):
    """Random triangle soups in 1 to 3 elements with points around them: (points, points per element, verts, faces,
    faces per element); some flat (degenerate boxes, tied centroids), some with repeated vertices."""
    N = draw(st.integers(1, 3))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    P = [draw(st.integers(0, 30)) for _ in range(N)]
    F = [draw(st.integers(0, 70)) for _ in range(N)]
    V = draw(st.integers(1, 30))
    verts = torch.rand(V, 3, generator=g, dtype=torch.float64)
    if draw(st.booleans()):  # flat: degenerate boxes, tied centroids
        verts[:, 2] = 0.5
    if draw(st.booleans()):  # repeated vertices: tied centroids along every axis
        verts = verts.round(decimals=1)
    faces = torch.randint(0, V, (sum(F), 3), generator=g)
    pts = torch.rand(sum(P), 3, generator=g, dtype=torch.float64) * 1.6 - 0.3
    return pts, P, verts, faces, F
