"""`pytorch3d.renderer.implicit.raymarching` mirror (meshgraph.render.implicit.raymarching, on the fused
emission_absorption op)."""

from .....render.implicit.raymarching import (  # noqa: F401
    AbsorptionOnlyRaymarcher,
    EmissionAbsorptionRaymarcher,
    check_density_bounds as _check_density_bounds,
    check_raymarcher_inputs as _check_raymarcher_inputs,
)

__all__ = ["AbsorptionOnlyRaymarcher", "EmissionAbsorptionRaymarcher"]
