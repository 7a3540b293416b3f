"""rasterize_points: PyTorch3D's point rasterizer (idx, zbuf, dists), binned so that no bin can overflow.

Kernels: csrc/ops/rasterize_points/. Points are given in NDC (x left, y up, z = view depth), as in PyTorch3D;
`meshgraph.render` cameras produce that space (`cameras.transform_points_raster`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import _extension
from .._utils import (
    FLOAT_DTYPES,
    check_nonnegative_int,
    check_lengths,
    check_positive_int,
    check_tensor,
    first_from_counts,
    values_are_free,
)

_extension.load()

RASTER_DTYPES = FLOAT_DTYPES  # float16 / bfloat16 computed in float32, outputs in the input dtype


def image_hw(image_size) -> tuple[int, int]:
    """(H, W) from an int or a pair. ValueError with PyTorch3D's wording (its tests match on it) otherwise: a
    sequence that is not (H, W) ("tuple/list of (H, W)"), sizes that are not ints ("sizes must be integers") or not
    positive ("sizes must be greater than 0")."""
    if isinstance(image_size, (tuple, list, torch.Size)):
        if len(image_size) != 2:
            raise ValueError(f"image_size must be an int or a tuple/list of (H, W), got {image_size!r}")
        H, W = image_size
    else:
        H = W = image_size
    for name, v in (("image height", H), ("image width", W)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"image_size: sizes must be integers, got {image_size!r} ({name} {v!r})")
        if v <= 0:
            raise ValueError(f"image_size: sizes must be greater than 0, got {image_size!r} ({name} {v})")
    return int(H), int(W)


def pack_clouds(points, lengths=None, name: str = "points"):
    """(packed (P, 3), first (N,), size (N,), mask) from a GraphBatch, a list of (P_i, 3) tensors or an (N, P, 3)
    padded tensor with optional lengths. `mask` is the (N, P) validity mask of a padded input (else None)."""
    from ..graph import GraphBatch

    if isinstance(points, GraphBatch):
        packed = points.pos_packed()
        size = points.num_verts_per_graph.to(packed.device)
        first = points.verts_ptr[:-1].to(packed.device)
        mask = None
    elif hasattr(points, "points_packed"):  # a Pointclouds (PyTorch3D's or meshgraph's), duck-typed
        packed = points.points_packed()
        size = points.num_points_per_cloud().to(device=packed.device, dtype=torch.int64)
        first = points.cloud_to_packed_first_idx().to(device=packed.device, dtype=torch.int64)
        mask = None
    elif isinstance(points, (list, tuple)):
        for i, p in enumerate(points):
            check_tensor(p, f"{name}[{i}]", dim=2, dtypes=RASTER_DTYPES)
            if p.shape[1] != 3:
                raise ValueError(f"{name}[{i}] must be (P, 3), got {tuple(p.shape)}")
        if not points:
            raise ValueError(f"{name} is an empty list: give at least one cloud (it may have 0 points)")
        packed = torch.cat(list(points), 0)
        size = torch.tensor([p.shape[0] for p in points], dtype=torch.int64, device=packed.device)
        first = first_from_counts(size)
        mask = None
    else:
        check_tensor(points, name, dim=3, dtypes=RASTER_DTYPES)
        if points.shape[2] != 3:
            raise ValueError(f"{name} must be (N, P, 3), got {tuple(points.shape)}")
        N, P, _ = points.shape
        if lengths is None:
            packed = points.reshape(N * P, 3)
            size = torch.full((N,), P, dtype=torch.int64, device=points.device)
            mask = None
        else:
            size = check_lengths(lengths, "lengths", N, P, points.device)
            mask = torch.arange(P, device=points.device)[None, :] < size[:, None]
            packed = points[mask]
        first = first_from_counts(size)
    check_tensor(packed, name, dtypes=RASTER_DTYPES)
    return packed, first, size, mask


def rasterize_points(
    pointclouds,
    image_size: int | tuple[int, int] = 256,
    radius: float | torch.Tensor = 0.01,
    points_per_pixel: int = 8,
    bin_size: int | None = None,
    max_points_per_bin: int | None = None,
    lengths: torch.Tensor | None = None,
):
    """Rasterize point clouds given in NDC (PyTorch3D's `rasterize_points`, same outputs and conventions).

    Args:
        pointclouds: a GraphBatch (its `pos`), a Pointclouds (PyTorch3D's or meshgraph's: anything with
            points_packed), a list of (P_i, 3) tensors or an (N, P, 3) tensor (with optional
            `lengths` (N,)), float16/bfloat16/float32/float64, in NDC: +x left, +y up, the shorter image side spans [-1, 1], z the
            view depth. Points with z < 0 or non-finite coordinates are not drawn.
        image_size: S or (H, W) (non-square images allowed).
        radius: disk radius in NDC, a float, a (P,) tensor (or list) over the packed points, or (N, P) padded
            radii for padded input and structures.
        points_per_pixel: K, the number of nearest (in z) points kept per pixel.
        bin_size: tile side in pixels; None picks it from the radii; 0 rasterizes without bins (brute force).
            The result never depends on it: tiles are sized from the data and cannot overflow.
        max_points_per_bin: accepted for PyTorch3D compatibility and ignored (bins have no fixed capacity).

    Returns:
        idx (N, H, W, K) int64 indices into the packed points, zbuf (N, H, W, K) their z, dists (N, H, W, K)
        their *squared* NDC distance to the pixel centre; -1 pads all three. The K entries are sorted by z (ties
        by index). Differentiable w.r.t. the points through zbuf and dists.
    """
    packed, first, size, mask = pack_clouds(pointclouds, lengths)
    radius = packed_radius(radius, pointclouds, packed, size, mask)
    return rasterize_packed_points(packed, first, size, radius, image_size, points_per_pixel, bin_size)


def packed_radius(radius, pointclouds, packed: torch.Tensor, size: torch.Tensor, mask) -> torch.Tensor:
    """(P,) radii of the packed points from `rasterize_points`' radius forms (float, list, (P,) packed, (N, P)
    padded for a padded tensor or a structure); detached, validated positive."""
    if isinstance(radius, (list, tuple)):
        radius = torch.tensor(radius, dtype=packed.dtype, device=packed.device)
    if isinstance(radius, torch.Tensor):
        check_tensor(radius, "radius", dtypes=RASTER_DTYPES)
        if isinstance(pointclouds, torch.Tensor) and radius.shape == pointclouds.shape[:2]:  # (N, P) padded radii
            radius = radius.reshape(-1) if mask is None else radius[mask]
        elif not isinstance(pointclouds, (torch.Tensor, list, tuple)):  # a structure: (N, P_max) padded radii
            N, P_max = size.shape[0], (int(size.max()) if size.numel() else 0)
            if N == 1 and radius.dim() == 1 and radius.shape[0] == P_max:
                radius = radius[None]
            if radius.shape == (N, P_max):
                radius = radius[torch.arange(P_max, device=radius.device)[None] < size.to(radius.device)[:, None]]
        if radius.shape != (packed.shape[0],):
            raise ValueError(f"radius must be a float or have one entry per point ({packed.shape[0]}), got {tuple(radius.shape)}")
        if radius.device != packed.device:
            raise ValueError(f"radius is on {radius.device} but the points are on {packed.device}")
        radius = radius.to(packed.dtype).detach()
        if values_are_free(radius) and radius.numel() and not bool((radius >= 0).all() and (radius > 0).any()):
            raise ValueError("radius must be >= 0 for every point (0: the point is never drawn) and > 0 for one")
        return radius
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius > 0:
        raise ValueError(f"radius must be a positive number or tensor, got {radius!r}")
    return torch.full((packed.shape[0],), float(radius), dtype=packed.dtype, device=packed.device)


def rasterize_points_python(pointclouds, image_size=256, radius=0.01, points_per_pixel: int = 8):
    """rasterize_points through the brute-force pure-PyTorch reference kernel (`meshgraph.ops.reference`):
    PyTorch3D's `rasterize_points_python`, same signature and outputs (idx int32). Slow; for tests."""
    from .reference import render as reference

    packed, first, size, mask = pack_clouds(pointclouds)
    radius = packed_radius(radius, pointclouds, packed, size, mask)
    H, W = image_hw(image_size)
    idx, zbuf, dists = reference.rasterize_points(packed, first, size, radius, H, W, points_per_pixel)
    return idx.int(), zbuf, dists


