"""Chamfer distance between batches of point clouds, on the exact grid knn (PyTorch3D 0.7.9's chamfer_distance)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import FLOAT_DTYPES, check_tensor, values_are_free
from ..ops.knn import knn_gather, knn_points


def _as_padded(points, lengths, normals):
    """(padded points (N, P, D), lengths (N,), padded normals or None) from a tensor or a point-cloud batch (a
    GraphBatch, our Pointclouds, PyTorch3D's Pointclouds: anything with `points_padded`). A batch's own lengths
    and normals replace the arguments, as in PyTorch3D."""
    if hasattr(points, "points_padded") and not torch.is_tensor(points):
        if len(points) == 0:  # no clouds: PyTorch3D's Pointclouds([]) pads to (0, 0, 3)
            return torch.zeros((0, 0, 3)), torch.zeros((0,), dtype=torch.int64), None
        lengths = points.num_points_per_cloud()
        X = points.points_padded()
        normals = points.normals_padded() if hasattr(points, "normals_padded") else None
        return X, lengths.to(device=X.device, dtype=torch.int64), normals
    if not torch.is_tensor(points):
        raise ValueError(
            "The input pointclouds should be either Pointclouds objects or torch.Tensor of shape "
            "(minibatch, num_points, 3)."
        )
    if points.ndim != 3:
        raise ValueError("Expected points to be of shape (N, P, D)")
    check_tensor(points, "points", dim=3, dtypes=FLOAT_DTYPES)
    if lengths is not None:
        if lengths.ndim != 1 or lengths.shape[0] != points.shape[0]:
            raise ValueError("Expected lengths to be of shape (N,)")
        if lengths.numel() and values_are_free(lengths) and int(lengths.max()) > points.shape[1]:
            raise ValueError("A length value was too long")
        lengths = lengths.to(torch.int64)
    else:
        lengths = torch.full((points.shape[0],), points.shape[1], dtype=torch.int64, device=points.device)
    if normals is not None and normals.ndim != 3:
        raise ValueError("Expected normals to be of shape (N, P, 3")
    return points, lengths, normals


def _one_direction(x, y, x_lengths, y_lengths, x_normals, y_normals, weights, point_reduction, norm, abs_cosine):
    """For every valid point of x: its distance to the nearest point of y (squared for norm 2) and, with both
    normals, 1 - |cos| (or 1 - cos) to that neighbour's normal; weighted per cloud, reduced over points."""
    with_normals = x_normals is not None and y_normals is not None
    N, P1, D = x.shape
    if y.shape[0] != N or y.shape[2] != D:
        raise ValueError("y does not have the correct shape.")
    if weights is not None:
        if weights.dim() != 1 or weights.size(0) != N:
            raise ValueError("weights must be of shape (N,).")
        if values_are_free(weights) and not bool((weights >= 0).all()):
            raise ValueError("weights cannot be negative.")
        if N and float(weights.sum()) == 0.0:
            # all weights zero: PyTorch3D returns zeros of shape (N, N) (x.sum((1, 2)) * weights[:, None]) that
            # keep the graph to x, for the distance and the normal term alike
            zero = (x.sum((1, 2)) * weights.view(N, 1)) * 0.0
            return zero, zero
    padding = torch.arange(P1, device=x.device)[None] >= x_lengths[:, None]  # (N, P1)
    nn = knn_points(x, y, lengths1=x_lengths, lengths2=y_lengths, norm=norm, K=1)
    dist = nn.dists[..., 0].masked_fill(padding, 0.0)
    if weights is not None:
        dist = dist * weights.view(N, 1)
    dist_n = None
    if with_normals:
        near = knn_gather(y_normals, nn.idx, y_lengths)[..., 0, :]
        cos = F.cosine_similarity(x_normals, near, dim=2, eps=1e-6)
        dist_n = (1 - (cos.abs() if abs_cosine else cos)).masked_fill(padding, 0.0)
        if weights is not None:
            dist_n = dist_n * weights.view(N, 1)
    if point_reduction == "max":
        return dist.max(1).values if P1 else dist.new_zeros((N,)), None
    if point_reduction is not None:
        dist = dist.sum(1)
        dist_n = dist_n.sum(1) if dist_n is not None else None
        if point_reduction == "mean":
            count = x_lengths.clamp(min=1)
            dist = dist / count
            dist_n = dist_n / count if dist_n is not None else None
    return dist, dist_n


def chamfer_distance(
    x,
    y,
    x_lengths=None,
    y_lengths=None,
    x_normals=None,
    y_normals=None,
    weights=None,
    batch_reduction: str | None = "mean",
    point_reduction: str | None = "mean",
    norm: int = 2,
    single_directional: bool = False,
    abs_cosine: bool = True,
):
    """Chamfer distance between x (N, P1, D) and y (N, P2, D) padded clouds, or point-cloud batches (GraphBatch,
    Pointclouds, PyTorch3D's Pointclouds: their lengths and normals are used). PyTorch3D 0.7.9's definition.

    For every point of x the *squared* distance (norm=2; L1 for norm=1) to its nearest point of y, and the
    reverse unless single_directional. point_reduction: "mean" / "sum" over each cloud's valid points, "max"
    (the largest; with both directions, the larger of the two; no normals), or None (per point). weights (N,)
    scale clouds. batch_reduction: "mean" (over clouds, or divided by the weights' sum) / "sum" / None. With
    both x_normals and y_normals (or batches that carry normals), also 1 - |cos| (1 - cos without abs_cosine)
    between each point's normal and its nearest neighbour's.

    Returns:
        (loss, loss_normals): scalars, (N,) tensors, or per-point tensors when point_reduction is None (then a
        pair (x_part, y_part) each, unless single_directional); loss_normals is None without normals.
    """
    if batch_reduction is not None and batch_reduction not in ["mean", "sum"]:
        raise ValueError('batch_reduction must be one of ["mean", "sum"] or None')
    if point_reduction is not None and point_reduction not in ["mean", "sum", "max"]:
        raise ValueError('point_reduction must be one of ["mean", "sum", "max"] or None')
    if point_reduction is None and batch_reduction is not None:
        raise ValueError("Batch reduction must be None if point_reduction is None")
    if norm not in (1, 2):
        raise ValueError("Support for 1 or 2 norm.")
    if point_reduction == "max" and (x_normals is not None or y_normals is not None):
        raise ValueError('Normals must be None if point_reduction is "max"')
    x, x_lengths, x_normals = _as_padded(x, x_lengths, x_normals)
    y, y_lengths, y_normals = _as_padded(y, y_lengths, y_normals)
    x_lengths, y_lengths = x_lengths.to(x.device), y_lengths.to(x.device)

    args = (weights, point_reduction, norm, abs_cosine)
    cx, cnx = _one_direction(x, y, x_lengths, y_lengths, x_normals, y_normals, *args)
    if single_directional:
        loss, loss_n = cx, cnx
    else:
        cy, cny = _one_direction(y, x, y_lengths, x_lengths, y_normals, x_normals, *args)
        if point_reduction == "max":
            loss, loss_n = torch.maximum(cx, cy), None
        elif point_reduction is not None:
            loss = cx + cy
            loss_n = cnx + cny if cnx is not None else None
        else:
            loss = (cx, cy)
            loss_n = (cnx, cny) if cnx is not None else None
    if batch_reduction is None:
        return loss, loss_n
    N = loss.shape[0]
    loss = loss.sum()
    loss_n = loss_n.sum() if loss_n is not None else None
    if batch_reduction == "mean":
        if weights is None:
            div = max(N, 1)
        elif float(weights.sum()) == 0.0:
            div = 1
        else:
            div = weights.sum()
        loss = loss / div
        loss_n = loss_n / div if loss_n is not None else None
    return loss, loss_n
