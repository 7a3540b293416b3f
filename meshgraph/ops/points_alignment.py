"""Rigid / similarity alignment of point sets (PyTorch3D's `pytorch3d.ops.points_alignment`, v0.7.9 semantics):
`corresponding_points_alignment` (Umeyama) and `iterative_closest_point` (ICP on meshgraph's knn op).

Batched with variable lengths: inputs are (N, P, D) tensors (every row valid) or point-cloud batches with
`points_padded()` / `num_points_per_cloud()` (our Pointclouds and GraphBatch, PyTorch3D's Pointclouds); padded rows
past a cloud's length are ignored. Pure PyTorch: the work is one batched D x D SVD per cloud and per iteration, and
ICP's correspondence search is the knn op. The container is never imported here.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import torch

from .._utils import FLOAT_DTYPES
from .knn import knn_points
from .points_normals import convert_pointclouds_to_tensor, is_pointclouds

# a singular value of the cross-covariance at or below this makes the rotation ambiguous (PyTorch3D's threshold)
AMBIGUOUS_ROT_SINGULAR_THR = 1e-15


class SimilarityTransform(NamedTuple):
    """X -> s[:, None, None] * X @ R + T[:, None]: R (N, D, D) orthonormal, T (N, D), s (N,)."""

    R: torch.Tensor
    T: torch.Tensor
    s: torch.Tensor


class ICPSolution(NamedTuple):
    """The result of `iterative_closest_point`."""

    converged: bool
    rmse: torch.Tensor | None
    Xt: Any
    RTs: SimilarityTransform
    t_history: list[SimilarityTransform]


def _wmean(x: torch.Tensor, weight: torch.Tensor | None, eps: float) -> torch.Tensor:
    """Weighted mean over dim 1, kept: x (N, P, D), weight (N, P) or None -> (N, 1, D) (PyTorch3D's wmean: the
    weight sum clamped at eps)."""
    if weight is None:
        return x.mean(1, keepdim=True)
    w = weight.to(x.dtype)[..., None]
    return (x * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp(min=eps)


def _check_points(t: torch.Tensor, name: str) -> None:
    if t.dim() != 3:
        raise ValueError(f"{name} must be a (minibatch, num_points, dim) tensor or a point-cloud batch, "
                         f"got shape {tuple(t.shape)}")
    if t.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must hold floating points, got {t.dtype}")


def _apply_similarity_transform(X: torch.Tensor, R: torch.Tensor, T: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """s X R + T for X (N, P, D), R (N, D, D), T (N, D), s (N,)."""
    return s[:, None, None] * torch.bmm(X, R) + T[:, None, :]


def corresponding_points_alignment(
    X: Any,
    Y: Any,
    weights: torch.Tensor | list[torch.Tensor] | None = None,
    estimate_scale: bool = False,
    allow_reflection: bool = False,
    eps: float = 1e-9,
) -> SimilarityTransform:
    """The similarity transform (R, T, s) minimising sum_i w_i |s X_i R + T - Y_i|^2 per batch element (Umeyama).

    Args:
        X, Y: (N, P, D) corresponding points, or point-cloud batches of equal lengths.
        weights: (N, P) non-negative weights, or a list of N 1-d tensors of each cloud's length; None: uniform.
            As in PyTorch3D 0.7.9, the centroids are weighted by w and the centred points are multiplied by w
            before the covariances are formed (so the cross-covariance weighs pairs by w^2; 0/1 weights and
            exact correspondences are unaffected).
        estimate_scale: also estimate s (otherwise s = 1).
        allow_reflection: allow det(R) = -1 (otherwise the nearest rotation, det(R) = +1).
        eps: clamp of the weight sums and of the variance of X (scale estimate).

    Returns:
        SimilarityTransform(R (N, D, D), T (N, D), s (N,)) with s X R + T ~ Y. Half inputs are solved in float32
        and returned in their dtype. Warns (as PyTorch3D) when a cloud has <= D points or the cross-covariance is
        (numerically) rank deficient: the rotation is then not unique. Differentiable through torch.linalg.
    """
    Xt, num_points = convert_pointclouds_to_tensor(X)
    Yt, num_points_Y = convert_pointclouds_to_tensor(Y)
    _check_points(Xt, "X")
    _check_points(Yt, "Y")
    if (Xt.shape != Yt.shape) or bool((num_points != num_points_Y).any()):
        raise ValueError("Point sets X and Y have to have the same number of batches, points and dimensions.")
    if Xt.dtype != Yt.dtype:
        raise TypeError(f"X and Y must have the same dtype, got {Xt.dtype} and {Yt.dtype}")
    b, n, dim = Xt.shape
    if weights is not None:
        if isinstance(weights, (list, tuple)):
            if len(weights) != b or any(int(p) != w.shape[0] for p, w in zip(num_points, weights)):
                raise ValueError("number of weights should equal to the number of points in the point cloud.")
            padded = Xt.new_zeros(b, n)
            for i, w in enumerate(weights):
                padded[i, : w.shape[0]] = w.to(Xt.dtype)
            weights = padded
        if not torch.is_tensor(weights) or Xt.shape[:2] != weights.shape:
            raise ValueError("weights should have the same first two dimensions as X.")
    out_dtype = Xt.dtype
    if out_dtype in (torch.float16, torch.bfloat16):  # SVD / det have no half kernels: solve in float32
        Xt, Yt = Xt.float(), Yt.float()
    if weights is not None:
        weights = weights.to(Xt.dtype)
    if bool((num_points < n).any()):
        # point-cloud batches: the padded rows get weight 0
        mask = (torch.arange(n, device=Xt.device)[None] < num_points[:, None]).to(Xt.dtype)
        weights = mask if weights is None else mask * weights

    Xmu = _wmean(Xt, weights, eps)
    Ymu = _wmean(Yt, weights, eps)
    Xc = Xt - Xmu
    Yc = Yt - Ymu
    total_weight = num_points.clamp(min=1).to(Xt.dtype)
    if weights is not None:
        Xc = Xc * weights[:, :, None]
        Yc = Yc * weights[:, :, None]
        total_weight = weights.sum(1).clamp(min=eps)
    few = bool((num_points < dim + 1).any())
    if few:
        warnings.warn("The size of one of the point clouds is <= dim+1. "
                      "corresponding_points_alignment cannot return a unique rotation.")
    XYcov = torch.bmm(Xc.transpose(2, 1), Yc) / total_weight[:, None, None]
    U, S, Vh = torch.linalg.svd(XYcov)
    if bool((S.abs() <= AMBIGUOUS_ROT_SINGULAR_THR).any()) and not few:
        warnings.warn("Excessively low rank of cross-correlation between aligned point clouds. "
                      "corresponding_points_alignment cannot return a unique rotation.")
    E = torch.ones(b, dim, dtype=Xt.dtype, device=Xt.device)
    if not allow_reflection:
        # the nearest rotation: flip the last singular vector when U V^T is a reflection
        E = torch.cat((E[:, :-1], torch.det(torch.bmm(U, Vh))[:, None]), dim=1)
    R = torch.bmm(U * E[:, None, :], Vh)
    if estimate_scale:
        trace_ES = (E * S).sum(1)
        Xcov = (Xc * Xc).sum((1, 2)) / total_weight
        s = trace_ES / Xcov.clamp(min=eps)
        T = Ymu[:, 0, :] - s[:, None] * torch.bmm(Xmu, R)[:, 0, :]
    else:
        T = Ymu[:, 0, :] - torch.bmm(Xmu, R)[:, 0, :]
        s = T.new_ones(b)
    return SimilarityTransform(R.to(out_dtype), T.to(out_dtype), s.to(out_dtype))


def iterative_closest_point(
    X: Any,
    Y: Any,
    init_transform: SimilarityTransform | None = None,
    max_iterations: int = 100,
    relative_rmse_thr: float = 1e-6,
    estimate_scale: bool = False,
    allow_reflection: bool = False,
    verbose: bool = False,
) -> ICPSolution:
    """ICP (Besl & McKay): the similarity transform s X R + T that locally best matches X to its nearest
    neighbours in Y, per batch element.

    Args:
        X: (N, P1, D) points or a point-cloud batch; Y: (N, P2, D) or a point-cloud batch (lengths may differ).
        init_transform: SimilarityTransform(R (N, D, D), T (N, D), s (N,)) to start from (else the identity).
        max_iterations: iterations at most; each finds X's nearest neighbours in Y (knn op, K=1) and re-solves
            `corresponding_points_alignment` from the original X.
        relative_rmse_thr: converged once (rmse_prev - rmse) / rmse_prev <= this for every batch element.
        estimate_scale, allow_reflection: as in `corresponding_points_alignment`.
        verbose: print the rmse after each iteration.

    Returns:
        ICPSolution(converged, rmse (N,), Xt (X transformed; a batch of X's type when X is one, through its
        `update_padded`), RTs (the final SimilarityTransform), t_history (the transform after each iteration)).
    """
    Xt, num_points_X = convert_pointclouds_to_tensor(X)
    Yt, num_points_Y = convert_pointclouds_to_tensor(Y)
    _check_points(Xt, "X")
    _check_points(Yt, "Y")
    b, size_X, dim = Xt.shape
    if (Xt.shape[2] != Yt.shape[2]) or (Xt.shape[0] != Yt.shape[0]):
        raise ValueError("Point sets X and Y have to have the same number of batches and data dimensions.")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 0:
        raise ValueError(f"max_iterations must be a non-negative int, got {max_iterations!r}")
    if bool((num_points_X < size_X).any()) or bool((num_points_Y < Yt.shape[1]).any()):
        mask_X = (torch.arange(size_X, device=Xt.device)[None] < num_points_X[:, None]).to(Xt.dtype)
    else:
        mask_X = Xt.new_ones(b, size_X)
    Xt_init = Xt.clone()
    if init_transform is not None:
        try:
            R, T, s = init_transform
            assert R.shape == (b, dim, dim) and T.shape == (b, dim) and s.shape == (b,)
        except Exception:
            raise ValueError(
                "The initial transformation init_transform has to be a named tuple SimilarityTransform with "
                "elements (R, T, s). R are dim x dim orthonormal matrices of shape (minibatch, dim, dim), T is a "
                "batch of dim-dimensional translations of shape (minibatch, dim) and s is a batch of scalars of "
                "shape (minibatch,)."
            ) from None
        Xt = _apply_similarity_transform(Xt, R, T, s)
    else:
        R = torch.eye(dim, dtype=Xt.dtype, device=Xt.device).expand(b, dim, dim).clone()
        T = Xt.new_zeros(b, dim)
        s = Xt.new_ones(b)

    prev_rmse = None
    rmse = None
    iteration = -1
    converged = False
    t_history: list[SimilarityTransform] = []
    for iteration in range(max_iterations):
        nn = knn_points(Xt, Yt, lengths1=num_points_X, lengths2=num_points_Y, K=1, return_nn=True).knn[:, :, 0, :]
        R, T, s = corresponding_points_alignment(Xt_init, nn, weights=mask_X, estimate_scale=estimate_scale,
                                                 allow_reflection=allow_reflection)
        Xt = _apply_similarity_transform(Xt_init, R, T, s)
        t_history.append(SimilarityTransform(R, T, s))
        sq = ((Xt - nn) ** 2).sum(2)
        rmse = _wmean(sq[:, :, None], mask_X, 1e-9).sqrt()[:, 0, 0]
        relative_rmse = rmse.new_ones(b) if prev_rmse is None else (prev_rmse - rmse) / prev_rmse
        if verbose:
            print(f"ICP iteration {iteration}: mean/max rmse = {rmse.mean():1.2e}/{rmse.max():1.2e} "
                  f"; mean relative rmse = {relative_rmse.mean():1.2e}")
        if bool((relative_rmse <= relative_rmse_thr).all()):
            converged = True
            break
        prev_rmse = rmse
    if verbose:
        if converged:
            print(f"ICP has converged in {iteration + 1} iterations.")
        else:
            print(f"ICP has not converged in {max_iterations} iterations.")
    if is_pointclouds(X):
        Xt = X.update_padded(Xt)
    return ICPSolution(converged, rmse, Xt, SimilarityTransform(R, T, s), t_history)


__all__ = ["ICPSolution", "SimilarityTransform", "corresponding_points_alignment", "iterative_closest_point"]
