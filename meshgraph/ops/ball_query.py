"""ball_query with PyTorch3D's semantics (first K points within the radius, in index order, -1 padding).

Kernels: csrc/ops/ball_query/ (uses the per-cloud grid of knn)."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import check_lengths
from .knn import KNN, check_point_pair, knn_gather

_extension.load()


def ball_query(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    K: int = 500,
    radius: float = 0.2,
    return_nn: bool = True,
    *,
    inclusive: bool = True,
) -> KNN:
    """For every point of p1, the first K points of p2 (in index order) within `radius` (PyTorch3D's ball_query).

    Args:
        p1: (N, P1, D), p2: (N, P2, D) clouds; lengths1, lengths2: (N,) valid points (None: all).
        K: maximum neighbours per query; radius: ball radius (> 0, inclusive).
        return_nn: also return the neighbours' coordinates.
        inclusive: a point at exactly `radius` counts (d^2 <= r^2); False: only d^2 < r^2, PyTorch3D's rule
            (distances in the points' precision, summed over coordinates in order, as PyTorch3D does). The
            strict form filters the kernel's hits and asks again for more where boundary points took slots.

    Returns:
        KNN(dists, idx, knn): dists (N, P1, K) *squared* distances (0 where padded), idx (N, P1, K) with -1
        padding, knn (N, P1, K, D) with zeros at padding (or None). Gradients flow to p1 and p2 through dists and
        knn.
    """
    K = check_point_pair(p1, p2, K)
    if not isinstance(radius, (int, float)) or isinstance(radius, bool) or not radius > 0:
        raise ValueError(f"radius must be a positive number, got {radius!r}")
    N = p1.shape[0]
    l1 = check_lengths(lengths1, "lengths1", N, p1.shape[1], p1.device)
    l2 = check_lengths(lengths2, "lengths2", N, p2.shape[1], p1.device)
    idx = torch.ops.meshgraph.ball_query_idx(p1.detach(), p2.detach(), l1, l2, K, float(radius))
    if not inclusive:
        idx = _strictly_inside(p1.detach(), p2.detach(), l1, l2, K, float(radius), idx)
    nn = knn_gather(p2, idx, l2)
    acc = torch.float64 if p1.dtype == torch.float64 else torch.float32  # half types accumulate in float32
    dists = ((p1.to(acc)[:, :, None, :] - nn.to(acc)).square().sum(-1) * (idx >= 0)).to(p1.dtype)
    return KNN(dists, idx, nn if return_nn else None)


def _strictly_inside(p1, p2, l1, l2, K, radius, idx):
    """The first K points with d^2 < r^2 per query, from inclusive kernel hits: drop the hits at exactly the
    radius; where they took slots of a full row, query again with room for them (rare: exact ties)."""
    acc = torch.float64 if p1.dtype == torch.float64 else torch.float32
    q, p = p1.to(acc), p2.to(acc)
    r2 = torch.tensor(radius, dtype=acc) * torch.tensor(radius, dtype=acc)
    k = K
    while True:
        nbr = knn_gather(p, idx, l2)  # (N, P1, k, D), zeros at -1
        d2 = torch.zeros(idx.shape, dtype=acc, device=idx.device)
        for a in range(p1.shape[2]):  # coordinate by coordinate, as the kernels accumulate
            d = q[:, :, None, a] - nbr[..., a]
            d2 = d2 + d * d
        hit = idx >= 0
        inside = hit & (d2 < r2)
        short = (hit.sum(-1) == k) & (inside.sum(-1) < K)  # full rows that lost slots to boundary points
        if not bool(short.any()):
            break
        k += int((hit & ~inside).sum(-1).max())
        idx = torch.ops.meshgraph.ball_query_idx(p1, p2, l1, l2, k, radius)
    if k == K and bool(inside.eq(hit).all()):
        return idx
    slot = torch.cumsum(inside, -1) - 1  # position of each strict hit among its row's strict hits
    keep = inside & (slot < K)
    out = torch.full((*idx.shape[:2], K), -1, dtype=idx.dtype, device=idx.device)
    n, i, _ = torch.nonzero(keep, as_tuple=True)
    out[n, i, slot[keep]] = idx[keep]
    return out


@torch.library.register_fake("meshgraph::ball_query_idx")
def _fake(p1, p2, lengths1, lengths2, K, radius):
    torch._check(K >= 1, lambda: "K must be >= 1")
    torch._check(radius > 0, lambda: "radius must be positive")
    return p1.new_empty((p1.shape[0], p1.shape[1], K), dtype=torch.int64)
