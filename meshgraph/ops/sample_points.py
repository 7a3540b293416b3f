"""sample_points_from_meshes: area-weighted uniform samples on mesh surfaces, carrying any vertex features."""

from __future__ import annotations

import torch

from ..graph import GraphBatch


def _rand_barycentric(n: int, device, dtype, generator=None):
    """Uniform barycentric coordinates on a triangle: (1 - sqrt(r1), sqrt(r1)(1 - r2), sqrt(r1) r2)."""
    r1 = torch.rand(n, device=device, dtype=dtype, generator=generator).sqrt()
    r2 = torch.rand(n, device=device, dtype=dtype, generator=generator)
    return 1 - r1, r1 * (1 - r2), r1 * r2


def sample_points_from_meshes(
    meshes: GraphBatch,
    num_samples: int = 10000,
    return_normals: bool = False,
    features: str | list[str] | None = None,
    generator: torch.Generator | None = None,
):
    """Sample `num_samples` points per mesh, uniformly by area (PyTorch3D's sample_points_from_meshes).

    Args:
        meshes: GraphBatch whose graphs have 3-D positions and faces.
        num_samples: S, points per mesh.
        return_normals: also return each sample's face normal (unit length).
        features: vertex feature name(s) to carry to the samples by barycentric interpolation (any width).
        generator: torch.Generator for reproducible samples.

    Returns:
        samples (N, S, 3), then normals (N, S, 3) if asked, then a dict name -> (N, S, *F) if features are
        asked. Meshes without faces give zeros. Differentiable w.r.t. positions and features (the face choice
        and barycentric coordinates are constants, as in PyTorch3D).
    """
    if not isinstance(meshes, GraphBatch):
        raise TypeError(f"meshes must be a GraphBatch, got {type(meshes).__name__}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 0:
        raise ValueError(f"num_samples must be a non-negative int, got {num_samples!r}")
    if meshes.pos is None or meshes.pos.shape[1] != 3:
        raise ValueError("meshes need 3-D positions")
    names = [features] if isinstance(features, str) else list(features or [])
    for n in names:
        if n not in meshes.vertex_feature_names:
            raise KeyError(f"no vertex feature {n!r}; this batch has {meshes.vertex_feature_names}")
    N, S = len(meshes), num_samples
    pos, faces = meshes.pos, meshes.faces_packed()
    device, dtype = pos.device, pos.dtype
    samples = pos.new_zeros((N, S, 3))
    normals = pos.new_zeros((N, S, 3)) if return_normals else None
    feats = {n: meshes.packed(n).new_zeros((N, S, *meshes.packed(n).shape[1:])) for n in names}
    if meshes.num_faces and S:
        with torch.no_grad():
            areas = meshes.face_areas()
            # one multinomial draw per mesh over its own faces (face ranges from faces_ptr)
            ptr = meshes.faces_ptr.tolist()
            choice = torch.zeros(N, S, dtype=torch.int64, device=device)
            has = torch.zeros(N, dtype=torch.bool, device=device)
            for i in range(N):
                a = areas[ptr[i] : ptr[i + 1]]
                if a.numel() and float(a.sum()) > 0:
                    choice[i] = ptr[i] + torch.multinomial(a, S, replacement=True, generator=generator)
                    has[i] = True
            w0, w1, w2 = _rand_barycentric(N * S, device, dtype, generator)
        f = faces[choice.reshape(-1)]  # (N*S, 3)
        keep = has.repeat_interleave(S).to(dtype)[:, None]
        v0, v1, v2 = pos[f[:, 0]], pos[f[:, 1]], pos[f[:, 2]]
        samples = ((w0[:, None] * v0 + w1[:, None] * v1 + w2[:, None] * v2) * keep).view(N, S, 3)
        if return_normals:
            n = torch.nn.functional.normalize(torch.linalg.cross(v1 - v0, v2 - v0, dim=1), dim=1, eps=1e-6)
            normals = (n * keep).view(N, S, 3)
        for name in names:
            x = meshes.packed(name)
            shape = (-1,) + (1,) * (x.dim() - 1)
            k = keep.view(shape).to(x.dtype)
            xi = (w0.view(shape).to(x.dtype) * x[f[:, 0]] + w1.view(shape).to(x.dtype) * x[f[:, 1]]
                  + w2.view(shape).to(x.dtype) * x[f[:, 2]]) * k
            feats[name] = xi.view(N, S, *x.shape[1:])
    out = [samples]
    if return_normals:
        out.append(normals)
    if names:
        out.append(feats)
    return out[0] if len(out) == 1 else tuple(out)
