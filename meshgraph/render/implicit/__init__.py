"""Implicit (neural) and volume rendering: ray bundles, raysamplers, raymarchers (fused emission-absorption),
the harmonic embedding, ImplicitRenderer and hierarchical sampling (sample_pdf). PyTorch3D's
`pytorch3d.renderer.implicit` semantics; rays are unprojected with meshgraph's cameras."""

from .harmonic_embedding import HarmonicEmbedding
from .raymarching import AbsorptionOnlyRaymarcher, EmissionAbsorptionRaymarcher
from .raysampling import (
    GridRaysampler,
    MonteCarloRaysampler,
    MultinomialRaysampler,
    NDCGridRaysampler,
    NDCMultinomialRaysampler,
)
from .renderer import ImplicitRenderer
from .sample_pdf import sample_pdf, sample_pdf_python
from .utils import (
    HeterogeneousRayBundle,
    RayBundle,
    ray_bundle_to_ray_points,
    ray_bundle_variables_to_ray_points,
    validate_ray_bundle_variables,
)

__all__ = [
    "AbsorptionOnlyRaymarcher",
    "EmissionAbsorptionRaymarcher",
    "GridRaysampler",
    "HarmonicEmbedding",
    "HeterogeneousRayBundle",
    "ImplicitRenderer",
    "MonteCarloRaysampler",
    "MultinomialRaysampler",
    "NDCGridRaysampler",
    "NDCMultinomialRaysampler",
    "RayBundle",
    "ray_bundle_to_ray_points",
    "ray_bundle_variables_to_ray_points",
    "sample_pdf",
    "sample_pdf_python",
    "validate_ray_bundle_variables",
]
