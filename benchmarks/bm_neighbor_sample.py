"""Neighbour sampling (op neighbor_sample): a synthetic 100,000-node, 1,000,000-edge graph (fixed seed), 1,024 seeds,
fan-out [15, 10, 5], without replacement. Peer: PyG's NeighborSampler path (pyg-lib's neighbor_sample, or
torch-sparse's) when installed; PyG has no pure-Python fallback (it raises ImportError without them), so otherwise a
vectorized torch baseline (random keys per frontier edge, a sort, the first k per node, unique-based relabel).
Checked first: our kernel against the reference on a slice of the seeds, and both samplers' structural
invariants (each kept edge belongs to its row node, min(k, degree) edges per frontier node, seeds first)."""

from __future__ import annotations

import torch

from meshgraph.ops import neighbor_sample

from _common import bench_args, report, timeit


def synthetic_csr(N, E, seed=0):
    g = torch.Generator().manual_seed(seed)
    row = torch.randint(0, N, (E,), generator=g)
    col = torch.randint(0, N, (E,), generator=g)
    row, perm = row.sort()
    rowptr = torch.zeros(N + 1, dtype=torch.long)
    rowptr[1:] = torch.bincount(row, minlength=N).cumsum(0)
    return rowptr, col[perm].contiguous()


def torch_sample(rowptr, col, seeds, fanouts, generator):
    """Uniform multi-hop sampling without replacement with torch ops (node, row, col, edge; seeds first)."""
    N = rowptr.numel() - 1
    local = torch.full((N,), -1, dtype=torch.long)
    local[seeds.flip(0)] = torch.arange(seeds.numel() - 1, -1, -1)
    nodes, begin = seeds, 0
    rows, cols, edges = [], [], []
    for k in fanouts:
        frontier = nodes[begin:]
        start, deg = rowptr[frontier], rowptr[frontier + 1] - rowptr[frontier]
        seg = torch.repeat_interleave(torch.arange(frontier.numel()), deg)
        offs = deg.cumsum(0) - deg
        pos = torch.arange(seg.numel()) - offs[seg]
        order = torch.argsort(seg.double() + torch.rand(seg.numel(), generator=generator, dtype=torch.float64))
        seg_s = seg[order]
        keep = (torch.arange(seg.numel()) - offs[seg_s]) < k
        e = (start[seg] + pos)[order][keep]
        src = seg_s[keep] + begin
        w = col[e]
        fresh = local[w] < 0
        uniq, inv = torch.unique(w[fresh], return_inverse=True)
        first = torch.full((uniq.numel(),), w.numel(), dtype=torch.long).scatter_reduce(
            0, inv, torch.nonzero(fresh).flatten(), "amin")
        new_nodes = w[first.sort().values]
        local[new_nodes] = torch.arange(nodes.numel(), nodes.numel() + new_nodes.numel())
        begin = nodes.numel()
        nodes = torch.cat([nodes, new_nodes])
        rows.append(src)
        cols.append(local[w])
        edges.append(e)
    return nodes, torch.cat(rows), torch.cat(cols), torch.cat(edges)


def check_sample(rowptr, col, seeds, fanouts, node, row, c, edge, name):
    assert torch.equal(node[: seeds.numel()], seeds), name
    assert torch.equal(node[c], col[edge]), name
    assert torch.equal(node[row], torch.searchsorted(rowptr, edge, right=True) - 1), name
    deg = rowptr[1:] - rowptr[:-1]
    per_row = torch.bincount(row, minlength=node.numel())
    first = per_row[: seeds.numel()]
    assert torch.equal(first, deg[seeds].clamp(max=fanouts[0])), name
    assert node.unique().numel() == node.numel(), name


def pyg_sampler(rowptr, col, fanouts):
    """PyG's NeighborSampler on the same graph (CSC of the reversed edges = our CSR), or None without its backends."""
    try:
        import torch_geometric.typing as tg_typing
        from torch_geometric.data import Data
        from torch_geometric.sampler import NeighborSampler, NodeSamplerInput
    except ImportError:
        return None
    if not (tg_typing.WITH_PYG_LIB or tg_typing.WITH_TORCH_SPARSE):
        return None
    N = rowptr.numel() - 1
    src = torch.repeat_interleave(torch.arange(N), rowptr[1:] - rowptr[:-1])
    data = Data(edge_index=torch.stack([col, src]), num_nodes=N)  # messages flow neighbour -> node
    sampler = NeighborSampler(data, fanouts)
    return lambda seeds: sampler.sample_from_nodes(NodeSamplerInput(None, seeds))


def main(argv=None):
    args = bench_args(argv)
    N, E, B = (2_000, 20_000, 64) if args.quick else (100_000, 1_000_000, 1024)
    fanouts = [15, 10, 5]
    rowptr, col = synthetic_csr(N, E)
    seeds = torch.randperm(N, generator=torch.Generator().manual_seed(1))[:B]
    dev = torch.device(args.device)
    rp, cl, sd = rowptr.to(dev), col.to(dev), seeds.to(dev)

    def ours():
        return neighbor_sample(rp, cl, sd, fanouts, generator=torch.Generator().manual_seed(0))

    out = ours()
    small = seeds[:4] if not args.quick else seeds
    a = neighbor_sample(rowptr, col, small, fanouts, generator=torch.Generator().manual_seed(3))
    b = neighbor_sample(rowptr, col, small, fanouts, generator=torch.Generator().manual_seed(3), reference=True)
    assert all(torch.equal(x, y) for x, y in zip(a[:4], b[:4])), "kernel disagrees with the reference"
    check_sample(rowptr, col, seeds, fanouts, *(t.cpu() for t in out[:4]), "meshgraph")
    base = torch_sample(rowptr, col, seeds, fanouts, torch.Generator().manual_seed(0))
    check_sample(rowptr, col, seeds, fanouts, *base, "torch baseline")
    edges = out.row.numel()
    print(f"sampled {out.node.numel()} nodes, {edges} edges (torch baseline: {base[0].numel()}, {base[1].numel()})")
    rows = [("meshgraph neighbor_sample", timeit(ours, repeat=5))]
    sample_pyg = pyg_sampler(rowptr, col, fanouts)
    if sample_pyg is not None:
        po = sample_pyg(seeds)
        assert torch.equal(po.node[:B], seeds)
        rows.append(("PyG NeighborSampler", timeit(lambda: sample_pyg(seeds), repeat=5)))
    else:
        print("PyG NeighborSampler: needs pyg-lib or torch-sparse (neither installed); torch baseline instead")
    rows.append(("torch vectorized baseline", timeit(lambda: torch_sample(rowptr, col, seeds, fanouts, torch.Generator().manual_seed(0)), repeat=5)))
    ms = dict(rows)["meshgraph neighbor_sample"]
    report(f"neighbor_sample {N} nodes, {E} edges, {B} seeds, fan-out {fanouts} ({edges / ms * 1e3 / 1e6:.2f} M sampled edges/s)",
           rows, "meshgraph neighbor_sample")
    rows = [("meshgraph neighbor_sample disjoint", timeit(lambda: neighbor_sample(rp, cl, sd, fanouts, disjoint=True), repeat=3)),
            ("meshgraph neighbor_sample replace", timeit(lambda: neighbor_sample(rp, cl, sd, fanouts, replace=True), repeat=3)),
            ("meshgraph neighbor_sample weighted", timeit(lambda: neighbor_sample(rp, cl, sd, fanouts, weight=torch.rand(E, device=dev)), repeat=3))]
    report("neighbor_sample modes", rows, "meshgraph neighbor_sample disjoint")


if __name__ == "__main__":
    main()
