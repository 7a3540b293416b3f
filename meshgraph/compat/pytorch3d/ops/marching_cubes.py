"""`pytorch3d.ops.marching_cubes` mirror (PyTorch3D 0.7.9). Not re-exported by `pytorch3d.ops` itself, so not by
this package's `ops` either: import it from this module, as in PyTorch3D."""

from __future__ import annotations

import torch

from ....ops.marching_cubes import _isolevels
from ....ops.marching_cubes import marching_cubes as _marching_cubes
from ....ops.reference.marching_cubes import marching_cubes_volume as _reference_volume

__all__ = ["marching_cubes", "marching_cubes_naive"]


def marching_cubes(vol_batch: torch.Tensor, isolevel: float | None = None, return_local_coords: bool = True):
    """PyTorch3D 0.7.9's marching_cubes (meshgraph.ops.marching_cubes: the same signature and conventions).
    Differences: a volume without surface gives (0, 3) tensors instead of empty lists; vertices are shared
    wherever they coincide (PyTorch3D keeps one per grid edge even when the isolevel equals a sample's value) and
    only exactly degenerate triangles are dropped (PyTorch3D drops those with corners within 1e-5, which can open
    holes); vertices are ordered by grid position and ambiguous cell faces separate the inside corners."""
    return _marching_cubes(vol_batch, isolevel, return_local_coords)


def marching_cubes_naive(vol_batch: torch.Tensor, isolevel: float | None = None, return_local_coords: bool = True):
    """PyTorch3D's pure-Python marching cubes: here meshgraph's reference loop (the specification the kernels
    match exactly), with marching_cubes' conventions and output."""
    from ...._utils import FLOAT_DTYPES, check_tensor

    check_tensor(vol_batch, "vol_batch", dim=4, dtypes=FLOAT_DTYPES)
    N, D, H, W = vol_batch.shape
    iso = _isolevels(vol_batch, isolevel).cpu()
    verts, faces = [], []
    for n in range(N):
        v, f = _reference_volume(vol_batch[n].detach().cpu(), float(iso[n]))
        if return_local_coords and v.shape[0] > 0:
            size = torch.tensor([W, H, D], dtype=v.dtype)
            v = v * (2.0 / (size - 1).clamp(min=1)) - 1.0
        verts.append(v.to(vol_batch.device))
        faces.append(f.to(vol_batch.device))
    return verts, faces
