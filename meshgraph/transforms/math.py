"""acos with linear extrapolation outside a bound (PyTorch3D's `transforms.math`): finite values and gradients
for cosines that rounding pushed to or beyond +-1."""

import math
from typing import Tuple

import torch

DEFAULT_ACOS_BOUND: float = 1.0 - 1e-4


def acos_linear_extrapolation(
    x: torch.Tensor, bounds: Tuple[float, float] = (-DEFAULT_ACOS_BOUND, DEFAULT_ACOS_BOUND)
) -> torch.Tensor:
    """acos(x) for lower <= x <= upper (`bounds`, both within (-1, 1)); outside, its first-order Taylor expansion
    at the nearer bound, so the result and its gradient stay finite for any x."""
    lower, upper = bounds
    if lower > upper:
        raise ValueError("lower bound has to be smaller or equal to upper bound.")
    if lower <= -1.0 or upper >= 1.0:
        raise ValueError("Both lower bound and upper bound have to be within (-1, 1).")

    inside = torch.acos(x.clamp(lower, upper))  # clamped: no NaN gradient leaks from the unused branch
    return torch.where(x >= upper, _acos_tangent(x, upper), torch.where(x <= lower, _acos_tangent(x, lower), inside))


def _acos_tangent(x: torch.Tensor, x0: float) -> torch.Tensor:
    """The first-order Taylor expansion of acos at x0, evaluated at x."""
    return (x - x0) * (-1.0 / math.sqrt(1.0 - x0 * x0)) + math.acos(x0)
