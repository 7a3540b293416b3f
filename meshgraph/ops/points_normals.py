"""Normals and local coordinate frames of point clouds from their neighbourhoods (PyTorch3D's
`pytorch3d.ops.points_normals`): the knn op, per-point covariances, and the fused symmetric 3x3 eigen-solver
`symeig3x3` (or torch.linalg.eigh).

Works on tensors and on any batch with PyTorch3D's `points_padded` / `num_points_per_cloud` (our Pointclouds and
GraphBatch, PyTorch3D's Pointclouds); the container is never imported here.
"""

from __future__ import annotations

from typing import Any

import torch

from .._utils import FLOAT_DTYPES, can_inspect_values, check_positive_int
from .knn import knn_points
from .symeig3x3 import symeig3x3


def is_pointclouds(pcl: Any) -> bool:
    """Whether pcl is a point-cloud batch: it has `points_padded` and `num_points_per_cloud` (PyTorch3D's test;
    our Pointclouds and every GraphBatch pass it)."""
    return hasattr(pcl, "points_padded") and hasattr(pcl, "num_points_per_cloud")


def convert_pointclouds_to_tensor(pcl: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(points (N, P, D) padded, num_points (N,) int64) of a point-cloud batch, or of a tensor (every row valid)
    (PyTorch3D's function, same error for anything else)."""
    if is_pointclouds(pcl):
        return pcl.points_padded(), pcl.num_points_per_cloud()
    if torch.is_tensor(pcl):
        return pcl, torch.full((pcl.shape[0],), pcl.shape[1], dtype=torch.int64, device=pcl.device)
    raise ValueError("The inputs X, Y should be either Pointclouds objects or tensors.")


def get_point_covariances(
    points_padded: torch.Tensor, num_points_per_cloud: torch.Tensor, neighborhood_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(covariances (N, P, D, D), k_nearest_neighbors (N, P, K, D)): the covariance of each point's
    neighborhood_size nearest neighbours (itself included) about their mean, divided by K (PyTorch3D's
    function). Formed as one batched (D, K) @ (K, D) product per point: no (N, P, K, D, D) temporary."""
    K = neighborhood_size
    nn = knn_points(points_padded, points_padded, lengths1=num_points_per_cloud, lengths2=num_points_per_cloud,
                    K=K, return_nn=True).knn
    diff = nn - nn.mean(2, keepdim=True)
    cov = diff.transpose(-1, -2) @ diff / K
    return cov, nn


def _disambiguate(points: torch.Tensor, nn: torch.Tensor, vecs: torch.Tensor) -> torch.Tensor:
    """Tombari et al.'s sign rule for each of vecs' C columns (N, P, 3, C): flipped where fewer than half of the
    K neighbour offsets nn - point project positively on it. The decision carries no gradient."""
    K = nn.shape[2]
    with torch.no_grad():
        offsets = nn.detach() - points.detach()[:, :, None]
        proj = offsets @ vecs.detach()  # (N, P, K, C)
        positive = (proj > 0).sum(2, keepdim=True)  # (N, P, 1, C)
        sign = torch.where(positive < 0.5 * K, -1.0, 1.0).to(vecs.dtype)
    return vecs * sign


def estimate_pointcloud_local_coord_frames(
    pointclouds: Any,
    neighborhood_size: int = 50,
    disambiguate_directions: bool = True,
    *,
    use_symeig_workaround: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Principal curvatures and directions of each point's neighbourhood (PyTorch3D 0.7.9's function).

    Args:
        pointclouds: (N, P, 3) float tensor, or a batch with `points_padded()` / `num_points_per_cloud()` (our
            Pointclouds or GraphBatch, PyTorch3D's Pointclouds).
        neighborhood_size: neighbours per point (itself included) whose covariance is decomposed; every cloud
            must hold more points than this.
        disambiguate_directions: orient the first (normal) and third axes to where most neighbours lie (Tombari,
            Salti, Di Stefano: SHOT, ECCV 2010), and make the middle axis their cross product n x z (so the
            frame (n, n x z, z) is orthonormal with determinant -1, as in PyTorch3D).
        use_symeig_workaround: True: meshgraph's fused `symeig3x3` kernel; False: torch.linalg.eigh (float32 for
            the half types). Both give the same eigenvalues and axes up to sign.

    Returns:
        curvatures (N, P, 3): the covariance eigenvalues, ascending; local_coord_frames (N, P, 3, 3): the
        eigenvectors as columns, [..., 0] the normal. For a batch object both are padded, and the rows past a
        cloud's length are zero (PyTorch3D leaves there whatever the padding produced). Differentiable w.r.t.
        the points (the neighbour choice and the sign decisions are piecewise constant).
    """
    points, lengths = convert_pointclouds_to_tensor(pointclouds)
    if points.dim() != 3 or points.shape[2] != 3:
        raise ValueError("The pointclouds argument has to be of shape (minibatch, N, 3)")
    if points.dtype not in FLOAT_DTYPES:
        raise TypeError(f"pointclouds must hold floating points, got {points.dtype}")
    K = check_positive_int(neighborhood_size, "neighborhood_size")
    if can_inspect_values(lengths) and lengths.numel() and bool((lengths <= K).any()):
        raise ValueError("The neighborhood_size argument has to be >= size of each of the point clouds.")
    N, P, _ = points.shape
    valid = (torch.arange(P, device=points.device)[None, :] < lengths[:, None]).to(points.dtype)  # (N, P)
    # undo the global mean for stability (over each cloud's own points)
    mean = (points * valid[..., None]).sum(1) / lengths.clamp_min(1)[:, None].to(points.dtype)
    centered = points - mean[:, None, :]
    cov, nn = get_point_covariances(centered, lengths, K)
    if use_symeig_workaround:
        curvatures, frames = symeig3x3(cov)
    elif cov.dtype in (torch.float16, torch.bfloat16):
        curvatures, frames = (t.to(cov.dtype) for t in torch.linalg.eigh(cov.float()))
    else:
        curvatures, frames = torch.linalg.eigh(cov)
    if disambiguate_directions:
        nz = _disambiguate(centered, nn, frames[..., 0::2])
        n, z = nz[..., 0], nz[..., 1]
        frames = torch.stack((n, torch.linalg.cross(n, z, dim=2), z), dim=3)
    return curvatures * valid[..., None], frames * valid[..., None, None]


def estimate_pointcloud_normals(
    pointclouds: Any,
    neighborhood_size: int = 50,
    disambiguate_directions: bool = True,
    *,
    use_symeig_workaround: bool = True,
) -> torch.Tensor:
    """(N, P, 3) unit normals: the least-variance axis of each point's neighbourhood, i.e.
    `estimate_pointcloud_local_coord_frames(...)[1][..., 0]` (PyTorch3D 0.7.9's function; padded for batch
    objects, zero rows past each cloud's length)."""
    _, frames = estimate_pointcloud_local_coord_frames(
        pointclouds,
        neighborhood_size=neighborhood_size,
        disambiguate_directions=disambiguate_directions,
        use_symeig_workaround=use_symeig_workaround,
    )
    return frames[..., 0]


__all__ = [
    "convert_pointclouds_to_tensor",
    "estimate_pointcloud_local_coord_frames",
    "estimate_pointcloud_normals",
    "get_point_covariances",
    "is_pointclouds",
]
