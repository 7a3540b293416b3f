"""`pytorch3d.ops.subdivide_meshes` mirror: the SubdivideMeshes module, on meshgraph's `subdivide`."""

from __future__ import annotations

import torch
import torch.nn as nn

from ....graph import Graph, GraphBatch
from ....ops.subdivide import subdivide
from ....structures import Meshes, as_graph_batch

__all__ = ["SubdivideMeshes"]

_FEATS = "subdivide_feats"


class SubdivideMeshes(nn.Module):
    """PyTorch3D's SubdivideMeshes: one new vertex per edge midpoint, four faces per face (orientation kept),
    per-vertex features averaged like the positions; PyTorch3D's vertex and face order.

    Given `meshes`, the subdivided faces of its first mesh are computed once (buffer `_subdivided_faces`, as in
    PyTorch3D, so state dicts load) and forward treats every batch as sharing that topology (features then
    come back padded (N, V', D)); otherwise each call subdivides each mesh (features packed (sum V', D)).
    """

    def __init__(self, meshes=None) -> None:
        super().__init__()
        self.precomputed = False
        self._N = -1
        if meshes is not None:
            with torch.no_grad():
                faces = self.subdivide_faces(as_graph_batch(meshes)[0])
            self.register_buffer("_subdivided_faces", faces)
            self.precomputed = True

    def subdivide_faces(self, meshes) -> torch.Tensor:
        """(4 sum F, 3) faces of the subdivided batch over PyTorch3D's numbering: old packed vertices, then one
        per packed edge (sum V + its row of `edges_packed()`); all corner-0 faces, then corner-1, corner-2 and
        centre faces."""
        meshes = as_graph_batch(meshes)
        with torch.no_grad():
            f = meshes.faces_packed()
            mid = meshes.faces_packed_to_edges_packed() + meshes.num_verts  # column k: side opposite corner k
            return torch.cat([
                torch.stack([f[:, 0], mid[:, 2], mid[:, 1]], 1),
                torch.stack([f[:, 1], mid[:, 0], mid[:, 2]], 1),
                torch.stack([f[:, 2], mid[:, 1], mid[:, 0]], 1),
                mid,
            ])

    def forward(self, meshes, feats=None):
        self._N = len(meshes)
        if self.precomputed:
            return self.subdivide_homogeneous(meshes, feats)
        return self.subdivide_heterogenerous(meshes, feats)

    def _subdivide(self, meshes, feats):
        batch = as_graph_batch(meshes)
        if feats is not None:
            if feats.shape[0] != batch.num_verts:
                raise ValueError(f"feats must have one row per packed vertex ({batch.num_verts}), got "
                                 f"{tuple(feats.shape)}")
            graphs = [Graph(p, f, vertex_features={_FEATS: x}) for p, f, x in
                      zip(batch.pos_list(), batch.faces_list(), feats.split(batch.num_verts_per_graph.tolist()))]
            batch = GraphBatch(graphs)
        out = subdivide(batch)
        new = Meshes(verts=out.pos_list(), faces=out.faces_list())
        return new, (out.packed(_FEATS) if feats is not None else None)

    def subdivide_homogeneous(self, meshes, feats=None):
        """Every mesh has the first mesh's topology; feats (N, V, D) or (N V, D) -> new feats (N, V', D)."""
        N, V = len(meshes), int(as_graph_batch(meshes).num_verts_per_graph.max())
        if feats is not None:
            if feats.dim() == 2:
                feats = feats.view(N, V, feats.shape[1])
            if feats.dim() != 3:
                raise ValueError("features need to be of shape (N, V, D) or (N*V, D)")
            feats = feats.reshape(N * V, -1)
        new, new_feats = self._subdivide(meshes, feats)
        if feats is None:
            return new
        return new, new_feats.view(N, -1, new_feats.shape[-1])

    def subdivide_heterogenerous(self, meshes, feats=None):
        """Meshes of any topologies; feats (sum V, D) packed -> new feats (sum V', D) packed."""
        new, new_feats = self._subdivide(meshes, feats)
        return new if feats is None else (new, new_feats)
