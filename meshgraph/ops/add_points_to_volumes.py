"""add_points_to_volumes: splat batched points and their features into voxel grids, trilinear or nearest
(PyTorch3D's points_to_volumes), as a custom op with a fused backward, for any feature width and the four float
dtypes.

Kernels: csrc/ops/add_points_to_volumes/ (CPU: deterministic, no atomics; CUDA: atomics, or the index_put_
reduction under torch.use_deterministic_algorithms). The op is functional: it returns new volumes (PyTorch3D's
kernel writes into its inputs).
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, values_are_free

_extension.load()

MODES = ("trilinear", "nearest")


def _check_inputs(points_3d, points_features, volume_densities, volume_features, grid_sizes, mask, mode):
    if mode not in MODES:
        raise ValueError(f'No such interpolation mode "{mode}": mode must be "trilinear" or "nearest"')
    check_tensor(points_3d, "points_3d", dim=3, dtypes=FLOAT_DTYPES)
    N, P, three = points_3d.shape
    if three != 3:
        raise ValueError(f"points_3d must be (minibatch, N, 3), got {tuple(points_3d.shape)}")
    check_tensor(points_features, "points_features", dtypes=FLOAT_DTYPES, shape=(N, P, None))
    check_tensor(volume_densities, "volume_densities", dim=5, dtypes=FLOAT_DTYPES)
    if volume_densities.shape[0] != N:
        raise ValueError(f"volume_densities must have the batch size of points_3d ({N}), got {tuple(volume_densities.shape)}")
    if volume_densities.shape[1] != 1:
        raise ValueError("Only one-dimensional densities are allowed: volume_densities must be (minibatch, 1, D, H, W), "
                         f"got {tuple(volume_densities.shape)}")
    C = points_features.shape[2]
    spatial = tuple(volume_densities.shape[2:])
    if volume_features is not None:
        check_tensor(volume_features, "volume_features", dtypes=FLOAT_DTYPES, shape=(N, C, *spatial))
    if grid_sizes is not None:
        check_tensor(grid_sizes, "grid_sizes", dtypes=(torch.int64, torch.int32), shape=(N, 3))
        if values_are_free(grid_sizes) and N:
            bad = (grid_sizes < 0) | (grid_sizes > torch.tensor(spatial, device=grid_sizes.device))
            if bool(bad.any()):
                raise ValueError(f"grid_sizes must lie within the volumes' spatial size {spatial}, got "
                                 f"{grid_sizes.tolist()}")
    if mask is not None:
        check_tensor(mask, "mask", shape=(N, P))
    check_same_device(points_3d=points_3d, points_features=points_features, volume_densities=volume_densities,
                      **({} if volume_features is None else {"volume_features": volume_features}),
                      **({} if grid_sizes is None else {"grid_sizes": grid_sizes}),
                      **({} if mask is None else {"mask": mask}))


def add_points_to_volumes(
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    volume_densities: torch.Tensor,
    volume_features: torch.Tensor | None = None,
    grid_sizes: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
    point_weight: float = 1.0,
    align_corners: bool = True,
    mode: str = "trilinear",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add each point's votes to the volumes (no rescaling): returns new (densities, features).

    Args:
        points_3d: (N, P, 3) points in the volumes' local coordinates ([-1, 1] spans each grid).
        points_features: (N, P, C) per-point features (any C).
        volume_densities: (N, 1, D, H, W) initial densities.
        volume_features: (N, C, D, H, W) initial features, or None for zeros.
        grid_sizes: (N, 3) int64 (D_n, H_n, W_n) of each element's grid inside the padded volume (None: all of it).
        mask: (N, P); points with mask 0 are skipped (any other value counts the point with its full weight).
        point_weight: the weight of one vote.
        align_corners: grid_sample's convention for the local coordinates.
        mode: "trilinear" (8 votes with trilinear weights, differentiable w.r.t. the points too) or "nearest"
            (one vote for the nearest voxel; no gradient w.r.t. the points).

    Votes outside a grid, and points with non-finite coordinates, are dropped. All tensors are computed in their
    promoted float dtype (float16/bfloat16 sum in float32). Returns (densities (N, 1, D, H, W), features
    (N, C, D, H, W)), differentiable w.r.t. the points (trilinear), their features and the initial volumes.
    """
    _check_inputs(points_3d, points_features, volume_densities, volume_features, grid_sizes, mask, mode)
    N, P, C = points_features.shape
    dt = torch.promote_types(torch.promote_types(points_3d.dtype, points_features.dtype), volume_densities.dtype)
    if volume_features is not None:
        dt = torch.promote_types(dt, volume_features.dtype)
    else:
        volume_features = volume_densities.new_zeros((N, C, *volume_densities.shape[2:]), dtype=dt)
    if grid_sizes is None:
        grid_sizes = torch.tensor(volume_densities.shape[2:], device=points_3d.device).expand(N, 3)
    mask = points_3d.new_ones(()).to(dt).expand(N, P) if mask is None else mask.to(dt)
    return torch.ops.meshgraph.add_points_to_volumes(
        points_3d.to(dt), points_features.to(dt), volume_densities.to(dt), volume_features.to(dt),
        grid_sizes.long(), mask, float(point_weight), bool(align_corners), mode)