def rasterize_packed_points(packed, first, size, radius, image_size=256, points_per_pixel: int = 8, bin_size=None):
    """rasterize_points on packed NDC points (P, 3), clouds given by first / size (N,), radii (P,)."""
    H, W = image_hw(image_size)
    points_per_pixel = check_positive_int(points_per_pixel, "points_per_pixel")
    if bin_size is not None:
        bin_size = check_nonnegative_int(bin_size, "bin_size")
    return torch.ops.meshgraph.rasterize_points(packed, first, size, radius, H, W, points_per_pixel, bin_size)


@torch.library.register_fake("meshgraph::rasterize_points")
def _fake(points, cloud_first, cloud_size, radius, image_height, image_width, K, bin_size):
    shape = (cloud_first.shape[0], image_height, image_width, K)
    return points.new_empty(shape, dtype=torch.int64), points.new_empty(shape), points.new_empty(shape)


@torch.library.register_fake("meshgraph::rasterize_points_backward")
def _fake_backward(points, idx, grad_zbuf, grad_dists):
    return torch.empty_like(points)


def _setup(ctx, inputs, output):
    points, cloud_first, cloud_size, radius, image_height, image_width, K, bin_size = inputs
    idx, _, _ = output
    ctx.save_for_backward(points, idx)


def _backward(ctx, grad_idx, grad_zbuf, grad_dists):
    points, idx = ctx.saved_tensors
    if grad_zbuf is None:
        grad_zbuf = torch.zeros(idx.shape, dtype=points.dtype, device=points.device)
    if grad_dists is None:
        grad_dists = torch.zeros(idx.shape, dtype=points.dtype, device=points.device)
    grad = torch.ops.meshgraph.rasterize_points_backward(points, idx, grad_zbuf, grad_dists)
    return grad, None, None, None, None, None, None, None


