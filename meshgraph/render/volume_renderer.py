"""Rendering Volumes by ray marching: VolumeSampler samples a batch of Volumes at the points of a ray bundle,
VolumeRenderer ties a raysampler, the sampler and a raymarcher together (PyTorch3D's
pytorch3d.renderer.implicit.renderer classes of the same names).

Ray bundles are duck-typed: any object with `origins` (N, ..., 3), `directions` (N, ..., 3) and `lengths`
(N, ..., P) (and `xys`, which only the raysampler and raymarcher read) works, so these classes do not depend on
which RayBundle class produced them.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..transforms.transform3d import Transform3d
from ..volumes import Volumes

_SAMPLE_MODES = ("bilinear", "nearest")
_PADDING_MODES = ("zeros", "border", "reflection")


def _check_ray_variables(origins, directions, lengths) -> None:
    for name, t in (("origins", origins), ("directions", directions), ("lengths", lengths)):
        if not torch.is_tensor(t):
            raise TypeError(f"ray_bundle.{name} must be a torch.Tensor, got {type(t).__name__}")
    ndim = origins.ndim
    if directions.ndim != ndim or lengths.ndim != ndim:
        raise ValueError("rays_origins, rays_directions and rays_lengths have to have the same number of dimensions.")
    if ndim <= 2:
        raise ValueError("rays_origins, rays_directions and rays_lengths have to have at least 3 dimensions.")
    if directions.shape[:-1] != origins.shape[:-1] or lengths.shape[:-1] != origins.shape[:-1]:
        raise ValueError("The shapes of rays_origins, rays_directions and rays_lengths may differ only in the last "
                         "dimension.")
    if origins.shape[-1] != 3 or directions.shape[-1] != 3:
        raise ValueError("The size of the last dimension of rays_origins/rays_directions has to be 3.")


def _ray_points(origins: torch.Tensor, directions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """(..., P, 3): origins + lengths * directions for every length of every ray."""
    return origins[..., None, :] + lengths[..., :, None] * directions[..., None, :]


class VolumeSampler(torch.nn.Module):
    """Samples `volumes` (a meshgraph Volumes) at the ray points of a ray bundle with grid_sample
    (sample_mode "bilinear" (trilinear on 3-D grids) or "nearest"; padding_mode "zeros", "border" or "reflection").
    forward(ray_bundle) -> (rays_densities (N, ..., P, density_dim), rays_features (N, ..., P, feature_dim)); a
    volume without features gives a (N, ..., P, 0) tensor."""

    def __init__(self, volumes: Volumes, sample_mode: str = "bilinear", padding_mode: str = "zeros") -> None:
        super().__init__()
        if not isinstance(volumes, Volumes):
            raise ValueError("'volumes' have to be an instance of the 'Volumes' class.")
        if sample_mode not in _SAMPLE_MODES:
            raise ValueError(f"sample_mode must be one of {_SAMPLE_MODES}, got {sample_mode!r}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        self._volumes = volumes
        self._sample_mode = sample_mode
        self._padding_mode = padding_mode

    def _get_ray_directions_transform(self) -> Transform3d:
        """The world-to-local transform without its translation (directions are vectors)."""
        world2local = self._volumes.get_world_to_local_coords_transform().get_matrix()
        m = torch.eye(4, device=world2local.device, dtype=world2local.dtype).repeat(world2local.shape[0], 1, 1)
        m[:, :3, :3] = world2local[:, :3, :3]
        return Transform3d(matrix=m, device=world2local.device, dtype=world2local.dtype)

    def forward(self, ray_bundle, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
        origins, directions, lengths = ray_bundle.origins, ray_bundle.directions, ray_bundle.lengths
        _check_ray_variables(origins, directions, lengths)
        densities = self._volumes.densities()
        if densities.shape[0] != origins.shape[0]:
            raise ValueError("Input volumes have to have the same batch size as rays.")
        origins_local = self._volumes.world_to_local_coords(origins)
        directions_local = self._get_ray_directions_transform().transform_points(
            directions.reshape(lengths.shape[0], -1, 3)).view(directions.shape)
        points = _ray_points(origins_local, directions_local, lengths)  # (N, ..., P, 3)
        flat = points.reshape(points.shape[0], -1, 1, 1, 3)
        align = self._volumes.get_align_corners()

        def sample(v: torch.Tensor) -> torch.Tensor:
            out = F.grid_sample(v, flat.to(v.dtype), mode=self._sample_mode, padding_mode=self._padding_mode,
                                align_corners=align)
            return out.permute(0, 2, 3, 4, 1).reshape(*points.shape[:-1], v.shape[1])

        rays_densities = sample(densities)
        features = self._volumes.features()
        rays_features = rays_densities[..., :0] if features is None else sample(features)
        return rays_densities, rays_features


class VolumeRenderer(torch.nn.Module):
    """Renders a batch of Volumes: `raysampler(cameras=..., volumetric_function=..., **kwargs)` gives the ray
    bundle, a VolumeSampler samples the volumes along it and `raymarcher(rays_densities=..., rays_features=...,
    ray_bundle=..., **kwargs)` composites the samples. forward(cameras, volumes) -> (images, ray_bundle)."""

    def __init__(self, raysampler: Callable, raymarcher: Callable, sample_mode: str = "bilinear") -> None:
        super().__init__()
        if not callable(raysampler):
            raise ValueError('"raysampler" has to be a "Callable" object.')
        if not callable(raymarcher):
            raise ValueError('"raymarcher" has to be a "Callable" object.')
        if sample_mode not in _SAMPLE_MODES:
            raise ValueError(f"sample_mode must be one of {_SAMPLE_MODES}, got {sample_mode!r}")
        self.raysampler = raysampler
        self.raymarcher = raymarcher
        self._sample_mode = sample_mode

    def forward(self, cameras, volumes: Volumes, **kwargs):
        volumetric_function = VolumeSampler(volumes, sample_mode=self._sample_mode)
        ray_bundle = self.raysampler(cameras=cameras, volumetric_function=volumetric_function, **kwargs)
        rays_densities, rays_features = volumetric_function(ray_bundle=ray_bundle, cameras=cameras, **kwargs)
        images = self.raymarcher(rays_densities=rays_densities, rays_features=rays_features, ray_bundle=ray_bundle,
                                 **kwargs)
        return images, ray_bundle


__all__ = ["VolumeRenderer", "VolumeSampler"]
