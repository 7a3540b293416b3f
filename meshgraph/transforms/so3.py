"""SO(3): exponential and logarithm maps, rotation angles, the hat operator (PyTorch3D's `transforms.so3`).

Rotation matrices are (N, 3, 3) acting on column vectors; log rotations are (N, 3) axis-angle vectors. Both maps
are exact at every angle (series near 0, a well-conditioned quaternion near pi) with finite gradients.
"""

import warnings

import torch

from .math import acos_linear_extrapolation
from .rotations import _hat, _rodrigues, matrix_to_axis_angle

def _check_batch_3x3(R: torch.Tensor) -> None:
    if R.dim() != 3 or R.shape[1] != 3 or R.shape[2] != 3:
        raise ValueError("Input has to be a batch of 3x3 Tensors.")


def so3_relative_angle(
    R1: torch.Tensor, R2: torch.Tensor, cos_angle: bool = False, cos_bound: float = 1e-4, eps: float = 1e-4
) -> torch.Tensor:
    """(N,) angles of R1 @ R2^T (the geodesic distance between (N, 3, 3) rotations); see `so3_rotation_angle`."""
    _check_batch_3x3(R1)
    _check_batch_3x3(R2)
    return so3_rotation_angle(torch.bmm(R1, R2.transpose(1, 2)), cos_angle=cos_angle, cos_bound=cos_bound, eps=eps)


def so3_rotation_angle(
    R: torch.Tensor, eps: float = 1e-4, cos_angle: bool = False, cos_bound: float = 1e-4
) -> torch.Tensor:
    """(N,) rotation angles acos((trace R - 1) / 2) of (N, 3, 3) rotations, or their cosines (cos_angle=True).

    A trace outside [-1 - eps, 3 + eps] is a ValueError. cos_bound > 0 extrapolates acos linearly beyond
    +-(1 - cos_bound) (`acos_linear_extrapolation`), so the gradient stays finite at angles 0 and pi."""
    _check_batch_3x3(R)
    trace = R[:, 0, 0] + R[:, 1, 1] + R[:, 2, 2]
    if ((trace < -1.0 - eps) | (trace > 3.0 + eps)).any():
        raise ValueError("A matrix has trace outside valid range [-1-eps,3+eps].")
    cos = (trace - 1.0) * 0.5
    if cos_angle:
        return cos
    if cos_bound > 0.0:
        return acos_linear_extrapolation(cos, (-1.0 + cos_bound, 1.0 - cos_bound))
    return torch.acos(cos)


def so3_exp_map(log_rot: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """(N, 3, 3) rotations exp([log_rot]_x) of (N, 3) axis-angle vectors (Rodrigues' formula).

    Exact at every angle: `eps` (PyTorch3D's clamp of the squared angle, which in PyTorch3D 0.7.9 only reaches
    the SE(3) translation) is accepted and not needed."""
    if log_rot.dim() != 2 or log_rot.shape[1] != 3:
        raise ValueError("Input tensor shape has to be Nx3.")
    return _rodrigues(log_rot)


def so3_exponential_map(log_rot: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """Deprecated name of `so3_exp_map` (PendingDeprecationWarning, as PyTorch3D)."""
    warnings.warn(
        "so3_exponential_map is deprecated, use so3_exp_map instead; it will be removed in future releases.",
        PendingDeprecationWarning,
        stacklevel=2,
    )
    return so3_exp_map(log_rot, eps)


def so3_log_map(R: torch.Tensor, eps: float = 0.0001, cos_bound: float = 1e-4) -> torch.Tensor:
    """(N, 3) axis-angle logarithms (angles in [0, pi]) of (N, 3, 3) rotations, through a quaternion (exact at 0
    and pi). `eps` and `cos_bound` are unused, as in PyTorch3D 0.7.9 (kept for compatibility)."""
    _check_batch_3x3(R)
    return matrix_to_axis_angle(R)


def hat_inv(h: torch.Tensor) -> torch.Tensor:
    """(N, 3) vectors of (N, 3, 3) skew-symmetric matrices (inverse of `hat`); |h + h^T| > 1e-5 is a ValueError."""
    _check_batch_3x3(h)
    if float((h + h.transpose(1, 2)).abs().max()) > 1e-5:
        raise ValueError("One of input matrices is not skew-symmetric.")
    return torch.stack([h[:, 2, 1], h[:, 0, 2], h[:, 1, 0]], 1)


def hat(v: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) skew-symmetric matrices [v]_x = [[0, -z, y], [z, 0, -x], [-y, x, 0]] of (N, 3) vectors."""
    if v.dim() != 2 or v.shape[1] != 3:
        raise ValueError("Input vectors have to be 3-dimensional.")
    return _hat(v)
