"""Temporal neighbour sampling beyond the kernel's node-time / uniform case: `temporal_strategy='last'` and
edge-level times (pyg-lib's semantics, which PyG 2.8's NeighborSampler calls).

The graph is a CSC (colptr, row): the neighbours of node v are row[colptr[v]:colptr[v + 1]], sorted by time
within each v (PyG's `sort_csc`: by the neighbour's node time, or by the edge time). Sampling is always disjoint
(every seed its own subtree, PyG's rule for temporal sampling) and every node of seed b's subtree is expanded
with b's seed time t_b:

- eligible neighbours of v: the edges e of v's range with time(e) <= t_b, where time(e) is edge_time[e]
  (edge-level) or node_time[row[e]] (node-level); without either (an edge type whose types carry no time) every
  edge is eligible and the draw is uniform (pyg-lib's rule for untimed types);
- 'uniform': k of the eligible edges uniformly without replacement (all when k < 0 or k >= their count), or k
  draws with replacement;
- 'last': the k eligible edges latest in the CSC (by time; equal times: the later CSC position) - all of them
  without replacement, k draws among them with replacement.

The picks of one node keep their CSC order; random draws come from torch's generator (`generator`, or the
default), so a batch depends only on its state. Vectorized over the frontier (no Python loop over nodes).
"""

from __future__ import annotations

import torch

from ..ops.neighbor_sample import NeighborSample

STRATEGIES = ("uniform", "last")


