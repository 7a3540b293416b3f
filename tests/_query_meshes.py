"""Shared fixture of the mesh-query tests (test_mesh_bvh, test_winding_number): three meshes packed together."""

from __future__ import annotations

import torch

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
