"""Reference K nearest neighbours: every query against every point (brute force)."""

from __future__ import annotations

import torch


def knn_points_idx(p1, p2, lengths1, lengths2, K, norm):
    """(dists, idx) as the kernel defines them: ascending, ties by smaller index, zero padding."""
    N, P1, _ = p1.shape
    acc = torch.float64 if p1.dtype == torch.float64 else torch.float32
    dists = torch.zeros(N, P1, K, dtype=acc, device=p1.device)
    idx = torch.zeros(N, P1, K, dtype=torch.int64, device=p1.device)
    for n in range(N):
        a, b = p1[n, : int(lengths1[n])].to(acc), p2[n, : int(lengths2[n])].to(acc)
        k = min(K, b.shape[0])
        if k == 0 or a.shape[0] == 0:
            continue
        diff = a[:, None, :] - b[None, :, :]
        d = diff.square().sum(-1) if norm == 2 else diff.abs().sum(-1)
        # stable sort by distance keeps the smaller index first among equal distances
        order = torch.sort(d, dim=1, stable=True)
        dists[n, : a.shape[0], :k] = order.values[:, :k]
        idx[n, : a.shape[0], :k] = order.indices[:, :k]
    return dists.to(p1.dtype), idx
