"""SplineConv forward + backward (the spline_basis kernel, its backward spline_basis_backward, and the fused
spline_weighting + mean aggregation with its backward kernel spline_weighting_backward) on a mesh-sized graph
(default 100,000 nodes, 600,000 edges, D = 2 pseudo-coordinates, kernel 5 per dimension, degree 1, 32 -> 64
channels) against the unfused torch expression of the same math in the same run: x @ W for every weight slice
(V x K x out), gathered per edge and basis function, weighted, summed per edge (E x out messages) and scatter-mean'd,
as PyG's message / aggregate does; and, where installed (torch_spline_conv, not a dependency), torch_spline_conv's
own per-edge ops. Results and gradients are checked before timing; peak extra memory of fwd + bwd is reported.

    python benchmarks/bm_spline_conv.py [--quick] [--nodes N] [--edges E] [--dim D] [--kernel K] [--degree d]
"""

from __future__ import annotations

import torch

from meshgraph.ops import spline_aggregate, spline_basis
from meshgraph.ops.reference import spline_basis as ref_basis

from _common import bench_args, peak_extra_memory_mb, report, timeit


def unfused(x, weight, pseudo, ei, kernel_size, is_open, degree):
    """The same math with torch ops: the basis by the reference, then (V, K, out) products, (E, S, out) gathers and
    (E, out) messages, scatter-mean into the destinations."""
    basis, index = ref_basis(pseudo, kernel_size, is_open, degree)
    K, Cin, Cout = weight.shape
    xw = (x @ weight.permute(1, 0, 2).reshape(Cin, K * Cout)).view(-1, K, Cout)  # (V, K, out)
    msg = (xw[ei[0][:, None], index] * basis[..., None]).sum(1)  # (E, out)
    out = torch.zeros(x.shape[0], Cout, dtype=x.dtype).index_add_(0, ei[1], msg)
    deg = torch.zeros(x.shape[0], dtype=x.dtype).index_add_(0, ei[1], torch.ones_like(ei[1], dtype=x.dtype))
    return out / deg.clamp(min=1)[:, None]


def main(argv=None):
    args = bench_args(argv, nodes=(int, 100_000), edges=(int, 600_000), dim=(int, 2), kernel=(int, 5),
                      degree=(int, 1), cin=(int, 32), cout=(int, 64))
    N, E = (2_000, 12_000) if args.quick else (args.nodes, args.edges)
    D, k, deg, Cin, Cout = args.dim, args.kernel, args.degree, args.cin, args.cout
    g = torch.Generator().manual_seed(0)
    # A mesh-like graph: each node's neighbours among nearby ids (ring lattice with random offsets), degree ~E/N.
    dst = torch.arange(N).repeat_interleave(E // N)
    src = (dst + torch.randint(-8, 9, (dst.numel(),), generator=g)) % N
    ei = torch.stack([src, dst])
    E = ei.shape[1]
    kernel_size, is_open = torch.full((D,), k, dtype=torch.long), torch.ones(D, dtype=torch.uint8)
    x0 = torch.randn(N, Cin, generator=g)
    w0 = torch.randn(k**D, Cin, Cout, generator=g) / (Cin**0.5)
    p0 = torch.rand(E, D, generator=g)
    grad = torch.randn(N, Cout, generator=g)
    print(f"V={N:,} E={E:,} D={D} kernel={k} degree={deg} channels {Cin}->{Cout} (K={k**D} weight slices)")

    def leaves():
        return [t.detach().clone().requires_grad_(True) for t in (x0, w0, p0)]

    def ours_fwd(x, w, p):
        basis, index = spline_basis(p, kernel_size, is_open, deg)
        return spline_aggregate(x, ei, w, basis, index, "mean")

    a, u = leaves(), leaves()
    out_a, out_u = ours_fwd(*a), unfused(*u, ei, kernel_size, is_open, deg)
    torch.testing.assert_close(out_a, out_u, rtol=1e-4, atol=1e-4)
    out_a.backward(grad)
    out_u.backward(grad)
    for s, t in zip(a, u):
        torch.testing.assert_close(s.grad, t.grad, rtol=1e-3, atol=1e-3)

    def ours():
        ours_fwd(*leaves()).backward(grad)

    def torch_unfused():
        unfused(*leaves(), ei, kernel_size, is_open, deg).backward(grad)

    rows = [("meshgraph spline_basis + spline_weighting", ours), ("torch unfused (V x K x out, E x out)", torch_unfused)]
    try:  # optional peer, never a dependency
        import torch_spline_conv as tsc

        def peer():
            x, w, p = leaves()
            tsc_out = torch.zeros(N, Cout).index_add_(0, ei[1], tsc.spline_weighting(
                x[ei[0]], w, *tsc.spline_basis(p, kernel_size, is_open, deg)))
            (tsc_out / torch.bincount(ei[1], minlength=N).clamp(min=1)[:, None]).backward(grad)

        x, w, p = leaves()
        b, i = tsc.spline_basis(p, kernel_size, is_open, deg)
        peer_out = torch.zeros(N, Cout).index_add_(0, ei[1], tsc.spline_weighting(x[ei[0]], w, b, i))
        peer_out = peer_out / torch.bincount(ei[1], minlength=N).clamp(min=1)[:, None]
        torch.testing.assert_close(out_a.detach(), peer_out.detach(), rtol=1e-4, atol=1e-4)
        rows.append(("torch_spline_conv (per edge) + scatter mean", peer))
    except ImportError:
        print("torch_spline_conv not installed: its row is skipped")
    repeat = 2 if args.quick else 3
    timed = [(name, timeit(fn, repeat=repeat, warmup=1)) for name, fn in rows]
    report(f"SplineConv propagate fwd+bwd, V={N:,} E={E:,} D={D} kernel={k} {Cin}->{Cout}", timed,
           "meshgraph spline_basis + spline_weighting")
    mem = [(name, peak_extra_memory_mb(fn)) for name, fn in rows]
    print("\npeak extra memory fwd+bwd (MB): " + ", ".join(f"{n} {m:.1f}" for n, m in mem)
          + f"; one (E, out) float32 tensor is {E * Cout * 4 / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
