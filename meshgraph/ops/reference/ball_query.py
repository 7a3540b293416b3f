"""Reference ball query: every query against every point, in index order."""

from __future__ import annotations

import torch


def ball_query_idx(p1, p2, lengths1, lengths2, K, radius):
    N, P1, _ = p1.shape
    idx = torch.full((N, P1, K), -1, dtype=torch.int64, device=p1.device)
    acc = torch.float64 if p1.dtype == torch.float64 else torch.float32
    for n in range(N):
        a, b = p1[n, : int(lengths1[n])].to(acc), p2[n, : int(lengths2[n])].to(acc)
        if a.shape[0] == 0 or b.shape[0] == 0:
            continue
        inside = ((a[:, None] - b[None]) ** 2).sum(-1) <= torch.tensor(radius, dtype=acc) ** 2
        for i in range(a.shape[0]):
            hits = torch.nonzero(inside[i]).flatten()[:K]
            idx[n, i, : hits.numel()] = hits
    return idx
