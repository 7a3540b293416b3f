"""neighbor_softmax (fused fwd + bwd) vs torch_scatter's scatter_softmax and a plain-PyTorch version, on the W1
graph (8 bunnies, E = 1,668,608) with 8 heads (GAT's setting). Results checked before timing.
The ops: neighbor_softmax and its backward kernel neighbor_softmax_backward."""

from __future__ import annotations

import torch

from meshgraph.ops import neighbor_softmax
from meshgraph.ops.reference import neighbor_softmax as ref_softmax

from _common import bench_args, bunny_batch, report, timeit


def main(argv=None):
    args = bench_args(argv, heads=(int, 8))
    b = bunny_batch(1) if args.quick else bunny_batch(8)
    if args.quick:
        b = b[0:1]
    adj = b.adjacency()
    dst = b.edge_index[1]
    E, H = b.num_edges, 2 if args.quick else args.heads
    s0 = torch.randn(E, H)
    g = torch.randn(E, H)
    print(f"E={E:,} heads={H}")
    expect = ref_softmax(s0, adj.rowptr, adj.edge_id)
    torch.testing.assert_close(neighbor_softmax(s0, b), expect)

    def ours():
        s = s0.detach().requires_grad_(True)
        neighbor_softmax(s, b).backward(g)

    def plain():
        s = s0.detach().requires_grad_(True)
        mx = torch.full((b.num_verts, H), -torch.inf).scatter_reduce(0, dst[:, None].expand(E, H), s.detach(), "amax")
        ex = (s - mx[dst]).exp()
        den = torch.zeros(b.num_verts, H).index_add(0, dst, ex)
        (ex / den[dst]).backward(g)

    rows = [("meshgraph neighbor_softmax", timeit(ours, repeat=3)), ("plain torch (scatter_reduce/index_add)", timeit(plain, repeat=3))]
    try:
        from torch_scatter.composite import scatter_softmax

        torch.testing.assert_close(scatter_softmax(s0, dst, dim=0), expect)

        def peer():
            s = s0.detach().requires_grad_(True)
            scatter_softmax(s, dst, dim=0).backward(g)

        rows.append(("torch_scatter scatter_softmax", timeit(peer, repeat=3)))
    except ImportError:
        pass
    report("neighbor_softmax fwd+bwd", rows, "meshgraph neighbor_softmax")


if __name__ == "__main__":
    main()
