"""Reference for mesh_face_areas_normals and its backward: the formulas in PyTorch, the backward by autograd."""

from __future__ import annotations

import torch


def mesh_face_areas_normals(verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """areas (F,) = |n| / 2, normals (F, 3) = n / max(|n|, 1e-6), n = (v1 - v0) x (v2 - v0); computed in float32
    for the half types, returned in verts' dtype."""
    v = verts.float() if verts.dtype in (torch.float16, torch.bfloat16) else verts
    v0, v1, v2 = v[faces.long()].unbind(1)
    n = torch.linalg.cross(v1 - v0, v2 - v0, dim=1)
    length = n.norm(dim=1)
    return (length / 2).to(verts.dtype), (n / length.clamp(min=1e-6)[:, None]).to(verts.dtype)


def mesh_face_areas_normals_backward(grad_areas: torch.Tensor, grad_normals: torch.Tensor, verts: torch.Tensor,
                                     faces: torch.Tensor) -> torch.Tensor:
    """grad_verts (V, 3): the vector-Jacobian product of mesh_face_areas_normals (autograd of the formulas)."""
    with torch.enable_grad():
        v = verts if verts.requires_grad else verts.detach().requires_grad_(True)
        areas, normals = mesh_face_areas_normals(v, faces)
        create = grad_areas.requires_grad or grad_normals.requires_grad or verts.requires_grad
        (g,) = torch.autograd.grad((areas, normals), (v,), (grad_areas, grad_normals), allow_unused=True,
                                   create_graph=create)
    return torch.zeros_like(verts) if g is None else g
