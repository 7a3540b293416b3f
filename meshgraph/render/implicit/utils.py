"""Ray bundles: rays as origins, directions and the lengths at which they are sampled (PyTorch3D's
`pytorch3d.renderer.implicit.utils`)."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import torch


class RayBundle(NamedTuple):
    """Rays of any batch shape `...`: origins (..., 3) and directions (..., 3) in world coordinates (directions
    need not be unit vectors: a length l is the point origin + l * direction), lengths (..., n_pts_per_ray) and
    the rays' image coordinates xys (..., 2)."""

    origins: torch.Tensor
    directions: torch.Tensor
    lengths: torch.Tensor
    xys: torch.Tensor


@dataclasses.dataclass
class HeterogeneousRayBundle:
    """A RayBundle whose rays come from cameras sampled with replacement (raysamplers' `n_rays_total`): the same
    fields, plus camera_ids (M,), the distinct sampled cameras, and camera_counts (M,), how many rays each gave
    (sum(camera_counts) rays in all, in camera_ids order)."""

    origins: torch.Tensor
    directions: torch.Tensor
    lengths: torch.Tensor
    xys: torch.Tensor
    camera_ids: torch.LongTensor | None = None
    camera_counts: torch.LongTensor | None = None


def ray_bundle_to_ray_points(ray_bundle: RayBundle | HeterogeneousRayBundle) -> torch.Tensor:
    """The 3D points of a ray bundle (anything with origins, directions, lengths): (..., n_pts_per_ray, 3),
    origins + lengths * directions."""
    return ray_bundle_variables_to_ray_points(ray_bundle.origins, ray_bundle.directions, ray_bundle.lengths)


def ray_bundle_variables_to_ray_points(
    rays_origins: torch.Tensor,
    rays_directions: torch.Tensor,
    rays_lengths: torch.Tensor,
) -> torch.Tensor:
    """origins (..., 3), directions (..., 3), lengths (..., P) -> points (..., P, 3):
    points[..., j, :] = origins + lengths[..., j] * directions."""
    return rays_origins[..., None, :] + rays_lengths[..., :, None] * rays_directions[..., None, :]


def validate_ray_bundle_variables(
    rays_origins: torch.Tensor,
    rays_directions: torch.Tensor,
    rays_lengths: torch.Tensor,
) -> None:
    """ValueError unless origins, directions and lengths have the same number (>= 3) of dims, the same leading
    shape, and origins / directions end in 3 (PyTorch3D's checks, with its messages)."""
    ndim = rays_origins.ndim
    if rays_directions.ndim != ndim or rays_lengths.ndim != ndim:
        raise ValueError("rays_origins, rays_directions and rays_lengths have to have the same number of dimensions.")
    if ndim <= 2:
        raise ValueError("rays_origins, rays_directions and rays_lengths have to have at least 3 dimensions.")
    lead = rays_origins.shape[:-1]
    if rays_directions.shape[:-1] != lead or rays_lengths.shape[:-1] != lead:
        raise ValueError(
            "The shapes of rays_origins, rays_directions and rays_lengths may differ only in the last dimension.")
    if rays_origins.shape[-1] != 3 or rays_directions.shape[-1] != 3:
        raise ValueError("The size of the last dimension of rays_origins/rays_directions has to be 3.")


_validate_ray_bundle_variables = validate_ray_bundle_variables  # PyTorch3D's private name (VolumeSampler uses it)

__all__ = [
    "HeterogeneousRayBundle",
    "RayBundle",
    "ray_bundle_to_ray_points",
    "ray_bundle_variables_to_ray_points",
    "validate_ray_bundle_variables",
]
