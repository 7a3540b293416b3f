"""Pure-PyTorch definition of sample_textures_uv: TexturesUV sampling at rasterized slots (PyTorch3D's
`interpolate_face_attributes` of the corner UVs followed by `grid_sample` of the slot's image's map), written
with ATen's grid_sample rules spelled out (unnormalize, clip / reflect, bilinear or nearest, zeros outside)."""

from __future__ import annotations

import torch


def _clip(x: torch.Tensor, size: int) -> torch.Tensor:
    # ATen's clip_coordinates; its gradient is 0 on the border itself (torch.clamp's would be 1 there)
    hi = float(size - 1)
    return torch.where(x <= 0, torch.zeros_like(x), torch.where(x >= hi, torch.full_like(x, hi), x))


def _reflect(x: torch.Tensor, twice_low: int, twice_high: int) -> torch.Tensor:
    if twice_low == twice_high:
        return torch.zeros_like(x)
    lo, span = twice_low / 2, (twice_high - twice_low) / 2
    x = x - lo
    x = torch.where(x < 0, -x, x)
    extra = torch.fmod(x, span)
    flips = torch.floor(x / span).detach()
    return torch.where(flips % 2 == 0, extra + lo, span - extra + lo)


def _source_index(coord: torch.Tensor, size: int, padding_mode: str, align_corners: bool) -> torch.Tensor:
    """grid coordinate in [-1, 1] -> texel coordinate (ATen's grid_sampler_compute_source_index)."""
    if align_corners:
        x = ((coord + 1) / 2) * (size - 1)
    else:
        x = ((coord + 1) * size - 1) / 2
    if padding_mode == "border":
        x = _clip(x, size)
    elif padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
        x = _clip(x, size)
    return x


def _read(maps: torch.Tensor, image: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """maps[image, y, x] (..., C), zero where (x, y) is outside the map."""
    _, Hm, Wm, _ = maps.shape
    inside = (x >= 0) & (x < Wm) & (y >= 0) & (y < Hm)
    texels = maps[image, y.clamp(0, Hm - 1), x.clamp(0, Wm - 1)]
    return torch.where(inside[..., None], texels, torch.zeros_like(texels))


def sample_textures_uv(pix_to_face, bary, faces_uvs, verts_uvs, maps, mode="bilinear", padding_mode="border",
                       align_corners=True):
    """(N, H, W, K, C): maps[n] read at each slot's interpolated UV (u right, v up; UV (0, 0) for empty slots)."""
    N, Hm, Wm, C = maps.shape
    F = faces_uvs.shape[0]
    on_face = (pix_to_face >= 0) & (pix_to_face < F)
    f = torch.where(on_face, pix_to_face, torch.zeros_like(pix_to_face))
    corners = verts_uvs[faces_uvs[f]] if F > 0 else verts_uvs.new_zeros((*pix_to_face.shape, 3, 2))
    uv = torch.where(on_face[..., None], (bary[..., None] * corners).sum(-2), torch.zeros((), dtype=bary.dtype))
    gx, gy = uv[..., 0] * 2 - 1, 1 - uv[..., 1] * 2  # grid_sample's coordinates: x right, y down
    ix = _source_index(gx, Wm, padding_mode, align_corners)
    iy = _source_index(gy, Hm, padding_mode, align_corners)
    image = torch.arange(N, device=maps.device).view(N, 1, 1, 1).expand(pix_to_face.shape)
    if mode == "nearest":
        return _read(maps, image, torch.round(ix).long(), torch.round(iy).long())  # half to even
    x0, y0 = torch.floor(ix).detach(), torch.floor(iy).detach()
    x1, y1 = x0 + 1, y0 + 1
    out = 0
    for x, y, w in ((x0, y0, (x1 - ix) * (y1 - iy)), (x1, y0, (ix - x0) * (y1 - iy)),
                    (x0, y1, (x1 - ix) * (iy - y0)), (x1, y1, (ix - x0) * (iy - y0))):
        out = out + _read(maps, image, x.long(), y.long()) * w[..., None]
    return out


def sample_textures_uv_backward(grad, pix_to_face, bary, faces_uvs, verts_uvs, maps, mode="bilinear",
                                padding_mode="border", align_corners=True):
    """(grad_bary, grad_verts_uvs, grad_maps) of the above (autograd of the definition)."""
    with torch.enable_grad():
        b, v, m = (t.detach().requires_grad_(True) for t in (bary, verts_uvs, maps))
        out = sample_textures_uv(pix_to_face, b, faces_uvs, v, m, mode, padding_mode, align_corners)
        got = torch.autograd.grad(out, (b, v, m), grad, allow_unused=True)
    return tuple(torch.zeros_like(t) if g is None else g for g, t in zip(got, (bary, verts_uvs, maps)))
