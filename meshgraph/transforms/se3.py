"""SE(3): exponential and logarithm maps of rigid motions (PyTorch3D's `transforms.se3`).

Matrices are (N, 4, 4) in the row-vector convention of Transform3d: [[R^T, 0], [T, 1]]; logs are (N, 6) vectors
[log_translation | log_rotation]. T = V log_translation with V = I + B [w]_x + C [w]_x^2 (B = (1 - cos t) / t^2,
C = (t - sin t) / t^3, t = |w|); the log uses V's closed-form inverse I - [w]_x / 2 + D [w]_x^2. All factors
are series in t^2 near 0, so both maps are exact with finite gradients at angle 0 (and pi).
"""

import torch

from .rotations import _cosc, _hat, _rodrigues, _sinc3
from .so3 import so3_log_map

def _v_inverse_factor(t2: torch.Tensor) -> torch.Tensor:
    """D(t) = (1 - (t / 2) cot(t / 2)) / t^2 of the squared angle t2 (the [w]_x^2 factor of V^-1).

    Near 0: D = -sum_(n >= 1) (-1)^n B_2n t^(2n - 2) / (2n)! (B_2n: Bernoulli numbers; converges for t < 2 pi),
    10 terms, used for t^2 < 1; the closed form above."""
    small = t2 < 1.0
    x = torch.where(small, t2, torch.zeros_like(t2))
    series = torch.zeros_like(t2)
    for c in [
        2.174868698558062e-16, 8.586062056277845e-15, 3.3896802963225827e-13, 1.338253653068468e-11,
        5.284190138687493e-10, 2.08767569878681e-08, 8.267195767195768e-07, 3.3068783068783064e-05,
        0.001388888888888889, 0.08333333333333333,
    ]:
        series = series * x + c
    t2s = torch.where(small, torch.ones_like(t2), t2)
    h = 0.5 * t2s.sqrt()
    return torch.where(small, series, (1 - h * h.cos() / h.sin()) / t2s)


def _hat_sq(w: torch.Tensor, t2: torch.Tensor) -> torch.Tensor:
    """[w]_x^2 = w w^T - |w|^2 I for (N, 3) w."""
    eye = torch.eye(3, dtype=w.dtype, device=w.device)
    return w[:, :, None] * w[:, None, :] - t2[:, None, None] * eye


def se3_exp_map(log_transform: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """(N, 4, 4) rigid motions (row-vector convention) of (N, 6) logs [log_translation | log_rotation].

    Exact at every angle: `eps` (PyTorch3D's clamp of the squared angle in V) is accepted and not needed."""
    if log_transform.ndim != 2 or log_transform.shape[1] != 6:
        raise ValueError("Expected input to be of shape (N, 6).")
    u, w = log_transform[:, :3], log_transform[:, 3:]
    t2 = (w * w).sum(1)
    V = (
        torch.eye(3, dtype=w.dtype, device=w.device)
        + _cosc(t2)[:, None, None] * _hat(w)
        + _sinc3(t2)[:, None, None] * _hat_sq(w, t2)
    )
    T = (V @ u[:, :, None])[:, :, 0]
    top = torch.cat([_rodrigues(w).transpose(1, 2), torch.zeros_like(u)[:, :, None]], 2)
    bottom = torch.cat([T, torch.ones_like(T[:, :1])], 1)[:, None]
    return torch.cat([top, bottom], 1)


def se3_log_map(transform: torch.Tensor, eps: float = 1e-4, cos_bound: float = 1e-4) -> torch.Tensor:
    """(N, 6) logs [log_translation | log_rotation] (angle in [0, pi]) of (N, 4, 4) rigid motions in the
    row-vector convention; a last column other than (0, 0, 0, *) is a ValueError. `eps` and `cos_bound` are
    accepted for PyTorch3D compatibility and not needed (exact at 0 and pi)."""
    if transform.ndim != 3 or transform.shape[1] != 4 or transform.shape[2] != 4:
        raise ValueError("Input tensor shape has to be (N, 4, 4).")
    if not torch.allclose(transform[:, :3, 3], torch.zeros_like(transform[:, :3, 3])):
        raise ValueError("All elements of `transform[:, :3, 3]` should be 0.")
    w = so3_log_map(transform[:, :3, :3].transpose(1, 2), eps=eps, cos_bound=cos_bound)
    t2 = (w * w).sum(1)
    V_inv = (
        torch.eye(3, dtype=w.dtype, device=w.device)
        - 0.5 * _hat(w)
        + _v_inverse_factor(t2)[:, None, None] * _hat_sq(w, t2)
    )
    u = (V_inv @ transform[:, 3, :3, None])[:, :, 0]
    return torch.cat([u, w], 1)
