"""ImplicitRenderer: raysampler -> volumetric function -> raymarcher (PyTorch3D's
`pytorch3d.renderer.implicit.renderer.ImplicitRenderer`)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .utils import HeterogeneousRayBundle, RayBundle


class ImplicitRenderer(torch.nn.Module):
    """Render a volumetric function: `raysampler(cameras=..., volumetric_function=..., **kwargs)` gives a ray
    bundle, `volumetric_function(ray_bundle=..., cameras=..., **kwargs)` gives (rays_densities (..., P, D),
    rays_features (..., P, C)) at its points, and `raymarcher(rays_densities=..., rays_features=...,
    ray_bundle=..., **kwargs)` renders each ray (e.g. EmissionAbsorptionRaymarcher: (..., C + 1))."""

    def __init__(self, raysampler: Callable, raymarcher: Callable) -> None:
        super().__init__()
        if not callable(raysampler):
            raise ValueError('"raysampler" has to be a "Callable" object.')
        if not callable(raymarcher):
            raise ValueError('"raymarcher" has to be a "Callable" object.')
        self.raysampler = raysampler
        self.raymarcher = raymarcher

    def forward(self, cameras, volumetric_function: Callable,
                **kwargs) -> tuple[torch.Tensor, RayBundle | HeterogeneousRayBundle]:
        """(images (minibatch, ..., feature_dim + opacity_dim), the ray bundle they were rendered along)."""
        if not callable(volumetric_function):
            raise ValueError('"volumetric_function" has to be a "Callable" object.')
        ray_bundle = self.raysampler(cameras=cameras, volumetric_function=volumetric_function, **kwargs)
        rays_densities, rays_features = volumetric_function(ray_bundle=ray_bundle, cameras=cameras, **kwargs)
        images = self.raymarcher(rays_densities=rays_densities, rays_features=rays_features, ray_bundle=ray_bundle,
                                 **kwargs)
        return images, ray_bundle


__all__ = ["ImplicitRenderer"]