def temporal_hop(colptr: torch.Tensor, row: torch.Tensor, nodes: torch.Tensor, seed_time: torch.Tensor | None,
                 k: int, replace: bool, strategy: str, node_time: torch.Tensor | None = None,
                 edge_time: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One hop for the frontier `nodes` (F,) with their subtrees' seed times (F,): (slot (S,), edge (S,)), the
    frontier position and the CSC position of every pick, grouped by frontier entry in order (see the module
    docstring for the rules; node_time / edge_time None: no time filter, uniform draws)."""
    empty = torch.empty(0, dtype=torch.long)
    if nodes.numel() == 0 or k == 0:
        return empty, empty
    start = colptr[nodes]
    deg = colptr[nodes + 1] - start
    total = int(deg.sum())
    if total == 0:
        return empty, empty
    slot = torch.repeat_interleave(torch.arange(nodes.numel()), deg)
    seg_start = torch.cumsum(deg, 0) - deg
    edge = start[slot] + torch.arange(total) - seg_start[slot]
    timed = edge_time is not None or node_time is not None
    if timed:
        t = edge_time[edge] if edge_time is not None else node_time[row[edge]]
        keep = t <= seed_time[slot]
        slot, edge = slot[keep], edge[keep]
    else:
        strategy = "uniform"
    m = torch.bincount(slot, minlength=nodes.numel())
    first = torch.cumsum(m, 0) - m  # position of each slot's first eligible edge
    pos = torch.arange(slot.numel()) - first[slot]  # rank within the slot, in CSC order
    if strategy == "last" and k >= 0:
        window = pos >= (m[slot] - k)  # the last k eligible edges of each slot
        slot, edge = slot[window], edge[window]
        m = torch.bincount(slot, minlength=nodes.numel())
        first = torch.cumsum(m, 0) - m
        pos = torch.arange(slot.numel()) - first[slot]
        if not replace:
            return slot, edge
    if k < 0:
        return slot, edge
    if replace:
        has = (m > 0).nonzero().view(-1)
        draw_slot = torch.repeat_interleave(has, k)
        r = torch.rand(draw_slot.numel(), generator=generator, dtype=torch.float64)
        idx = first[draw_slot] + (r * m[draw_slot]).long().clamp_(max=m[draw_slot] - 1)
        return draw_slot, edge[idx]
    # without replacement: keep all of a slot with m <= k, else the k smallest of random keys (a uniform subset)
    r = torch.rand(slot.numel(), generator=generator, dtype=torch.float64)
    order = torch.argsort(slot.double() + r, stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel()) - first[slot[order]]
    chosen = rank < k
    return slot[chosen], edge[chosen]


def _first_occurrence_add(known_keys: torch.Tensor, known_local: torch.Tensor, count: int, keys: torch.Tensor):
    """(local ids of `keys`, new keys in first-occurrence order, updated sorted index): the disjoint node map."""
    from .hetero_sampler import _lookup

    uniq, inverse = torch.unique(keys, return_inverse=True)
    first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(keys.numel()), reduce="amin")
    _, seen = _lookup(known_keys, known_local, uniq)
    new = (~seen).nonzero().view(-1)
    new = new[first[new].argsort()]
    new_keys = uniq[new]
    sk = torch.cat([known_keys, new_keys])
    sl = torch.cat([known_local, torch.arange(count, count + new.numel())])
    sk, order = sk.sort()
    sl = sl[order]
    local, _ = _lookup(sk, sl, keys)
    return local, new_keys, sk, sl


def temporal_neighbor_sample(colptr: torch.Tensor, row: torch.Tensor, seeds: torch.Tensor, seed_time: torch.Tensor,
                             num_neighbors: list[int], replace: bool = False, strategy: str = "uniform",
                             node_time: torch.Tensor | None = None, edge_time: torch.Tensor | None = None,
                             induced: bool = False, generator: torch.Generator | None = None) -> NeighborSample:
    """Multi-hop disjoint temporal sampling of a homogeneous CSC (module docstring), in neighbor_sample's output
    terms: node (seeds first), row (local id of the expanded node), col (local id of the pick), edge (CSC
    positions), batch (seed slot of every node), num_sampled_nodes, num_sampled_edges (per hop; with induced=True
    every CSC edge between two nodes of one subtree, counted by the hop of its row node, L + 1 entries)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"temporal_strategy must be 'uniform' or 'last', got {strategy!r}")
    if (node_time is None) == (edge_time is None):
        raise ValueError("temporal sampling needs exactly one of node_time / edge_time")
    seeds = seeds.long()
    N = max(colptr.numel() - 1, 1)
    B = seeds.numel()
    batch = torch.arange(B)
    keys = batch * N + seeds
    uniq, inverse = torch.unique(keys, return_inverse=True)
    first = torch.full((uniq.numel(),), B, dtype=torch.long)
    first.scatter_reduce_(0, inverse, torch.arange(B), reduce="amin")
    sk, sl = uniq, first  # a repeated (slot, seed) pair cannot happen: slots differ
    all_keys, count = [keys], B
    n_nodes, n_edges = [B], []
    rows, cols, edges = [], [], []
    f_local = torch.arange(B)
    for k in num_neighbors:
        f_keys = all_keys[-1] if n_nodes[-1] else keys.new_empty(0)
        f_nodes, f_batch = f_keys % N, f_keys // N
        slot, edge = temporal_hop(colptr, row, f_nodes, seed_time[f_batch], k, replace, strategy, node_time,
                                  edge_time, generator)
        nb_keys = f_batch[slot] * N + row[edge]
        local, new_keys, sk, sl = _first_occurrence_add(sk, sl, count, nb_keys)
        if not induced:
            rows.append(f_local[slot])
            cols.append(local)
            edges.append(edge)
            n_edges.append(int(edge.numel()))
        all_keys.append(new_keys)
        f_local = torch.arange(count, count + new_keys.numel())
        count += new_keys.numel()
        n_nodes.append(int(new_keys.numel()))
    keys = torch.cat(all_keys)
    node, batch = keys % N, keys // N
    if induced:
        hop = torch.repeat_interleave(torch.arange(len(n_nodes)), torch.tensor(n_nodes))
        start, end = colptr[node], colptr[node + 1]
        deg = end - start
        r = torch.repeat_interleave(torch.arange(node.numel()), deg)
        e = start[r] + torch.arange(int(deg.sum())) - (torch.cumsum(deg, 0) - deg)[r]
        from .hetero_sampler import _lookup

        c, found = _lookup(sk, sl, batch[r] * N + row[e])
        r, c, e = r[found], c[found], e[found]
        rows, cols, edges = [r], [c], [e]
        n_edges = torch.bincount(hop[r], minlength=len(n_nodes)).tolist()
    cat = (lambda xs: torch.cat(xs) if xs else torch.empty(0, dtype=torch.long))
    return NeighborSample(node, cat(rows), cat(cols), cat(edges), batch, n_nodes, n_edges)


__all__ = ["STRATEGIES", "temporal_hop", "temporal_neighbor_sample"]
