"""marching_cubes: the iso-surface of each volume of a batch as a closed triangle mesh (PyTorch3D's
`pytorch3d.ops.marching_cubes.marching_cubes` signature and return type).

Kernels: csrc/ops/marching_cubes/ (CPU: parallel over layers of cells; CUDA: count, scan, emit). Reference:
meshgraph/ops/reference/marching_cubes.py, which also derives the case table (tools/gen_marching_cubes_tables.py
writes it into the C++ header).
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_tensor

_extension.load()


def _isolevels(vol_batch: torch.Tensor, isolevel) -> torch.Tensor:
    """(N,) isolevels on the volume's device: the given number, or (max + min) / 2 of each volume (computed in
    float32 / float64, so half volumes do not overflow)."""
    N = vol_batch.shape[0]
    acc = torch.float64 if vol_batch.dtype == torch.float64 else torch.float32
    if isolevel is None:
        if vol_batch[0].numel() == 0:
            return vol_batch.new_zeros(N, dtype=acc)
        flat = vol_batch.reshape(N, -1).to(acc)
        return (flat.amax(1) + flat.amin(1)) / 2
    if isinstance(isolevel, torch.Tensor):
        if isolevel.numel() != 1:
            raise ValueError(f"isolevel must be a number or a one-element tensor, got shape {tuple(isolevel.shape)}")
        return isolevel.reshape(1).to(device=vol_batch.device, dtype=torch.float64).expand(N).contiguous()
    if isinstance(isolevel, bool) or not isinstance(isolevel, (int, float)):
        raise TypeError(f"isolevel must be a float or None, got {type(isolevel).__name__}")
    return torch.full((N,), float(isolevel), dtype=torch.float64, device=vol_batch.device)


def marching_cubes(
    vol_batch: torch.Tensor,
    isolevel: float | None = None,
    return_local_coords: bool = True,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Iso-surfaces of a batch of scalar volumes.

    Args:
        vol_batch: (N, D, H, W) float16 / bfloat16 / float32 / float64 volumes (finite values).
        isolevel: the iso-value; a point is inside when its value is below it. None: (max + min) / 2 of each
            volume (PyTorch3D's default).
        return_local_coords: vertices in [-1, 1]^3 (x = -1 at the first sample along W, +1 at the last; y along
            H, z along D), else in grid coordinates [0, W-1] x [0, H-1] x [0, D-1] (PyTorch3D's two conventions).

    Returns:
        (verts, faces): lists of N tensors, verts[i] (V_i, 3) as (x, y, z) in float32 (float64 for float64
        volumes), faces[i] (F_i, 3) int64 indexing verts[i]. A volume the surface does not cross (empty, fewer
        than 2 samples along an axis, constant, or the isolevel outside its value range) gives (0, 3) tensors
        (PyTorch3D returns empty lists there).

    The mesh is indexed and closed: one vertex per crossed grid edge (shared by the cells around the edge), no two
    vertices at one position (a surface through a grid sample has one vertex there), and where the surface does not
    reach the volume's boundary every edge belongs to exactly two faces, oriented so that normals point from values
    below the isolevel to values above it (PyTorch3D's winding). Ambiguous cell faces separate the inside corners.
    Vertices are ordered by grid position (z, y, x, then the edge's axis), faces by cell: deterministic, the same on
    CPU and CUDA and for any number of threads. NaN or infinite densities raise a RuntimeError.

    Not differentiable (as in PyTorch3D): the returned vertices carry no gradient to `vol_batch`.

    Device syncs: on CUDA, one (to size the outputs), plus one to split the packed result into per-volume lists.
    """
    check_tensor(vol_batch, "vol_batch", dim=4, dtypes=FLOAT_DTYPES)
    if not isinstance(return_local_coords, bool):
        raise TypeError(f"return_local_coords must be a bool, got {type(return_local_coords).__name__}")
    N, D, H, W = vol_batch.shape
    iso = _isolevels(vol_batch, isolevel)
    verts, faces, vpv, fpv = torch.ops.meshgraph.marching_cubes(vol_batch.detach(), iso)
    if return_local_coords and verts.shape[0] > 0:
        # grid coordinate c along an axis of n samples -> 2 c / (n - 1) - 1 (axes with one sample have no cells)
        size = torch.tensor([W, H, D], dtype=verts.dtype, device=verts.device)
        verts = verts * (2.0 / (size - 1).clamp(min=1)) - 1.0
    counts = torch.stack([vpv, fpv]).tolist()
    return list(verts.split(counts[0])), list(faces.split(counts[1]))


@torch.library.register_fake("meshgraph::marching_cubes")
def _fake(vol_batch, isolevel):
    ctx = torch.library.get_ctx()
    acc = torch.float64 if vol_batch.dtype == torch.float64 else torch.float32
    V, F = ctx.new_dynamic_size(), ctx.new_dynamic_size()
    N = vol_batch.shape[0]
    return (
        vol_batch.new_empty((V, 3), dtype=acc),
        vol_batch.new_empty((F, 3), dtype=torch.int64),
        vol_batch.new_empty((N,), dtype=torch.int64),
        vol_batch.new_empty((N,), dtype=torch.int64),
    )


__all__ = ["marching_cubes"]
