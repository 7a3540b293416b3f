"""Graclus greedy matching (op graclus) on a random undirected graph, 100,000 nodes / ~1,000,000 directed edges,
unweighted and weighted, vs PyG's `graclus` (pyg-lib's graclus_cluster) when pyg-lib is installed, same run, and
the pure-Python reference (the CPU kernel's specification) on a small graph. The kernel's clusters are checked
against the reference before timing (same seed, so the same visit order)."""

from __future__ import annotations

import torch

from meshgraph.ops.edge_utils import coalesce, sort_edge_index, to_undirected
from meshgraph.ops.graclus import graclus
from meshgraph.ops.reference import graclus as ref

from _common import bench_args, report, timeit


def graph(n: int, e: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    ei = coalesce(to_undirected(ei[:, ei[0] != ei[1]], num_nodes=n), num_nodes=n)
    return ei, torch.rand(ei.shape[1], generator=g)


def check(ei, w, n):
    ei, w = sort_edge_index(ei, w, num_nodes=n)
    rowptr = torch.zeros(n + 1, dtype=torch.long)
    rowptr[1:] = torch.bincount(ei[0], minlength=n).cumsum(0)
    for weight in (None, w):
        assert torch.equal(torch.ops.meshgraph.graclus(rowptr, ei[1], weight, 1), ref(rowptr, ei[1], weight, 1))


def main(argv=None):
    args = bench_args(argv)
    n, e = (2000, 10_000) if args.quick else (100_000, 500_000)
    ei, w = graph(n, e, 0)
    small_n = 2000
    small, small_w = graph(small_n, 10_000, 1)
    check(small, small_w, small_n)
    for name, weight in (("unweighted", None), ("weighted", w)):
        rows = [("meshgraph graclus", timeit(lambda: graclus(ei, weight, n), repeat=5))]
        try:
            import torch_geometric.nn as pyg_nn

            pyg_nn.graclus(ei, weight, n)
            rows.append(("PyG graclus (pyg-lib)", timeit(lambda: pyg_nn.graclus(ei, weight, n), repeat=5)))
        except (ImportError, RuntimeError):
            pass  # PyG's graclus needs pyg-lib
        report(f"graclus {name} {n} nodes / {ei.shape[1]} edges", rows, "meshgraph graclus")
    sw = None
    rows = [("meshgraph graclus", timeit(lambda: graclus(small, sw, small_n), repeat=3)),
            ("reference (Python loop)", timeit(lambda: graclus(small, sw, small_n, reference=True), repeat=1, warmup=0))]
    report(f"graclus unweighted {small_n} nodes (vs the reference)", rows, "meshgraph graclus")


if __name__ == "__main__":
    main()
