"""gatv2_edge_score (fused GATv2 attention logits, fwd + bwd kernels) vs the unfused torch expression PyG's
GATv2Conv.edge_update evaluates, leaky_relu(x_l[src] + x_r[dst]) . att with its (E, H, C) temporaries, in the same
run, on the W1 graph (8 bunnies, E = 1,668,608) plus one self loop per vertex, 4 heads of 64 channels (GATv2's
W10 setting). Results checked before timing; peak extra memory of fwd + bwd reported for both.
The ops: gatv2_edge_score and its backward kernel gatv2_edge_score_backward."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from meshgraph.ops import gatv2_edge_score
from meshgraph.ops.reference import gatv2_edge_score as ref_score

from _common import bench_args, bunny_batch, peak_extra_memory_mb, report, timeit


def main(argv=None):
    args = bench_args(argv, heads=(int, 4), channels=(int, 64))
    b = bunny_batch(1)[0:1] if args.quick else bunny_batch(8)
    H, C = (2, 8) if args.quick else (args.heads, args.channels)
    N = b.num_verts
    loops = torch.arange(N)
    ei = torch.cat([b.edge_index, torch.stack([loops, loops])], dim=1)
    E = ei.shape[1]
    print(f"V={N:,} E={E:,} (self loops included) heads={H} channels={C}")
    g = torch.Generator().manual_seed(0)
    x_l0, x_r0 = torch.randn(N, H, C, generator=g), torch.randn(N, H, C, generator=g)
    att0 = torch.randn(H, C, generator=g)
    grad = torch.randn(E, H, generator=g)
    expect = ref_score(x_l0, x_r0, None, att0, ei[0], ei[1], 0.2)
    torch.testing.assert_close(gatv2_edge_score(x_l0, x_r0, att0, ei), expect, rtol=1e-4, atol=1e-4)

    def leaves():
        return [t.detach().requires_grad_(True) for t in (x_l0, x_r0, att0)]

    def ours():
        x_l, x_r, att = leaves()
        gatv2_edge_score(x_l, x_r, att, ei).backward(grad)

    def unfused():
        x_l, x_r, att = leaves()
        (F.leaky_relu(x_l[ei[0]] + x_r[ei[1]], 0.2) * att).sum(-1).backward(grad)

    a, u = leaves(), leaves()
    gatv2_edge_score(a[0], a[1], a[2], ei).backward(grad)
    (F.leaky_relu(u[0][ei[0]] + u[1][ei[1]], 0.2) * u[2]).sum(-1).backward(grad)
    for s, t in zip(a, u):
        torch.testing.assert_close(s.grad, t.grad, rtol=1e-3, atol=1e-3)

    repeat = 2 if args.quick else 3
    rows = [("meshgraph gatv2_edge_score", timeit(ours, repeat=repeat, warmup=1)),
            ("torch unfused (E x H x C temporaries)", timeit(unfused, repeat=repeat, warmup=1))]
    report(f"GATv2 edge scores fwd+bwd, E={E:,} H={H} C={C}", rows, "meshgraph gatv2_edge_score")
    mem = [("meshgraph gatv2_edge_score", peak_extra_memory_mb(ours)), ("torch unfused", peak_extra_memory_mb(unfused))]
    print(f"\npeak extra memory fwd+bwd (MB): " + ", ".join(f"{n} {m:.1f}" for n, m in mem)
          + f"; one (E, H, C) float32 tensor is {E * H * C * 4 / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
