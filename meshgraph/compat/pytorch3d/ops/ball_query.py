"""`pytorch3d.ops.ball_query` mirror."""

from __future__ import annotations

import torch

from ....ops.ball_query import ball_query as _ball_query

__all__ = ["ball_query"]


def ball_query(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    K: int = 500,
    radius: float = 0.2,
    return_nn: bool = True,
    skip_points_outside_cube: bool = False,
):
    """PyTorch3D 0.7.9's ball_query: the first K points of p2 with squared distance < radius^2 (strictly), in
    index order, -1 padded. `skip_points_outside_cube` is a speed hint there (the result is the same) and
    meshgraph's grid search always prunes, so it is accepted and has no effect."""
    return _ball_query(p1, p2, lengths1, lengths2, K=K, radius=radius, return_nn=return_nn, inclusive=False)