def add_points_features_to_volume_densities_features(
    points_3d: torch.Tensor,
    points_features: torch.Tensor,
    volume_densities: torch.Tensor,
    volume_features: torch.Tensor | None,
    mode: str = "trilinear",
    min_weight: float = 1e-4,
    mask: torch.Tensor | None = None,
    grid_sizes: torch.Tensor | None = None,
    rescale_features: bool = True,
    _python: bool = False,
    align_corners: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch3D's call: splat (N, P, 3) local points with (N, P, C) features into (N, 1, D, H, W) densities and
    (N, C, D, H, W) features (None: zeros). Returns (volume_features, volume_densities); with rescale_features the
    features are divided by the densities clamped to min_weight (trilinear) or 1 (nearest). mask (N, P): points
    with mask 0 are skipped. `_python=True` runs the pure-PyTorch reference instead of the kernels (tests).
    The input tensors are not modified (PyTorch3D's kernel adds into them in place)."""
    if _python:
        from .reference.points_to_volumes import add_points_to_volumes as ref

        _check_inputs(points_3d, points_features, volume_densities, volume_features, grid_sizes, mask, mode)
        N, P, C = points_features.shape
        if volume_features is None:
            volume_features = volume_densities.new_zeros((N, C, *volume_densities.shape[2:]))
        if grid_sizes is None:
            grid_sizes = torch.tensor(volume_densities.shape[2:], device=points_3d.device).expand(N, 3)
        m = points_3d.new_ones((N, P)) if mask is None else mask
        dt = torch.promote_types(points_3d.dtype, volume_densities.dtype)
        densities, features = ref(points_3d.to(dt), points_features.to(dt), volume_densities.to(dt),
                                  volume_features.to(dt), grid_sizes, m.to(dt), 1.0, align_corners, mode)
    else:
        densities, features = add_points_to_volumes(points_3d, points_features, volume_densities, volume_features,
                                                    grid_sizes, mask, 1.0, align_corners, mode)
    if rescale_features:
        features = features / densities.clamp(min_weight if mode == "trilinear" else 1.0)
    return features, densities


@torch.library.register_fake("meshgraph::add_points_to_volumes")
def _fake(points_3d, points_features, volume_densities, volume_features, grid_sizes, mask, point_weight,
          align_corners, mode):
    return volume_densities.new_empty(volume_densities.shape), volume_features.new_empty(volume_features.shape)


@torch.library.register_fake("meshgraph::add_points_to_volumes_backward")
def _fake_backward(grad_densities, grad_features, points_3d, points_features, grid_sizes, mask, point_weight,
                   align_corners, mode):
    return points_3d.new_empty(points_3d.shape), points_features.new_empty(points_features.shape)


def _setup(ctx, inputs, output):
    points_3d, points_features, _, _, grid_sizes, mask, point_weight, align_corners, mode = inputs
    ctx.args = (point_weight, align_corners, mode)
    ctx.save_for_backward(points_3d, points_features, grid_sizes, mask)


def _backward(ctx, grad_d, grad_f):
    points_3d, points_features, grid_sizes, mask = ctx.saved_tensors
    point_weight, align_corners, mode = ctx.args
    N, P, C = points_features.shape
    spatial = (grad_d if grad_d is not None else grad_f).shape[2:]
    dt = points_3d.dtype
    gd = points_3d.new_zeros((N, 1, *spatial)) if grad_d is None else grad_d.to(dt).contiguous()
    gf = points_3d.new_zeros((N, C, *spatial)) if grad_f is None else grad_f.to(dt).contiguous()
    gp, gpf = torch.ops.meshgraph.add_points_to_volumes_backward(gd, gf, points_3d, points_features, grid_sizes, mask,
                                                                  point_weight, align_corners, mode)
    return (gp if mode == "trilinear" else None), gpf, grad_d, grad_f, None, None, None, None, None


def _setup_backward(ctx, inputs, output):
    grad_d, grad_f, points_3d, points_features, grid_sizes, mask, point_weight, align_corners, mode = inputs
    ctx.args = (point_weight, align_corners, mode)
    ctx.save_for_backward(grad_d, grad_f, points_3d, points_features, grid_sizes, mask)


def _backward_backward(ctx, gg_p, gg_f):
    # Second order through the readable reference (exact; rare in practice).
    from .reference.points_to_volumes import add_points_to_volumes as ref

    grad_d, grad_f, points_3d, points_features, grid_sizes, mask = ctx.saved_tensors
    point_weight, align_corners, mode = ctx.args
    with torch.enable_grad():
        gd, gf, p, f = (t.detach().requires_grad_(True) for t in (grad_d, grad_f, points_3d, points_features))
        d, v = ref(p, f, torch.zeros_like(gd), torch.zeros_like(gf), grid_sizes, mask, point_weight, align_corners,
                   mode)
        outs = [(o, g) for o, g in ((d, gd), (v, gf)) if o.requires_grad]
        first = torch.autograd.grad([o for o, _ in outs], (p, f), [g for _, g in outs], create_graph=True,
                                    allow_unused=True)
        pairs = [(o, g) for o, g in zip(first, (gg_p, gg_f)) if o is not None and g is not None]
        if not pairs:
            return (None,) * 9
        grads = torch.autograd.grad([o for o, _ in pairs], (gd, gf, p, f), [g for _, g in pairs], allow_unused=True)
    return (*grads, None, None, None, None, None)


torch.library.register_autograd("meshgraph::add_points_to_volumes", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::add_points_to_volumes_backward", _backward_backward,
                                setup_context=_setup_backward)
