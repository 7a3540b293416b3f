"""`pytorch3d.ops.cubify` mirror: returns Meshes."""

from __future__ import annotations

import torch

from ....ops.cubify import _CUBE_TRIANGLES, _exposed
from ....ops.cubify import cubify as _cubify
from ....render.textures import TexturesAtlas
from ....structures import Meshes

__all__ = ["cubify"]


def cubify(voxels: torch.Tensor, thresh: float, *, feats: torch.Tensor | None = None, device=None,
           align: str = "topleft") -> Meshes:
    """PyTorch3D 0.7.9's cubify (same vertices, faces and order), as a Meshes. With align="center", `feats`
    (N, K, D, H, W) per-voxel features give the meshes a TexturesAtlas holding one 1 x 1 texel per face: the
    features of the voxel the face belongs to (PyTorch3D's rule; other alignments ignore feats, as PyTorch3D)."""
    device = voxels.device if device is None else torch.device(device)
    if len(voxels) == 0:
        return Meshes(verts=[], faces=[])
    batch = _cubify(voxels, thresh, align=align, device=device)
    textures = None
    if feats is not None and align == "center" and batch.num_faces > 0:
        textures = TexturesAtlas(_face_features(voxels, thresh, feats, batch.num_faces_per_graph.tolist()))
    return Meshes(verts=batch.pos_list(), faces=batch.faces_list(), textures=textures)


def _face_features(voxels: torch.Tensor, thresh: float, feats: torch.Tensor, counts: list[int]) -> list[torch.Tensor]:
    """Per mesh, (F_i, 1, 1, K): the feature of each face's voxel, faces in cubify's order (voxel by voxel in
    (y, x, z) order, each voxel's exposed sides in _CUBE_TRIANGLES order)."""
    with torch.no_grad():
        occ = (voxels >= thresh).permute(0, 2, 3, 1)  # (N, H, W, D)
        sides = {s: _exposed(occ, *s) for s in {t[1] for t in _CUBE_TRIANGLES}}
        keep = torch.stack([sides[s] for _, s in _CUBE_TRIANGLES], dim=-1)
        n, y, x, z, _ = torch.nonzero(keep, as_tuple=True)
    per_face = feats.permute(0, 3, 4, 2, 1)[n.to(feats.device), y.to(feats.device), x.to(feats.device), z.to(feats.device)]
    return list(per_face.reshape(-1, 1, 1, feats.shape[1]).split(counts, 0))
