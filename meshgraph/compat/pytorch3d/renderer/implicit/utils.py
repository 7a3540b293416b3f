"""`pytorch3d.renderer.implicit.utils` mirror (meshgraph.render.implicit.utils)."""

from .....render.implicit.utils import (  # noqa: F401
    HeterogeneousRayBundle,
    RayBundle,
    _validate_ray_bundle_variables,
    ray_bundle_to_ray_points,
    ray_bundle_variables_to_ray_points,
)

__all__ = ["HeterogeneousRayBundle", "RayBundle", "ray_bundle_to_ray_points", "ray_bundle_variables_to_ray_points"]
