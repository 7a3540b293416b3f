"""symeig3x3: eigen-decomposition of symmetric 3x3 matrices, defined through torch.linalg.eigh.

The kernels (csrc/ops/symeig3x3/) compute the same decomposition with Jacobi sweeps; this module fixes what they
must return: the eigh of the symmetric part, eigenvalues ascending, eigenvectors as columns with the sign rule
below, and the eigh backward with repeated eigenvalues decoupled.
"""

from __future__ import annotations

import torch

GAP_FACTOR = 8.0  # pairs with |L_j - L_i| <= GAP_FACTOR * eps(dtype) * max|L| get no eigenvector coupling


def _acc(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def apply_sign_rule(vectors: torch.Tensor) -> torch.Tensor:
    """Columns 0 and 1 with their largest-magnitude component (the first of equal ones) positive; column 2 signed
    so that the matrix is a rotation (det = +1)."""
    v = vectors
    cols = []
    for j in range(2):
        c = v[..., :, j]
        big = c.abs().argmax(-1, keepdim=True)
        sign = torch.where(c.gather(-1, big) < 0, -1.0, 1.0).to(v.dtype)
        cols.append(c * sign)
    c2 = v[..., :, 2]
    det = (c2 * torch.linalg.cross(cols[0], cols[1], dim=-1)).sum(-1, keepdim=True)
    cols.append(torch.where(det < 0, -c2, c2))
    return torch.stack(cols, dim=-1)


def symeig3x3(input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(eigenvalues (..., 3) ascending, eigenvectors (..., 3, 3) as columns) of (input + input^T) / 2, computed
    in float64 for float64 and float32 otherwise, returned in the input's dtype."""
    a = input.to(_acc(input.dtype))
    a = 0.5 * (a + a.transpose(-1, -2))
    if a.numel() == 0:
        return (input.new_empty((*input.shape[:-1],)), input.new_empty(input.shape))
    values, vectors = torch.linalg.eigh(a)
    return values.to(input.dtype), apply_sign_rule(vectors).to(input.dtype)


def symeig3x3_backward(
    grad_eigenvalues: torch.Tensor | None,
    grad_eigenvectors: torch.Tensor | None,
    eigenvalues: torch.Tensor,
    eigenvectors: torch.Tensor,
) -> torch.Tensor:
    """grad_input = sym(V (diag(gL) + F o skew(V^T gV)) V^T), F_ij = 1 / (L_j - L_i), and 0 where the gap is at
    most GAP_FACTOR * eps(dtype) * max|L| (repeated eigenvalues). None grads are zeros."""
    dt = eigenvectors.dtype
    acc = _acc(dt)
    L, V = eigenvalues.to(acc), eigenvectors.to(acc)
    M = torch.zeros_like(V)
    if grad_eigenvectors is not None:
        K = V.transpose(-1, -2) @ grad_eigenvectors.to(acc)
        S = 0.5 * (K - K.transpose(-1, -2))
        gap = L[..., None, :] - L[..., :, None]  # gap[i, j] = L_j - L_i
        tol = GAP_FACTOR * torch.finfo(dt).eps * L.abs().amax(-1)[..., None, None]
        safe = gap.abs() > tol
        M = torch.where(safe, S / torch.where(safe, gap, torch.ones_like(gap)), torch.zeros_like(S))
    if grad_eigenvalues is not None:
        M = M + torch.diag_embed(grad_eigenvalues.to(acc))
    G = V @ M @ V.transpose(-1, -2)
    return (0.5 * (G + G.transpose(-1, -2))).to(dt)
