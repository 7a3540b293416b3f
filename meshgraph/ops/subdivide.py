"""Mesh subdivision (PyTorch3D's SubdivideMeshes): each triangle becomes four, a new vertex at every edge midpoint,
carrying every vertex feature by averaging the edge's two endpoints."""

from __future__ import annotations

import torch


def subdivide(meshes):
    """One level of midpoint subdivision of every mesh of the batch (graphs without faces pass through).

    Returns a new GraphBatch in PyTorch3D's SubdivideMeshes order: per graph, the old vertices followed by one per
    unique edge (its midpoint, edges sorted as `edges_from_faces` gives them), then faces (a, ab, ca) for every old
    face (a, b, c), then every (b, bc, ab), every (c, ca, bc), every (bc, ca, ab) (orientation is kept), and
    every floating vertex feature (positions included) of a new vertex is the mean of its edge's endpoints
    (non-floating features are taken from the edge's first endpoint). Differentiable w.r.t. positions and features.
    """
    from ..graph import POS, Graph, GraphBatch, edges_from_faces

    if not isinstance(meshes, GraphBatch):
        raise TypeError(f"meshes must be a GraphBatch, got {type(meshes).__name__}")
    out = []
    for g in meshes.graphs():
        if g.faces is None or g.faces.shape[0] == 0:
            out.append(g)
            continue
        faces = g.faces
        V = g.num_verts
        edges = edges_from_faces(faces, loops=True)  # (E, 2) sorted unique, u <= v (PyTorch3D keeps (i, i))
        # id of the midpoint vertex of each face edge: find each sorted pair among the unique edges
        key_all = edges[:, 0] * V + edges[:, 1]
        def mid(a, b):
            lo, hi = torch.minimum(a, b), torch.maximum(a, b)
            return V + torch.searchsorted(key_all, lo * V + hi)
        a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
        ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
        new_faces = torch.cat([
            torch.stack([a, ab, ca], 1), torch.stack([b, bc, ab], 1), torch.stack([c, ca, bc], 1),
            torch.stack([bc, ca, ab], 1),
        ])
        feats = {}
        for name, x in g.vertex_features.items():
            if x.is_floating_point():
                m = (x[edges[:, 0]] + x[edges[:, 1]]) / 2
            else:
                m = x[edges[:, 0]]
            feats[name] = torch.cat([x, m])
        pos = feats.pop(POS, None)
        out.append(Graph(pos, new_faces, num_verts=V + edges.shape[0], vertex_features=feats))
    return GraphBatch(out)
