"""Rotation matrices from axis-angle vectors, quaternions and random draws (PyTorch3D's conventions: column-vector
rotation matrices R, so R @ v rotates v; quaternions are (w, x, y, z), real part first)."""

from __future__ import annotations

import torch


def _hat(v: torch.Tensor) -> torch.Tensor:
    """(N, 3) -> (N, 3, 3) skew-symmetric matrices [v]_x with [v]_x w = v x w."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], -1).reshape(*v.shape[:-1], 3, 3)


def so3_exp_map(log_rot: torch.Tensor, eps: float = 0.0001) -> torch.Tensor:
    """Rotation matrices (N, 3, 3) exp([log_rot]_x) of axis-angle vectors (N, 3) (Rodrigues' formula).

    The squared angle is clamped below at eps so that small rotations keep finite gradients.
    """
    if log_rot.dim() != 2 or log_rot.shape[1] != 3:
        raise ValueError("Input tensor shape has to be Nx3.")
    theta = (log_rot * log_rot).sum(1).clamp(eps).sqrt()
    inv = 1.0 / theta
    a = (inv * theta.sin())[:, None, None]
    b = (inv * inv * (1.0 - theta.cos()))[:, None, None]
    K = _hat(log_rot)
    eye = torch.eye(3, dtype=log_rot.dtype, device=log_rot.device)
    return a * K + b * torch.bmm(K, K) + eye


def axis_angle_to_matrix(axis_angle: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of axis-angle vectors (..., 3) (direction: axis, norm: angle in radians).

    Always the closed (Rodrigues) form, with series expansions near angle 0: PyTorch3D's `fast=True` path;
    its default `fast=False` goes through quaternions and gives the same matrices up to rounding, so `fast`
    is accepted for signature compatibility and changes nothing here."""
    if not isinstance(fast, bool):
        raise TypeError(f"fast must be a bool, got {type(fast).__name__}")
    shape = axis_angle.shape[:-1]
    v = axis_angle.reshape(-1, 3)
    theta2 = (v * v).sum(-1)
    theta = theta2.sqrt()
    small = theta2 < 1e-12
    safe = torch.where(small, torch.ones_like(theta), theta)
    a = torch.where(small, 1 - theta2 / 6, safe.sin() / safe)  # sin(t) / t
    b = torch.where(small, 0.5 - theta2 / 24, (1 - safe.cos()) / (safe * safe))  # (1 - cos t) / t^2
    K = _hat(v)
    eye = torch.eye(3, dtype=v.dtype, device=v.device)
    R = a[:, None, None] * K + b[:, None, None] * torch.bmm(K, K) + eye
    return R.reshape(*shape, 3, 3)


def quaternion_to_matrix(quaternions: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4), real part first (need not be normalized)."""
    r, i, j, k = quaternions.unbind(-1)
    s = 2.0 / (quaternions * quaternions).sum(-1)
    m = torch.stack(
        [
            1 - s * (j * j + k * k), s * (i * j - k * r), s * (i * k + j * r),
            s * (i * j + k * r), 1 - s * (i * i + k * k), s * (j * k - i * r),
            s * (i * k - j * r), s * (j * k + i * r), 1 - s * (i * i + j * j),
        ],
        -1,
    )
    return m.reshape(quaternions.shape[:-1] + (3, 3))


def random_rotations(n: int, dtype: torch.dtype | None = None, device=None) -> torch.Tensor:
    """(n, 3, 3) rotations drawn uniformly from SO(3) (normalized Gaussian quaternions)."""
    q = torch.randn((n, 4), dtype=dtype, device=device)
    q = q / torch.copysign(q.norm(dim=1), q[:, 0])[:, None]
    return quaternion_to_matrix(q)
