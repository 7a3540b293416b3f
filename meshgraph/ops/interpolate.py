"""knn_interpolate: features of one point set carried to another by inverse-distance weighting of the k
nearest points (PyG's knn_interpolate call shape; PointNet++'s feature propagation)."""

from __future__ import annotations

import torch

from .._utils import FLOAT_DTYPES, check_tensor
from .adjacency import build_adjacency
from .gather_scatter import aggregate
from .graph_builders import knn


def knn_interpolate(x: torch.Tensor, pos_x: torch.Tensor, pos_y: torch.Tensor, batch_x: torch.Tensor | None = None,
                    batch_y: torch.Tensor | None = None, k: int = 3, num_workers: int = 1) -> torch.Tensor:
    """y[i] = (sum_j w_ij x[j]) / (sum_j w_ij) over the k points j of pos_x nearest to pos_y[i] (same graph),
    w_ij = 1 / max(|pos_y[i] - pos_x[j]|^2, 1e-16), the squared distance summed from the coordinate differences
    and the weighted sum divided once at the end, as PyG computes it (so results agree to the last bit).

    Args:
        x: (Nx, *F) features at pos_x (Nx, D); pos_y: (Ny, D) target points; batch_x / batch_y: sorted graph
            index of each point (None: one graph); k: neighbours.

    Returns:
        (Ny, *F). The weighted sum runs on the fused gather-scatter kernel (no (Ny, k, F) tensor); differentiable
        w.r.t. x (the neighbour weights are constants, as in PyG). num_workers: accepted for PyG's signature.
    """
    check_tensor(x, "x", min_dim=1, dtypes=FLOAT_DTYPES)
    check_tensor(pos_x, "pos_x", dim=2, dtypes=FLOAT_DTYPES)
    check_tensor(pos_y, "pos_y", dim=2, dtypes=FLOAT_DTYPES)
    if x.shape[0] != pos_x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but pos_x has {pos_x.shape[0]} points")
    Nx, Ny = pos_x.shape[0], pos_y.shape[0]
    with torch.no_grad():
        dst, src = knn(pos_x, pos_y, k, batch_x, batch_y)
        diff = pos_x.detach()[src] - pos_y.detach()[dst]
        w = (1.0 / (diff * diff).sum(-1).clamp(min=1e-16)).to(x.dtype)
        adj = build_adjacency(torch.stack([src, dst]), Ny, num_src=Nx)
        total = torch.zeros(Ny, dtype=w.dtype, device=w.device).index_add_(0, dst, w)
        total = torch.where(total > 0, total, 1.0)  # a query whose graph has no points of x gets 0
    out = aggregate(x, adj, w, "sum")
    return out / total.view(-1, *([1] * (x.dim() - 1)))
