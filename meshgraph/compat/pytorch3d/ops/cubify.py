"""`pytorch3d.ops.cubify` mirror: returns Meshes."""

from __future__ import annotations

import torch

from ....ops.cubify import cubify as _cubify
from ....structures import Meshes

__all__ = ["cubify"]


def cubify(voxels: torch.Tensor, thresh: float, *, feats: torch.Tensor | None = None, device=None,
           align: str = "topleft") -> Meshes:
    """PyTorch3D 0.7.9's cubify (same vertices, faces and order), as a Meshes. `feats` (per-voxel colours, used
    by PyTorch3D with align="center" to build a TexturesAtlas) needs texture classes meshgraph does not have:
    giving it with align="center" raises; with other alignments PyTorch3D ignores it, and so does this."""
    if feats is not None and align == "center":
        raise NotImplementedError("cubify(feats=...) builds a TexturesAtlas, which meshgraph does not implement")
    device = voxels.device if device is None else torch.device(device)
    if len(voxels) == 0:
        return Meshes(verts=[], faces=[])
    batch = _cubify(voxels, thresh, align=align, device=device)
    return Meshes(verts=batch.pos_list(), faces=batch.faces_list())
