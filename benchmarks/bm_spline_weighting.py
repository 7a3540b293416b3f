"""spline_weighting forward + backward (ops spline_weighting and spline_weighting_backward) in its two uses:

- per edge (meshgraph.ops.spline_weighting, torch_spline_conv's spline_weighting: out[e] = sum_s basis[e, s] *
  (x[e] @ weight[weight_index[e, s]])), default 100,000 edges, 32 -> 64 channels, D = 3, kernel 5 (K = 125
  slices), degree 1 (S = 8);
- fused with the sum into the destinations (spline_aggregate over a 6-regular graph of E / 6 nodes), against the
  per-edge op followed by index_add_ (the E x out messages PyG's SplineConv forms);

each against torch_spline_conv (optional, never a dependency: MESHGRAPH_SPLINE_SITE, default /work/spline-site, or
installed) and, when it is absent, against the pure-torch reference alone. The reference materialises
weight[weight_index] (E x S x in x out), so it runs on a subset of the edges and its time is reported per the full
count. Outputs and the gradients w.r.t. x, weight and basis are checked before timing.

    python benchmarks/bm_spline_weighting.py [--quick] [--edges E] [--cin C] [--cout C] [--dim D] [--kernel K]
"""

from __future__ import annotations

import torch

from meshgraph.ops import spline_aggregate, spline_basis
from meshgraph.ops.reference import spline as ref
from meshgraph.ops.spline_weighting import spline_weighting

from _common import bench_args, report, timeit
from bm_spline_basis import torch_spline_conv


def per_edge_reference(x, weight, basis, index, chunk=2048):
    """The reference's per-edge weighting (one CSR row per edge), in chunks of edges to bound its E x S x in x out
    temporary."""
    outs = []
    for s in range(0, x.shape[0], chunk):
        n = min(chunk, x.shape[0] - s)
        ids = torch.arange(n)
        outs.append(ref.spline_weighting(x[s:s + n], weight, basis[s:s + n], index[s:s + n], torch.arange(n + 1),
                                         ids, "sum"))
    return torch.cat(outs)


def check_fwd_bwd(fn, peer, leaves, grad, name, tol):
    """fn and peer give the same output and the same gradients w.r.t. the leaves."""
    a = [t.detach().clone().requires_grad_(True) for t in leaves]
    b = [t.detach().clone().requires_grad_(True) for t in leaves]
    out_a, out_b = fn(*a), peer(*b)
    torch.testing.assert_close(out_a, out_b, rtol=tol, atol=tol, msg=f"output vs {name}")
    out_a.backward(grad)
    out_b.backward(grad)
    for ga, gb, leaf in zip(a, b, ("x", "weight", "basis")):
        torch.testing.assert_close(ga.grad, gb.grad, rtol=tol, atol=tol, msg=f"grad {leaf} vs {name}")


