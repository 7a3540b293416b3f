"""Raymarchers: render each ray from its samples' densities and features (PyTorch3D's
`pytorch3d.renderer.implicit.raymarching`), on meshgraph's fused `emission_absorption` op."""

from __future__ import annotations

import warnings

import torch

from ..._utils import values_are_free
from ...ops.emission_absorption import emission_absorption


class EmissionAbsorptionRaymarcher(torch.nn.Module):
    """Emission-absorption compositing along each ray: with densities d_k in [0, 1] of the ray's samples,
    w_k = d_k prod_{j <= k - surface_thickness} (1 + eps - d_j), features = sum_k w_k f_k and
    opacity = 1 - prod_k (1 - d_k). The shift (surface_thickness, default 1) keeps a binary density's first
    occupied sample visible. One fused kernel forward, one backward (meshgraph.ops.emission_absorption)."""

    def __init__(self, surface_thickness: int = 1) -> None:
        super().__init__()
        self.surface_thickness = surface_thickness

    def forward(self, rays_densities: torch.Tensor, rays_features: torch.Tensor, eps: float = 1e-10,
                **kwargs) -> torch.Tensor:
        """rays_densities (..., P, 1) in [0, 1], rays_features (..., P, C) -> (..., C + 1): the rendered features
        with the opacity appended. Densities outside [0, 1] give a warning (on CPU tensors: checking CUDA values
        would wait for the device)."""
        check_raymarcher_inputs(rays_densities, rays_features, None, z_can_be_none=True, features_can_be_none=False,
                                density_1d=True)
        check_density_bounds(rays_densities)
        features, opacities = emission_absorption(rays_densities, rays_features, eps, self.surface_thickness)
        return torch.cat((features, opacities), dim=-1)


class AbsorptionOnlyRaymarcher(torch.nn.Module):
    """The light absorbed along each ray: opacity = 1 - prod_k (1 - d_k), no features."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, rays_densities: torch.Tensor, **kwargs) -> torch.Tensor | None:
        """rays_densities (..., P, 1) -> opacities (..., 1)."""
        check_raymarcher_inputs(rays_densities, None, None, features_can_be_none=True, z_can_be_none=True,
                                density_1d=True)
        check_density_bounds(rays_densities)
        return emission_absorption(rays_densities, None)[1]


def check_density_bounds(rays_densities: torch.Tensor, bounds: tuple[float, float] = (0.0, 1.0)) -> None:
    """A warning when some density lies outside bounds (where reading the values is free)."""
    if rays_densities.numel() == 0 or not values_are_free(rays_densities):
        return
    with torch.no_grad():
        lo, hi = torch.aminmax(rays_densities)
        if hi > bounds[1] or lo < bounds[0]:
            warnings.warn(f"One or more elements of rays_densities are outside of valid range {bounds}")


def check_raymarcher_inputs(
    rays_densities: torch.Tensor,
    rays_features: torch.Tensor | None,
    rays_z: torch.Tensor | None,
    features_can_be_none: bool = False,
    z_can_be_none: bool = False,
    density_1d: bool = True,
) -> None:
    """ValueError for the inputs PyTorch3D's raymarchers reject (its checks and messages)."""
    if not torch.is_tensor(rays_densities):
        raise ValueError("rays_densities has to be an instance of torch.Tensor.")
    if not z_can_be_none and not torch.is_tensor(rays_z):
        raise ValueError("rays_z has to be an instance of torch.Tensor.")
    if not features_can_be_none and not torch.is_tensor(rays_features):
        raise ValueError("rays_features has to be an instance of torch.Tensor.")
    if rays_densities.ndim < 1:
        raise ValueError("rays_densities have to have at least one dimension.")
    if density_1d and rays_densities.shape[-1] != 1:
        raise ValueError(f"The size of the last dimension of rays_densities has to be one. Got shape "
                         f"{rays_densities.shape}.")
    rays_shape = rays_densities.shape[:-1]
    if not z_can_be_none and rays_z.shape != rays_shape:
        raise ValueError("rays_z have to be of the same shape as rays_densities.")
    if not features_can_be_none and rays_features.shape[:-1] != rays_shape:
        raise ValueError("The first to previous to last dimensions of rays_features have to be the same as all "
                         "dimensions of rays_densities.")


__all__ = ["AbsorptionOnlyRaymarcher", "EmissionAbsorptionRaymarcher"]
