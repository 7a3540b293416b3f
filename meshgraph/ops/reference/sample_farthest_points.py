"""Reference farthest point sampling (PyTorch3D's loop, written plainly)."""

from __future__ import annotations

import torch


def sample_farthest_points_idx(points, lengths, K, start, max_K):
    N = points.shape[0]
    acc = torch.float64 if points.dtype == torch.float64 else torch.float32
    idx = torch.full((N, max_K), -1, dtype=torch.int64, device=points.device)
    for n in range(N):
        x = points[n, : int(lengths[n])].to(acc)
        picks = min(int(K[n]), x.shape[0])
        if picks <= 0:
            continue
        last = min(max(int(start[n]), 0), x.shape[0] - 1)
        dist = torch.full((x.shape[0],), float("inf"), dtype=acc, device=points.device)
        idx[n, 0] = last
        for k in range(1, picks):
            dist = torch.minimum(dist, ((x - x[last]) ** 2).sum(1))
            last = int(torch.argmax(dist))  # first index of the maximum
            idx[n, k] = last
    return idx
