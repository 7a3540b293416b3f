"""spline_basis forward + backward (ops spline_basis and spline_basis_backward): the B-spline basis of E edge
pseudo-coordinates (default 500,000 edges, D = 3 dimensions, kernel size 5, open splines) for degrees 1, 2 and 3
(S = 8, 27 and 64 basis products per edge) against, in the same run,

- torch_spline_conv's spline_basis (the C++ op behind PyG's SplineConv; optional, never a dependency: found under
  MESHGRAPH_SPLINE_SITE, default /work/spline-site, or installed), and
- meshgraph's pure-torch reference (meshgraph.ops.reference.spline: the specification), which is also what the
  table compares with when torch_spline_conv is absent.

The basis, the weight indices and the gradient w.r.t. the pseudo-coordinates are checked against both before
timing.

    python benchmarks/bm_spline_basis.py [--quick] [--edges E] [--dim D] [--kernel K]
"""

from __future__ import annotations

import os
import sys

import torch

from meshgraph.ops import spline_basis
from meshgraph.ops.reference import spline as ref

from _common import bench_args, report, timeit

SPLINE_SITE = "/work/spline-site"


def torch_spline_conv():
    """torch_spline_conv (built for this torch, installed or under MESHGRAPH_SPLINE_SITE), or None with a line
    saying that its rows are skipped."""
    site = os.environ.get("MESHGRAPH_SPLINE_SITE", SPLINE_SITE)
    if os.path.isdir(site) and site not in sys.path:
        sys.path.append(site)
    try:
        import torch_spline_conv as tsc

        tsc.spline_basis  # noqa: B018  (a build without its ops fails here, not in the timed rows)
    except Exception as e:  # absent, or built for another torch
        print(f"torch_spline_conv not importable ({type(e).__name__}: {e}): its rows are skipped; the pure-torch "
              "reference is the comparison")
        return None
    print(f"torch_spline_conv {getattr(tsc, '__version__', '?')} from {os.path.dirname(tsc.__file__)}")
    return tsc


def main(argv=None):
    args = bench_args(argv, edges=(int, 500_000), dim=(int, 3), kernel=(int, 5))
    E, D, k = (2_000 if args.quick else args.edges), args.dim, args.kernel
    tsc = torch_spline_conv()
    g = torch.Generator().manual_seed(0)
    pseudo = torch.rand(E, D, generator=g)
    kernel_size = torch.full((D,), k, dtype=torch.long)
    is_open = torch.ones(D, dtype=torch.uint8)
    for degree in (1, 2, 3):
        S = (degree + 1) ** D
        grad = torch.randn(E, S, generator=g)

        def fwd_bwd(fn):
            p = pseudo.clone().requires_grad_(True)
            basis, index = fn(p, kernel_size, is_open, degree)
            basis.backward(grad)
            return basis.detach(), index, p.grad

        ours = fwd_bwd(spline_basis)
        peers = [("pure-torch reference (autograd)", ref.spline_basis, fwd_bwd(ref.spline_basis))]
        if tsc is not None:
            peers.append(("torch_spline_conv spline_basis", tsc.spline_basis, fwd_bwd(tsc.spline_basis)))
        for name, _, (basis, index, gp) in peers:
            torch.testing.assert_close(ours[0], basis, rtol=1e-5, atol=1e-6, msg=f"basis vs {name}")
            assert torch.equal(ours[1], index), f"weight_index differs from {name}"
            torch.testing.assert_close(ours[2], gp, rtol=1e-4, atol=1e-5, msg=f"grad pseudo vs {name}")
        print(f"degree {degree}: basis, weight_index and grad pseudo equal to " + " and ".join(n for n, *_ in peers))

        repeat = 2 if args.quick else 5
        rows = [("meshgraph spline_basis fwd", timeit(lambda: spline_basis(pseudo, kernel_size, is_open, degree),
                                                      repeat=repeat, warmup=1)),
                ("meshgraph spline_basis fwd+bwd", timeit(lambda: fwd_bwd(spline_basis), repeat=repeat, warmup=1))]
        for name, fn, _ in peers:
            rows.append((f"{name} fwd", timeit(lambda: fn(pseudo, kernel_size, is_open, degree), repeat=repeat,
                                               warmup=1)))
            rows.append((f"{name} fwd+bwd", timeit(lambda: fwd_bwd(fn), repeat=repeat, warmup=1)))
        report(f"spline_basis E={E:,} D={D} kernel={k} degree={degree} (S={S})", rows, "meshgraph spline_basis fwd+bwd")


if __name__ == "__main__":
    main()
