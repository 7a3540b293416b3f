"""sample_textures_uv: TexturesUV sampling at rasterized slots in one fused pass -- each slot's UV interpolated from
its face's corner UVs (read through faces_uvs) and its image's map read there, bilinearly or nearest, with
grid_sample's padding modes and align_corners (PyTorch3D's TexturesUV.sample_textures semantics). No per-slot UV
or texel array is built; the backward kernels send gradients to the barycentrics, the UVs and the maps.

Kernels: csrc/ops/sample_textures_uv/ (contract in sample_textures_uv.h).
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, values_are_free

_extension.load()

MODES = ("bilinear", "nearest")
PADDING_MODES = ("zeros", "border", "reflection")


def sample_textures_uv(pix_to_face: torch.Tensor, barycentric_coords: torch.Tensor, faces_uvs: torch.Tensor,
                       verts_uvs: torch.Tensor, maps: torch.Tensor, *, sampling_mode: str = "bilinear",
                       padding_mode: str = "border", align_corners: bool = True) -> torch.Tensor:
    """(N, H, W, K, C): maps[n] (N, Hm, Wm, C) read at each slot's UV (u right, v up, in [0, 1]).

    pix_to_face (N, H, W, K) int64 (packed face ids, -1 empty), barycentric_coords (N, H, W, K, 3), faces_uvs
    (F, 3) int rows of verts_uvs (V, 2) (packed over the batch: `TexturesUV.faces_uvs_packed()` /
    `verts_uvs_packed()`). Empty slots read the map at UV (0, 0), as PyTorch3D's do (blending ignores them).
    Computes in the maps' dtype (float16 / bfloat16 summed in float32); differentiable w.r.t. the barycentrics,
    verts_uvs and maps.
    """
    check_tensor(pix_to_face, "pix_to_face", dim=4, dtypes=(torch.int64,))
    check_tensor(barycentric_coords, "barycentric_coords", dtypes=FLOAT_DTYPES)
    if barycentric_coords.shape != (*pix_to_face.shape, 3):
        raise ValueError(f"barycentric_coords must be {(*pix_to_face.shape, 3)}, got {tuple(barycentric_coords.shape)}")
    check_tensor(faces_uvs, "faces_uvs", dim=2, dtypes=(torch.int64, torch.int32))
    if faces_uvs.shape[1] != 3:
        raise ValueError(f"faces_uvs must be (F, 3), got {tuple(faces_uvs.shape)}")
    check_tensor(verts_uvs, "verts_uvs", dim=2, dtypes=FLOAT_DTYPES)
    if verts_uvs.shape[1] != 2:
        raise ValueError(f"verts_uvs must be (V, 2), got {tuple(verts_uvs.shape)}")
    check_tensor(maps, "maps", dim=4, dtypes=FLOAT_DTYPES)
    if maps.shape[0] != pix_to_face.shape[0]:
        raise ValueError(f"maps must hold one map per image ({pix_to_face.shape[0]}), got {maps.shape[0]}")
    if maps.shape[1] == 0 or maps.shape[2] == 0:
        raise ValueError(f"maps must not be empty, got {tuple(maps.shape)}")
    if sampling_mode not in MODES:
        raise ValueError(f"sampling_mode must be one of {MODES}, got {sampling_mode!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
    check_same_device(maps=maps, pix_to_face=pix_to_face, barycentric_coords=barycentric_coords,
                      faces_uvs=faces_uvs, verts_uvs=verts_uvs)
    if values_are_free(faces_uvs) and faces_uvs.numel():
        lo, hi = int(faces_uvs.min()), int(faces_uvs.max())
        if lo < 0 or hi >= verts_uvs.shape[0]:
            raise ValueError(f"faces_uvs must index the {verts_uvs.shape[0]} rows of verts_uvs, got [{lo}, {hi}]")
    if values_are_free(pix_to_face) and pix_to_face.numel():
        lo, hi = int(pix_to_face.min()), int(pix_to_face.max())
        if lo < -1 or hi >= faces_uvs.shape[0]:
            raise ValueError(f"pix_to_face must hold -1 or face indices in [0, {faces_uvs.shape[0]}), got [{lo}, {hi}]")
    return torch.ops.meshgraph.sample_textures_uv(
        pix_to_face, barycentric_coords.to(maps.dtype), faces_uvs.long(), verts_uvs.to(maps.dtype), maps,
        sampling_mode, padding_mode, bool(align_corners),
    )


@torch.library.register_fake("meshgraph::sample_textures_uv")
def _fake(pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners):
    return maps.new_empty((*pix_to_face.shape, maps.shape[-1]))


@torch.library.register_fake("meshgraph::sample_textures_uv_backward")
def _fake_backward(grad, pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners):
    return torch.empty_like(bary), torch.empty_like(verts_uvs), torch.empty_like(maps)


def _setup(ctx, inputs, output):
    pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners = inputs
    ctx.modes = (mode, padding_mode, align_corners)
    ctx.save_for_backward(pix_to_face, bary, faces_uvs, verts_uvs, maps)


def _backward(ctx, grad):
    p2f, bary, faces_uvs, verts_uvs, maps = ctx.saved_tensors
    gb, gv, gm = torch.ops.meshgraph.sample_textures_uv_backward(
        grad.contiguous(), p2f, bary, faces_uvs, verts_uvs, maps, *ctx.modes)
    return None, gb, None, gv, gm, None, None, None


def _setup_backward(ctx, inputs, output):
    grad, pix_to_face, bary, faces_uvs, verts_uvs, maps, mode, padding_mode, align_corners = inputs
    ctx.modes = (mode, padding_mode, align_corners)
    ctx.save_for_backward(grad, pix_to_face, bary, faces_uvs, verts_uvs, maps)


def _backward_backward(ctx, gg_bary, gg_uvs, gg_maps):
    # second order through the readable reference (autograd of its backward)
    from .reference.textures import sample_textures_uv as ref

    grad, p2f, bary, faces_uvs, verts_uvs, maps = ctx.saved_tensors
    with torch.enable_grad():
        g, b, v, m = (t.detach().requires_grad_(True) for t in (grad, bary, verts_uvs, maps))
        out = ref(p2f, b, faces_uvs, v, m, *ctx.modes)
        firsts = torch.autograd.grad(out, (b, v, m), g, create_graph=True, allow_unused=True)
        pairs = [(o, gg) for o, gg in zip(firsts, (gg_bary, gg_uvs, gg_maps)) if gg is not None and o is not None]
        if not pairs:
            return (None,) * 9
        res = torch.autograd.grad([o for o, _ in pairs], (g, b, v, m), [gg for _, gg in pairs], allow_unused=True)
    return res[0], None, res[1], None, res[2], res[3], None, None, None


torch.library.register_autograd("meshgraph::sample_textures_uv", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::sample_textures_uv_backward", _backward_backward,
                                setup_context=_setup_backward)
