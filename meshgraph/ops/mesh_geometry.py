"""Per-face geometry of packed triangle meshes, on plain tensors (PyTorch3D's `mesh_face_areas_normals`).

Kernels: csrc/ops/mesh_face_areas_normals/ (one pass over the faces, forward and backward; the backward's
per-corner contributions are summed without atomics). Reference: meshgraph/ops/reference/mesh_geometry.py.
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_index_range, check_index_tensor, check_tensor

_extension.load()


def mesh_face_areas_normals(verts: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Areas and unit normals of triangles.

    Args:
        verts: (V, 3) float vertex positions (float16 / bfloat16 / float32 / float64).
        faces: (F, 3) int64 vertex indices (int32 accepted).

    Returns:
        areas (F,): |n| / 2 with n = (v1 - v0) x (v2 - v0); normals (F, 3): n / max(|n|, 1e-6) (PyTorch3D's clamp,
        so degenerate faces get a zero normal). In verts' dtype, computed in float32 for the half types.
        Differentiable w.r.t. verts (a fused backward kernel; twice differentiable through the reference).
    """
    check_tensor(verts, "verts", shape=(None, 3), dtypes=FLOAT_DTYPES)
    check_index_tensor(faces, "faces", shape=(None, 3))
    if faces.device != verts.device:
        raise ValueError(f"faces is on {faces.device} but verts is on {verts.device}: they must share a device")
    check_index_range(faces, "faces", verts.shape[0])
    return torch.ops.meshgraph.mesh_face_areas_normals(verts, faces)


@torch.library.register_fake("meshgraph::mesh_face_areas_normals")
def _fake(verts, faces):
    F = faces.shape[0]
    return verts.new_empty((F,)), verts.new_empty((F, 3))


@torch.library.register_fake("meshgraph::mesh_face_areas_normals_backward")
def _fake_backward(grad_areas, grad_normals, verts, faces):
    return verts.new_empty(verts.shape)


def _setup(ctx, inputs, output):
    verts, faces = inputs
    ctx.save_for_backward(verts, faces)


def _backward(ctx, grad_areas, grad_normals):
    verts, faces = ctx.saved_tensors
    F = faces.shape[0]
    ga = verts.new_zeros(F) if grad_areas is None else grad_areas.to(verts.dtype).contiguous()
    gn = verts.new_zeros(F, 3) if grad_normals is None else grad_normals.to(verts.dtype).contiguous()
    return torch.ops.meshgraph.mesh_face_areas_normals_backward(ga, gn, verts, faces), None


def _setup_backward(ctx, inputs, output):
    ga, gn, verts, faces = inputs
    ctx.save_for_backward(ga, gn, verts, faces)


def _backward_backward(ctx, gg):
    # second order through the readable reference (the backward is a smooth function of its inputs)
    from .reference.mesh_geometry import mesh_face_areas_normals_backward as ref

    ga, gn, verts, faces = ctx.saved_tensors
    with torch.enable_grad():
        args = [t.detach().requires_grad_(True) for t in (ga, gn, verts)]
        out = ref(*args, faces)
        res = torch.autograd.grad(out, args, gg, allow_unused=True)
    return (*res, None)


torch.library.register_autograd("meshgraph::mesh_face_areas_normals", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::mesh_face_areas_normals_backward", _backward_backward,
                                setup_context=_setup_backward)

__all__ = ["mesh_face_areas_normals"]
