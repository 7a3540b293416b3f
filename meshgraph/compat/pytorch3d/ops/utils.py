"""`pytorch3d.ops.utils` mirror (the names meshgraph implements)."""

from __future__ import annotations

import torch

from ....ops.knn import knn_gather

__all__ = ["masked_gather"]


def masked_gather(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """PyTorch3D's masked_gather: points (N, P, D) gathered by idx (N, K) or (N, P', K), -1 entries give 0
    (meshgraph's knn_gather, which reads -1 as padding)."""
    if idx.dim() == 2:
        return knn_gather(points, idx[:, :, None])[:, :, 0]
    if idx.dim() == 3:
        return knn_gather(points, idx)
    raise ValueError("format of idx not recognized")


# --- geometry (issue 16)
from ....ops.points_normals import convert_pointclouds_to_tensor, get_point_covariances, is_pointclouds  # noqa: E402

__all__ += ["convert_pointclouds_to_tensor", "get_point_covariances", "is_pointclouds"]
# --- end geometry