def main(argv=None):
    args = bench_args(argv, edges=(int, 100_000), cin=(int, 32), cout=(int, 64), dim=(int, 3), kernel=(int, 5))
    E, Cin, Cout, D, k = (1_200 if args.quick else args.edges), args.cin, args.cout, args.dim, args.kernel
    E_ref = min(E, 600 if args.quick else 10_000)
    tsc = torch_spline_conv()
    g = torch.Generator().manual_seed(0)
    kernel_size, is_open = torch.full((D,), k, dtype=torch.long), torch.ones(D, dtype=torch.uint8)
    basis, index = spline_basis(torch.rand(E, D, generator=g), kernel_size, is_open, 1)
    x = torch.randn(E, Cin, generator=g)
    weight = torch.randn(k**D, Cin, Cout, generator=g) / Cin**0.5
    grad = torch.randn(E, Cout, generator=g)
    print(f"E={E:,} channels {Cin}->{Cout} D={D} kernel={k} (K={k**D} slices, S={basis.shape[1]}), reference on "
          f"{E_ref:,} edges")
    repeat = 2 if args.quick else 3

    # per edge
    sub = (x[:E_ref], weight, basis[:E_ref])
    check_fwd_bwd(lambda a, w, b: spline_weighting(a, w, b, index[:E_ref]),
                  lambda a, w, b: per_edge_reference(a, w, b, index[:E_ref]), sub, grad[:E_ref],
                  "the reference", 1e-4)
    if tsc is not None:
        check_fwd_bwd(lambda a, w, b: spline_weighting(a, w, b, index), lambda a, w, b: tsc.spline_weighting(
            a, w, b, index), (x, weight, basis), grad, "torch_spline_conv", 1e-4)
    print("per edge: output and gradients equal to the reference" + (" and torch_spline_conv" if tsc else ""))

    def fwd_bwd(fn, leaves, grad):
        leaves = [t.detach().clone().requires_grad_(True) for t in leaves]
        fn(*leaves).backward(grad)

    rows = [("meshgraph spline_weighting fwd+bwd",
             timeit(lambda: fwd_bwd(lambda a, w, b: spline_weighting(a, w, b, index), (x, weight, basis), grad),
                    repeat=repeat, warmup=1))]
    if tsc is not None:
        rows.append(("torch_spline_conv spline_weighting fwd+bwd",
                     timeit(lambda: fwd_bwd(lambda a, w, b: tsc.spline_weighting(a, w, b, index), (x, weight, basis),
                                            grad), repeat=repeat, warmup=1)))
    ms = timeit(lambda: fwd_bwd(lambda a, w, b: per_edge_reference(a, w, b, index[:E_ref]), sub, grad[:E_ref]),
                repeat=1, warmup=0)
    rows.append((f"pure-torch reference fwd+bwd (x{E / E_ref:.0f} from {E_ref:,})", ms * E / E_ref))
    report(f"spline_weighting per edge, E={E:,} {Cin}->{Cout} S={basis.shape[1]}", rows,
           "meshgraph spline_weighting fwd+bwd")

    # fused with the sum into the destinations: a 6-regular graph on E / 6 nodes
    N = E // 6
    dst = torch.arange(N).repeat_interleave(6)
    src = (dst + torch.randint(1, N, (6 * N,), generator=g)) % N
    ei = torch.stack([src, dst])
    xs = torch.randn(N, Cin, generator=g)
    gn = torch.randn(N, Cout, generator=g)
    b6, i6 = basis[:6 * N], index[:6 * N]

    def fused(a, w, b):
        return spline_aggregate(a, ei, w, b, i6, "sum")

    def unfused(weighting):
        return lambda a, w, b: torch.zeros(N, Cout).index_add_(0, dst, weighting(a[src], w, b, i6))

    check_fwd_bwd(fused, unfused(spline_weighting), (xs, weight, b6), gn, "per edge + index_add_", 1e-4)
    if tsc is not None:
        check_fwd_bwd(fused, unfused(tsc.spline_weighting), (xs, weight, b6), gn, "torch_spline_conv + index_add_",
                      1e-4)
    rows = [("meshgraph spline_aggregate (fused) fwd+bwd", timeit(lambda: fwd_bwd(fused, (xs, weight, b6), gn),
                                                                 repeat=repeat, warmup=1)),
            ("meshgraph per edge + index_add_ fwd+bwd",
             timeit(lambda: fwd_bwd(unfused(spline_weighting), (xs, weight, b6), gn), repeat=repeat, warmup=1))]
    if tsc is not None:
        rows.append(("torch_spline_conv per edge + index_add_ fwd+bwd",
                     timeit(lambda: fwd_bwd(unfused(tsc.spline_weighting), (xs, weight, b6), gn), repeat=repeat,
                            warmup=1)))
    report(f"spline_weighting fused sum, V={N:,} E={6 * N:,} {Cin}->{Cout} S={basis.shape[1]}", rows,
           "meshgraph spline_aggregate (fused) fwd+bwd")


if __name__ == "__main__":
    main()