def _setup_backward(ctx, inputs, output):
    points, idx, grad_zbuf, grad_dists = inputs
    ctx.save_for_backward(points, idx, grad_dists)


def _backward_backward(ctx, gg):
    # grad_points is linear in (grad_zbuf, grad_dists); its only dependence on points is 2 * grad_dists on x, y.
    points, idx, grad_dists = ctx.saved_tensors
    from .reference.render import pixel_centers

    N, H, W, K = idx.shape
    ys, xs = pixel_centers(H, W, points.dtype, points.device)
    valid = idx >= 0
    safe = idx.clamp_min(0)
    p, g = points[safe], gg[safe]
    d_zbuf = torch.where(valid, g[..., 2], 0)
    d_dists = torch.where(
        valid, 2 * (p[..., 0] - xs[None, None, :, None]) * g[..., 0] + 2 * (p[..., 1] - ys[None, :, None, None]) * g[..., 1], 0
    )
    weight = torch.zeros(points.shape[0], dtype=points.dtype, device=points.device)
    weight.index_add_(0, safe.reshape(-1), torch.where(valid, grad_dists, 0).reshape(-1).to(points.dtype))
    d_points = torch.cat([2 * weight[:, None] * gg[:, :2], torch.zeros_like(gg[:, 2:])], 1)
    return d_points, None, d_zbuf, d_dists


torch.library.register_autograd("meshgraph::rasterize_points", _backward, setup_context=_setup)
torch.library.register_autograd(
    "meshgraph::rasterize_points_backward", _backward_backward, setup_context=_setup_backward
)
