"""sample_pdf (hierarchical sampling kernel) vs PyTorch3D's sample_pdf (its C++ CPU op; v0.7.9 built from source:
benchmarks/_common.py real_pytorch3d) and its sample_pdf_python (NeRF's searchsorted formulation) in the same run:
64^2 rays, 64 bins, 128 samples per ray, float32 (NeRF's fine pass), det=True (so all see the same quantiles) and
random quantiles. Results checked before timing. Without PyTorch3D only the Python formulation is timed, as
meshgraph.render.implicit.sample_pdf_python writes it out.
--device cuda: ours on the GPU, checked against our CPU kernel (bit-identical by construction)."""

from __future__ import annotations

import torch

from meshgraph.ops.reference.implicit import sample_pdf as reference_sample_pdf
from meshgraph.ops.sample_pdf import sample_pdf
from meshgraph.render.implicit import sample_pdf_python

from _common import bench_args, real_pytorch3d, report, timeit


def main(argv=None):
    args = bench_args(argv, rays=(int, 64 * 64), bins=(int, 64), samples=(int, 128))
    R, n, S = (64, 8, 16) if args.quick else (args.rays, args.bins, args.samples)
    g = torch.Generator().manual_seed(0)
    w = torch.rand(R, n, generator=g)
    bins = torch.cumsum(torch.rand(R, n + 1, generator=g), -1)
    # The kernel follows PyTorch3D's C++ sample_pdf (unnormalized partial sums, one eps on the total), not the Python
    # formula (eps on every weight, normalized CDF). Checked against the C++ algorithm's torch reference with
    # PyTorch3D's test tolerance (atol 2e-3: float32 partial sums, where torch's cumsum adds in double), and against
    # the Python formula with that atol plus rtol 5e-4 (PyTorch3D's test runs a few rays; over 4096 rays, samples in
    # near-empty bins move by up to ~4e-3 between the two formulas, for PyTorch3D's C++ op as for ours).
    u = torch.linspace(0, 1, S).expand(R, S).contiguous()
    torch.testing.assert_close(sample_pdf(bins, w, S, uniforms=u), reference_sample_pdf(bins, w, u, 1e-5), atol=2e-3,
                               rtol=0)
    torch.testing.assert_close(sample_pdf(bins, w, S, det=True), sample_pdf_python(bins, w, S, det=True), atol=2e-3,
                               rtol=5e-4)
    peers = [("PyTorch3D sample_pdf_python", sample_pdf_python)]
    p3d = real_pytorch3d(needs=("sample_pdf",))
    if p3d is not None:
        from pytorch3d.renderer.implicit.sample_pdf import sample_pdf as p3d_sample_pdf
        from pytorch3d.renderer.implicit.sample_pdf import sample_pdf_python as p3d_sample_pdf_python

        # the same kernel semantics as PyTorch3D's C++ op (to float rounding), the Python one to its own formula
        torch.testing.assert_close(sample_pdf(bins, w, S, det=True), p3d_sample_pdf(bins, w, S, det=True), atol=1e-5,
                                   rtol=1e-5)
        torch.testing.assert_close(sample_pdf_python(bins, w, S, det=True), p3d_sample_pdf_python(bins, w, S, det=True))
        peers = [("PyTorch3D sample_pdf (C++ CPU)", p3d_sample_pdf),
                 ("PyTorch3D sample_pdf_python", p3d_sample_pdf_python)]
    if args.device != "cpu":
        on = sample_pdf(bins.to(args.device), w.to(args.device), S, det=True)
        assert torch.equal(on, sample_pdf(bins, w, S, det=True).to(args.device)), "device result differs from CPU"
        bins, w = bins.to(args.device), w.to(args.device)
    reps = 2 if args.quick else 7
    for det in (True, False):
        rows = [("meshgraph sample_pdf", timeit(lambda: sample_pdf(bins, w, S, det=det), repeat=reps))]
        for name, fn in peers:
            if args.device == "cpu" or "C++" not in name:  # PyTorch3D built here without CUDA
                rows.append((name, timeit(lambda: fn(bins, w, S, det=det), repeat=reps)))
        report(f"sample_pdf {R} rays x {n} bins -> {S} samples, det={det}, on {args.device}", rows,
               "meshgraph sample_pdf")


if __name__ == "__main__":
    main()
