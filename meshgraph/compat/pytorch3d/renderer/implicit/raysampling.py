"""`pytorch3d.renderer.implicit.raysampling` mirror (meshgraph.render.implicit.raysampling)."""

from .....render.implicit.raysampling import (  # noqa: F401
    GridRaysampler,
    MonteCarloRaysampler,
    MultinomialRaysampler,
    NDCGridRaysampler,
    NDCMultinomialRaysampler,
    _jiggle_within_stratas,
    _pack_ray_bundle,
    _safe_multinomial,
    _sample_cameras_and_masks,
    _xy_to_ray_bundle,
)
from .utils import HeterogeneousRayBundle, RayBundle  # noqa: F401

__all__ = ["GridRaysampler", "MonteCarloRaysampler", "MultinomialRaysampler", "NDCGridRaysampler",
           "NDCMultinomialRaysampler"]
