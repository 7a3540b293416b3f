"""`pytorch3d.ops.sample_farthest_points` mirror."""

from __future__ import annotations

import torch

from ....ops.sample_farthest_points import sample_farthest_points as _fps

__all__ = ["sample_farthest_points", "sample_farthest_points_naive"]


def sample_farthest_points(points: torch.Tensor, lengths: torch.Tensor | None = None, K=50,
                           random_start_point: bool = False):
    """PyTorch3D's sample_farthest_points: (selected points (N, max K, D), indices (N, max K), -1 padded)."""
    return _fps(points, lengths, K, random_start_point)


def sample_farthest_points_naive(points: torch.Tensor, lengths: torch.Tensor | None = None, K=50,
                                 random_start_point: bool = False):
    """PyTorch3D's pure-PyTorch FPS: the same validation and outputs as `sample_farthest_points`, the indices
    from meshgraph's reference implementation (`meshgraph.ops.reference`) instead of the kernel."""
    return _fps(points, lengths, K, random_start_point, reference=True)
