"""interpolate_face_attributes: barycentric interpolation of face-corner or vertex values at rasterized pixel
slots (PyTorch3D's `interpolate_face_attributes`), fused forward and backward kernels for any width D.

`interpolate_vertex_features` reads (V, D) vertex features through the faces: no (F, 3, D) copy.
Kernels: csrc/ops/interpolate_face_attributes/.
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, values_are_free

_extension.load()

_FLOATS = FLOAT_DTYPES  # float16 / bfloat16 summed in float32


def _check_slots(pix_to_face, barycentric_coords, num_faces: int):
    check_tensor(pix_to_face, "pix_to_face", dtypes=(torch.int64,))
    check_tensor(barycentric_coords, "barycentric_coords", dtypes=_FLOATS)
    if barycentric_coords.shape != (*pix_to_face.shape, 3):
        raise ValueError(f"barycentric_coords must be {(*pix_to_face.shape, 3)}, got {tuple(barycentric_coords.shape)}")
    if values_are_free(pix_to_face) and pix_to_face.numel():
        lo, hi = int(pix_to_face.min()), int(pix_to_face.max())
        if lo < -1 or hi >= num_faces:
            raise ValueError(f"pix_to_face must hold -1 or face indices in [0, {num_faces}), got [{lo}, {hi}]")


def interpolate_face_attributes(pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor,
                                face_attributes: torch.Tensor) -> torch.Tensor:
    """out[s] = sum_i bary[s, i] * face_attributes[pix_to_face[s], i], zeros where pix_to_face < 0.

    pix_to_face (N, H, W, K) (any shape S), barycentric_coords (S..., 3), face_attributes (F, 3, D) -> (S..., D).
    Differentiable w.r.t. barycentric_coords and face_attributes (PyTorch3D's function, same shapes).
    """
    check_tensor(face_attributes, "face_attributes", dim=3, dtypes=_FLOATS)
    if face_attributes.shape[1] != 3:
        raise ValueError(f"face_attributes must be (F, 3, D), got {tuple(face_attributes.shape)}")
    _check_slots(pix_to_face, barycentric_coords, face_attributes.shape[0])
    check_same_device(face_attributes=face_attributes, pix_to_face=pix_to_face, barycentric_coords=barycentric_coords)
    return torch.ops.meshgraph.interpolate_face_attributes(
        pix_to_face, barycentric_coords.to(face_attributes.dtype), face_attributes, None
    )


def interpolate_vertex_features(pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor, faces: torch.Tensor,
                                features: torch.Tensor) -> torch.Tensor:
    """out[s] = sum_i bary[s, i] * features[faces[pix_to_face[s], i]]: vertex features (V, D) interpolated through
    the packed faces (F, 3), without building (F, 3, D). Differentiable w.r.t. barycentrics and features."""
    check_tensor(features, "features", dim=2, dtypes=_FLOATS)
    check_tensor(faces, "faces", dim=2, dtypes=(torch.int64, torch.int32))
    if faces.shape[1] != 3:
        raise ValueError(f"faces must be (F, 3), got {tuple(faces.shape)}")
    if values_are_free(faces) and faces.numel() and (int(faces.min()) < 0 or int(faces.max()) >= features.shape[0]):
        raise ValueError(f"faces must index the {features.shape[0]} rows of features")
    _check_slots(pix_to_face, barycentric_coords, faces.shape[0])
    check_same_device(features=features, faces=faces, pix_to_face=pix_to_face)
    return torch.ops.meshgraph.interpolate_face_attributes(
        pix_to_face, barycentric_coords.to(features.dtype), features, faces.long()
    )


@torch.library.register_fake("meshgraph::interpolate_face_attributes")
def _fake(pix_to_face, bary, values, faces=None):
    return values.new_empty((*pix_to_face.shape, values.shape[-1]))


@torch.library.register_fake("meshgraph::interpolate_face_attributes_backward")
def _fake_backward(grad, pix_to_face, bary, values, faces=None):
    return torch.empty_like(bary), torch.empty_like(values)


def _setup(ctx, inputs, output):
    pix_to_face, bary, values, faces = inputs
    ctx.has_faces = faces is not None
    ctx.save_for_backward(pix_to_face, bary, values, *([faces] if faces is not None else []))


def _backward(ctx, grad):
    p2f, bary, values, *faces = ctx.saved_tensors
    gb, gv = torch.ops.meshgraph.interpolate_face_attributes_backward(
        grad.contiguous(), p2f, bary, values, faces[0] if faces else None
    )
    return None, gb, gv, None


def _setup_backward(ctx, inputs, output):
    grad, p2f, bary, values, faces = inputs
    ctx.save_for_backward(grad, p2f, bary, values, *([faces] if faces is not None else []))


def _backward_backward(ctx, gg_bary, gg_values):
    # The backward is bilinear in (grad, bary/values); second order through the readable reference.
    from .reference.render import interpolate_face_attributes as ref

    grad, p2f, bary, values, *faces = ctx.saved_tensors
    f = faces[0] if faces else None
    with torch.enable_grad():
        g, b, v = (t.detach().requires_grad_(True) for t in (grad, bary, values))
        out = ref(p2f, b, v, f)
        gb, gv = torch.autograd.grad(out, (b, v), g, create_graph=True)
        pairs = [(o, gg) for o, gg in ((gb, gg_bary), (gv, gg_values)) if gg is not None]
        res = torch.autograd.grad([o for o, _ in pairs], (g, b, v), [gg for _, gg in pairs], allow_unused=True)
    return res[0], None, res[1], res[2], None


torch.library.register_autograd("meshgraph::interpolate_face_attributes", _backward, setup_context=_setup)
torch.library.register_autograd(
    "meshgraph::interpolate_face_attributes_backward", _backward_backward, setup_context=_setup_backward
)


def clip_barycentric_coords(bary: torch.Tensor) -> torch.Tensor:
    """Barycentrics (..., 3) clamped to >= 0 and renormalized (sum clamped below at 1e-5), the rule
    rasterize_meshes(clip_barycentric_coords=True) applies; all -1 rows (empty slots) stay -1."""
    if bary.shape[-1] != 3:
        raise ValueError(f"Expected barycentric coords to have last dim = 3; got {bary.shape!r}")
    empty = (bary == -1).all(-1, keepdim=True)
    b = torch.where(empty, 0.0, bary.clamp(min=0.0))
    b = b / b.sum(-1, keepdim=True).clamp(min=1e-5)
    return torch.where(empty, -1.0, b)


def interpolate_zbuf(pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor, meshes) -> torch.Tensor:
    """(N, H, W, K) depth of each slot: the barycentric interpolation of its face's vertex z (meshes: anything with
    verts_packed / faces_packed, or a GraphBatch), -1 where pix_to_face is -1."""
    verts = meshes.verts_packed() if hasattr(meshes, "verts_packed") else meshes.pos_packed()
    z = interpolate_vertex_features(pix_to_face, barycentric_coords.to(verts.dtype), meshes.faces_packed(), verts[:, 2:])
    return torch.where(pix_to_face == -1, -1.0, z[..., 0])
