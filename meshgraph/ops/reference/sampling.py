"""Graph sampling: multi-hop neighbour sampling and node2vec random walks, as plain Python loops.

These are the specification of csrc/ops/neighbor_sample/ and csrc/ops/random_walk/: with the same `rng_seed`
they return exactly the kernels' outputs. The random numbers are counter-based (csrc/common/counter_rng.h):
every draw is a hash of (rng_seed, a, b, c), evaluated here with Python ints.
"""

from __future__ import annotations

import torch

_MASK = (1 << 64) - 1


def _mix(z: int) -> int:
    """splitmix64's finalizer on a uint64."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def rng_bits(seed: int, a: int, b: int, c: int) -> int:
    """The 64 random bits of draw (a, b, c) under `seed`."""
    return _mix((_mix((_mix((_mix(seed & _MASK) + a) & _MASK) + b) & _MASK) + c) & _MASK)


def rng_below(r: int, n: int) -> int:
    """Uniform integer in [0, n) from 64 random bits."""
    return (r * n) >> 64


def rng_unit(r: int) -> float:
    """Uniform float in [0, 1) from 64 random bits (the top 53)."""
    return (r >> 11) * 2.0**-53


def _weighted_pick(cands: list[int], weight: list[float], r: int, taken: set[int]) -> int:
    """First candidate (not taken) whose running weight sum exceeds unit(r) * total; -1 when total <= 0."""
    rest = [e for e in cands if e not in taken]
    total = 0.0
    for e in rest:
        total += weight[e]
    if not total > 0:
        return -1
    target = rng_unit(r) * total
    cum, last = 0.0, -1
    for e in rest:
        cum += weight[e]
        if weight[e] > 0:
            last = e
        if cum > target:
            return e
    return last


def _sample_node(cands: list[int], k: int, replace: bool, weight: list[float] | None, seed: int, b: int,
                 v: int) -> list[int]:
    """The CSR positions picked among the eligible edges `cands` of node v (seed slot b), in draw order."""
    m = len(cands)
    if m == 0 or k == 0:
        return []
    if k < 0 or (not replace and k >= m):
        return list(cands)
    if weight is None:
        if replace:
            return [cands[rng_below(rng_bits(seed, b, v, j), m)] for j in range(k)]
        ranks: list[int] = []  # Floyd's algorithm
        for t in range(k):
            i = m - k + t
            r = rng_below(rng_bits(seed, b, v, t), i + 1)
            ranks.append(i if r in ranks else r)
        return [cands[r] for r in ranks]
    picks: list[int] = []
    for j in range(k):
        e = _weighted_pick(cands, weight, rng_bits(seed, b, v, j), set() if replace else set(picks))
        if e < 0:
            break
        picks.append(e)
    return picks


def neighbor_sample(
    rowptr: torch.Tensor,
    col: torch.Tensor,
    seeds: torch.Tensor,
    num_neighbors: list[int],
    replace: bool,
    directed: bool,
    disjoint: bool,
    weight: torch.Tensor | None,
    time: torch.Tensor | None,
    seed_time: torch.Tensor | None,
    rng_seed: int,
) -> tuple[torch.Tensor, ...]:
    """Multi-hop neighbour sampling; contract in csrc/ops/neighbor_sample/neighbor_sample.h.

    Returns (node, row, col, edge, batch, num_sampled_nodes, num_sampled_edges), int64 tensors on rowptr's device.
    """
    device = rowptr.device
    rp, cl, sd = rowptr.tolist(), col.tolist(), seeds.tolist()
    N = len(rp) - 1
    w = None if weight is None else weight.double().tolist()
    tm = None if time is None else time.tolist()
    st = None if seed_time is None else seed_time.tolist()
    nodes, batch = list(sd), list(range(len(sd))) if disjoint else []
    local: dict[tuple[int, int], int] = {}
    for i, s in enumerate(sd):
        local.setdefault((i if disjoint else 0, s), i)
    rows, cols, edges, n_nodes, n_edges = [], [], [], [len(sd)], []
    begin, end = 0, len(sd)
    for k in num_neighbors:
        ne = 0
        for i in range(begin, end):
            v, b = nodes[i], batch[i] if disjoint else 0
            cands = [e for e in range(rp[v], rp[v + 1]) if tm is None or tm[min(max(cl[e], 0), N - 1)] <= st[b]]
            for e in _sample_node(cands, k, replace, w, rng_seed, b, v):
                u = min(max(cl[e], 0), N - 1)
                if (b, u) not in local:
                    local[(b, u)] = len(nodes)
                    nodes.append(u)
                    if disjoint:
                        batch.append(b)
                if directed:
                    rows.append(i)
                    cols.append(local[(b, u)])
                    edges.append(e)
                    ne += 1
        if directed:
            n_edges.append(ne)
        begin, end = end, len(nodes)
        n_nodes.append(end - begin)
    if not directed:  # induced: every CSR edge between two sampled nodes, by row node, then adjacency order
        hop_of = [h for h, n in enumerate(n_nodes) for _ in range(n)]
        n_edges = [0] * len(n_nodes)
        for i, v in enumerate(nodes):
            b = batch[i] if disjoint else 0
            for e in range(rp[v], rp[v + 1]):
                j = local.get((b, min(max(cl[e], 0), N - 1)))
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    edges.append(e)
                    n_edges[hop_of[i]] += 1

    def t(x):
        return torch.tensor(x, dtype=torch.int64, device=device)

    return t(nodes), t(rows), t(cols), t(edges), t(batch), t(n_nodes), t(n_edges)


def random_walk(
    rowptr: torch.Tensor, col: torch.Tensor, start: torch.Tensor, walk_length: int, p: float, q: float, rng_seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """node2vec walks; contract in csrc/ops/random_walk/random_walk.h.

    Returns (node_seq (S, walk_length + 1), edge_seq (S, walk_length)) int64: walk n starts at start[n]; step l
    moves along edge rowptr[v] + below(bits(rng_seed, n, l, 0), deg(v)), or, when (p, q) != (1, 1) and l >= 1,
    along the first proposal (bits (n, l, 2a)) accepted by unit(bits(n, l, 2a + 1)) < 1/p, 1 or 1/q (each over
    their maximum) for a return to the previous node, a neighbour of it, or any other node. A node without
    neighbours stays put (edge -1); a node with one neighbour moves there without rejection.
    """
    rp, cl, st = rowptr.tolist(), col.tolist(), start.tolist()
    N = len(rp) - 1
    biased = p != 1 or q != 1
    top = max(1.0 / p, 1.0, 1.0 / q)
    prob = (1.0 / p / top, 1.0 / top, 1.0 / q / top)
    nodes, edges = [], []
    for n, t0 in enumerate(st):
        cur, prev = t0, -1
        walk, path = [cur], []
        for step in range(walk_length):
            rs, re = rp[cur], rp[cur + 1]
            deg = re - rs
            if deg == 0:
                e = -1
            elif not biased or step == 0:
                e = rs + rng_below(rng_bits(rng_seed, n, step, 0), deg)
            elif deg == 1:
                e = rs
            else:
                for a in range(_MAX_ATTEMPTS):
                    e = rs + rng_below(rng_bits(rng_seed, n, step, 2 * a), deg)
                    x = min(max(cl[e], 0), N - 1)
                    if x == prev:
                        accept = prob[0]
                    elif prev in cl[rp[x]:rp[x + 1]]:
                        accept = prob[1]
                    else:
                        accept = prob[2]
                    if rng_unit(rng_bits(rng_seed, n, step, 2 * a + 1)) < accept:
                        break
            if e >= 0:
                prev, cur = cur, min(max(cl[e], 0), N - 1)
            walk.append(cur)
            path.append(e)
        nodes.append(walk)
        edges.append(path)
    dev = rowptr.device
    return (torch.tensor(nodes, dtype=torch.int64, device=dev).reshape(len(st), walk_length + 1),
            torch.tensor(edges, dtype=torch.int64, device=dev).reshape(len(st), walk_length))


# Rejection attempts per biased step before the last proposal is taken (reached only when the smallest
# acceptance ratio min(1/p, 1, 1/q) / max(1/p, 1, 1/q) is below ~1e-4).
_MAX_ATTEMPTS = 1 << 16
