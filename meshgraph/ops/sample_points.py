"""sample_points_from_meshes: area-weighted uniform samples on mesh surfaces, carrying any vertex features."""

from __future__ import annotations

import sys

import torch

from .._utils import values_are_free
from .packed_to_padded import packed_to_padded


def _rand_barycentric(n_meshes: int, n_samples: int, device, dtype, generator=None):
    """Uniform barycentric coordinates on a triangle, (N, S) each: (1 - sqrt(u), sqrt(u)(1 - v), sqrt(u) v), u and
    v drawn together as one (2, N, S) uniform tensor (PyTorch3D's draw, so seeded runs give its samples)."""
    uv = torch.rand(2, n_meshes, n_samples, device=device, dtype=dtype, generator=generator)
    u_sqrt = uv[0].sqrt()
    return 1.0 - u_sqrt, u_sqrt * (1.0 - uv[1]), u_sqrt * uv[1]


def sample_points_from_meshes(
    meshes,
    num_samples: int = 10000,
    return_normals: bool = False,
    return_textures: bool = False,
    features: str | list[str] | None = None,
    generator: torch.Generator | None = None,
):
    """Sample `num_samples` points per mesh, uniformly by area (PyTorch3D's sample_points_from_meshes).

    Args:
        meshes: a batch of meshes with 3-D positions (GraphBatch, Meshes, or PyTorch3D's own Meshes).
        num_samples: S, points per mesh.
        return_normals: also return each sample's face normal (unit length, (v1 - v0) x (v2 - v1)).
        return_textures: also return the textures sampled at the points (meshes with a `textures` object).
        features: vertex feature name(s) to carry to the samples by barycentric interpolation (any width).
        generator: torch.Generator for reproducible samples. The random draws are PyTorch3D's (one multinomial
            over the padded face areas, one (2, N, S) uniform tensor), so a seeded run gives PyTorch3D's samples.

    Returns:
        samples (N, S, 3), then normals (N, S, 3) if asked, then textures (N, S, C) if asked, then a dict
        name -> (N, S, *F) if features are asked. Meshes without faces give zeros. Differentiable w.r.t.
        positions and features (the face choice and barycentric coordinates are constants, as in PyTorch3D).

    Raises:
        ValueError: no mesh has faces ("Meshes are empty."), or the vertices hold NaN / inf.
    """
    from ..structures import as_graph_batch

    try:
        meshes = as_graph_batch(meshes)
    except TypeError:
        raise TypeError(f"meshes must be a GraphBatch or Meshes, got {type(meshes).__name__}") from None
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 0:
        raise ValueError(f"num_samples must be a non-negative int, got {num_samples!r}")
    if meshes.pos is None or meshes.pos.shape[1] != 3:
        raise ValueError("meshes need 3-D positions")
    if len(meshes) == 0 or meshes.num_faces == 0:
        raise ValueError("Meshes are empty.")
    pos, faces = meshes.pos, meshes.faces_packed()
    if pos.numel() and values_are_free(pos) and not bool(torch.isfinite(pos).all()):
        raise ValueError("Meshes contain nan or inf.")
    if return_textures and getattr(meshes, "textures", None) is None:
        raise ValueError("Meshes do not contain textures.")
    names = [features] if isinstance(features, str) else list(features or [])
    for n in names:
        if n not in meshes.vertex_feature_names:
            raise KeyError(f"no vertex feature {n!r}; this batch has {meshes.vertex_feature_names}")
    N, S = len(meshes), num_samples
    device, dtype = pos.device, pos.dtype
    # which meshes have faces, from the batch's host-side counts: no device read
    sizes = meshes.sizes("faces")
    valid_host = [i for i, n in enumerate(sizes) if n > 0]
    nv = len(valid_host)
    valid = torch.tensor(valid_host, dtype=torch.int64, device=device)
    first = meshes.faces_ptr[:-1].to(device)[valid]
    with torch.no_grad():
        areas = meshes.face_areas()
        max_faces = max(sizes)
        areas_padded = packed_to_padded(areas, first, max_faces)  # (N valid, F)
        # a mesh whose faces all have zero area has no distribution: draw uniformly, its samples are zeroed below
        flat = areas_padded.sum(1) <= 0
        own = torch.arange(max_faces, device=device)[None] < meshes.num_faces_per_graph.to(device)[valid][:, None]
        areas_padded = torch.where(flat[:, None], own.to(areas_padded.dtype), areas_padded)
        if S:
            choice = areas_padded.multinomial(S, replacement=True, generator=generator) + first[:, None]  # (Nv, S)
        else:  # torch.multinomial refuses 0 samples
            choice = torch.zeros((nv, 0), dtype=torch.int64, device=device)
    w0, w1, w2 = _rand_barycentric(nv, S, device, dtype, generator)
    keep = (~flat).to(dtype)[:, None, None]
    v0, v1, v2 = pos[faces[choice, 0]], pos[faces[choice, 1]], pos[faces[choice, 2]]  # (Nv, S, 3)
    samples = pos.new_zeros((N, S, 3))
    samples[valid] = (w0[..., None] * v0 + w1[..., None] * v1 + w2[..., None] * v2) * keep
    out = [samples]
    if return_normals:
        fv = pos[faces]
        n = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 1], dim=1)
        n = n / n.norm(dim=1, p=2, keepdim=True).clamp(min=sys.float_info.epsilon)
        normals = pos.new_zeros((N, S, 3))
        normals[valid] = n[choice] * keep
        out.append(normals)
    if return_textures:
        from ..render.rasterizer import Fragments

        pix_to_face = torch.full((N, S), -1, dtype=torch.int64, device=device)
        pix_to_face[valid] = choice
        bary = pos.new_zeros((N, S, 3))
        bary[valid] = torch.stack((w0, w1, w2), dim=2)
        dummy = torch.zeros((N, S, 1, 1), device=device, dtype=torch.float32)  # zbuf, dists: unused by textures
        fragments = Fragments(pix_to_face=pix_to_face.view(N, S, 1, 1), zbuf=dummy,
                              bary_coords=bary.view(N, S, 1, 1, 3), dists=dummy)
        out.append(meshes.sample_textures(fragments)[:, :, 0, 0, :])
    if names:
        feats = {}
        for name in names:
            x = meshes.packed(name)
            shape = (nv, S) + (1,) * (x.dim() - 1)
            f = faces[choice]
            xi = (w0.view(shape).to(x.dtype) * x[f[..., 0]] + w1.view(shape).to(x.dtype) * x[f[..., 1]]
                  + w2.view(shape).to(x.dtype) * x[f[..., 2]]) * keep.view((nv, 1) + (1,) * (x.dim() - 1)).to(x.dtype)
            full = x.new_zeros((N, S, *x.shape[1:]))
            full[valid] = xi
            feats[name] = full
        out.append(feats)
    return out[0] if len(out) == 1 else tuple(out)
