"""Random walks (op random_walk): 100,000-node, 1,000,000-edge synthetic graph, one walk of length 20 per node,
uniform (p = q = 1) and node2vec-biased (p = 0.5, q = 2). Peer: torch_cluster.random_walk when installed, else a
vectorized torch uniform walk (one gather per step). Checked first: our kernel against the reference on a few
walks and every step of ours and of the baseline along an edge."""

from __future__ import annotations

import torch

from meshgraph.ops import random_walk

from _common import bench_args, report, timeit
from bm_neighbor_sample import synthetic_csr


def torch_walk(rowptr, col, start, walk_length, generator):
    cur, out = start, [start]
    for _ in range(walk_length):
        rs, deg = rowptr[cur], rowptr[cur + 1] - rowptr[cur]
        pick = (torch.rand(cur.numel(), generator=generator, dtype=torch.float64) * deg).long()
        cur = torch.where(deg > 0, col[(rs + pick).clamp(max=col.numel() - 1)], cur)
        out.append(cur)
    return torch.stack(out, 1)


def check_walks(rowptr, col, walks, name):
    cur, nxt = walks[:, :-1].flatten(), walks[:, 1:].flatten()
    deg = rowptr[cur + 1] - rowptr[cur]
    # every move is along an edge: nxt appears among cur's neighbours (sorted check via a per-edge key)
    key = torch.repeat_interleave(torch.arange(rowptr.numel() - 1), rowptr[1:] - rowptr[:-1]) * (rowptr.numel()) + col
    key = key.sort().values
    want = cur * rowptr.numel() + nxt
    found = key[torch.searchsorted(key, want).clamp(max=key.numel() - 1)] == want
    assert bool((found | ((deg == 0) & (nxt == cur))).all()), name


def main(argv=None):
    args = bench_args(argv)
    N, E, L = (2_000, 20_000, 10) if args.quick else (100_000, 1_000_000, 20)
    rowptr, col = synthetic_csr(N, E)
    start = torch.arange(N)
    dev = torch.device(args.device)
    rp, cl, st = rowptr.to(dev), col.to(dev), start.to(dev)
    for p, q in ((1.0, 1.0), (0.5, 2.0)):
        got = random_walk(rowptr, col, start[:50], L, p, q, generator=torch.Generator().manual_seed(1))
        want = random_walk(rowptr, col, start[:50], L, p, q, generator=torch.Generator().manual_seed(1), reference=True)
        assert torch.equal(got, want), "kernel disagrees with the reference"
        check_walks(rowptr, col, random_walk(rp, cl, st, L, p, q).cpu(), f"meshgraph p={p} q={q}")
    check_walks(rowptr, col, torch_walk(rowptr, col, start, L, torch.Generator().manual_seed(0)), "torch baseline")
    rows = [("meshgraph random_walk uniform", timeit(lambda: random_walk(rp, cl, st, L), repeat=5)),
            ("meshgraph random_walk p=0.5 q=2", timeit(lambda: random_walk(rp, cl, st, L, 0.5, 2.0), repeat=5))]
    try:
        import torch_cluster

        src = torch.repeat_interleave(torch.arange(N), rowptr[1:] - rowptr[:-1])
        check_walks(rowptr, col, torch_cluster.random_walk(src, col, start, L, num_nodes=N), "torch_cluster")
        rows.append(("torch_cluster random_walk uniform", timeit(lambda: torch_cluster.random_walk(src, col, start, L, num_nodes=N), repeat=5)))
        rows.append(("torch_cluster random_walk p=0.5 q=2", timeit(lambda: torch_cluster.random_walk(src, col, start, L, 0.5, 2.0, num_nodes=N), repeat=5)))
    except ImportError:
        print("torch_cluster not installed: vectorized torch baseline (uniform walks only)")
    rows.append(("torch vectorized uniform walk", timeit(lambda: torch_walk(rowptr, col, start, L, torch.Generator().manual_seed(0)), repeat=5)))
    report(f"random_walk {N} walks x {L} steps, {E} edges", rows, "meshgraph random_walk uniform")


if __name__ == "__main__":
    main()
