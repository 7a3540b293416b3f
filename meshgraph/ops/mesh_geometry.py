"""Per-face geometry of packed triangle meshes, on plain tensors (PyTorch3D's `mesh_face_areas_normals`)."""

from __future__ import annotations

import torch

from .._utils import FLOAT_DTYPES, check_index_range, check_index_tensor, check_tensor


def mesh_face_areas_normals(verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Areas and unit normals of triangles.

    Args:
        verts: (V, 3) float vertex positions (any float dtype).
        faces: (F, 3) int64 vertex indices (int32 accepted).

    Returns:
        areas (F,): |n| / 2 with n = (v1 - v0) x (v2 - v0); normals (F, 3): n / max(|n|, 1e-6) (PyTorch3D's clamp,
        so degenerate faces get a zero normal). Differentiable w.r.t. verts (autograd through the formulas).
    """
    check_tensor(verts, "verts", shape=(None, 3), dtypes=FLOAT_DTYPES)
    check_index_tensor(faces, "faces", shape=(None, 3))
    if faces.device != verts.device:
        raise ValueError(f"faces is on {faces.device} but verts is on {verts.device}: they must share a device")
    check_index_range(faces, "faces", verts.shape[0])
    v0, v1, v2 = verts[faces.long()].unbind(1)
    n = torch.linalg.cross(v1 - v0, v2 - v0, dim=1)
    length = n.norm(dim=1)
    return length / 2, n / length.clamp(min=1e-6)[:, None]


__all__ = ["mesh_face_areas_normals"]
