"""Reference graclus (greedy matching, the CPU kernel's algorithm written plainly; contract in
csrc/ops/graclus/graclus.h)."""

from __future__ import annotations

import torch


def graclus(rowptr, col, weight, seed):
    """cluster (V,) int64 of the greedy matching: nodes visited in randperm(V) order from a CPU generator seeded with
    `seed`; an unmatched node takes its first unmatched neighbour (unweighted), or the unmatched entry of largest
    weight >= 0 (ties: the last entry; a self-loop counts and leaves the node alone); cluster = min of the pair."""
    V = rowptr.shape[0] - 1
    out = [-1] * V
    if V == 0:
        return torch.empty(0, dtype=torch.int64, device=col.device)
    order = torch.randperm(V, generator=torch.Generator().manual_seed(seed % 2**64)).tolist()
    rp, cols = rowptr.tolist(), col.tolist()
    w = None if weight is None else weight.to(torch.float64 if weight.dtype == torch.float64 else torch.float32).tolist()
    for u in order:
        if out[u] >= 0:
            continue
        if w is None:
            out[u] = u
            for e in range(rp[u], rp[u + 1]):
                v = cols[e]
                if out[v] < 0:
                    out[u] = out[v] = min(u, v)
                    break
        else:
            best, w_best = u, 0.0
            for e in range(rp[u], rp[u + 1]):
                v = cols[e]
                if out[v] < 0 and w[e] >= w_best:
                    best, w_best = v, w[e]
            out[u] = out[best] = min(u, best)
    return torch.tensor(out, dtype=torch.int64, device=col.device)
