"""composite_points (+ composite_points_backward) alone, fwd+bwd, on the fragments of W5 (the bunny's 35,947
vertices, r 0.01, K 8, 256^2 and 512^2) with C = 32 and C = 64 features, all three modes, vs the readable torch
compositor (gather (N, H, W, K, C), cumprod weights, sum; torch autograd) in the same run. Checked against it first."""

from __future__ import annotations

import torch

from meshgraph.ops.composite_points import MODES, composite_points
from meshgraph.ops.reference.render import composite_points as torch_composite
from meshgraph.render import rasterize_points

from _common import bench_args, report, timeit
from bm_rasterize_points import bunny_points, camera


def main(argv=None):
    args = bench_args(argv)
    pts = bunny_points()
    if args.quick:
        pts = pts[::20]
    raster = camera().transform_points_raster(pts[None])[0]
    g = torch.Generator().manual_seed(0)
    for size in ([64] if args.quick else [256, 512]):
        idx, _, dists = rasterize_points([raster], size, radius=0.01, points_per_pixel=8)
        alphas = torch.where(idx >= 0, 1 - dists / 1e-4, 0)
        for C in ([8] if args.quick else [32, 64]):
            feats = torch.randn(pts.shape[0], C, generator=g)
            for mode in sorted(MODES):
                torch.testing.assert_close(composite_points(feats, alphas, idx, mode),
                                           torch_composite(feats, alphas, idx, MODES[mode]), rtol=1e-4, atol=1e-5)

                def step(fn):
                    def run():
                        f, a = feats.clone().requires_grad_(True), alphas.clone().requires_grad_(True)
                        fn(f, a).square().sum().backward()
                    return run

                rows = [
                    ("meshgraph composite_points", timeit(step(lambda f, a: composite_points(f, a, idx, mode)), repeat=5)),
                    ("torch compositor (gather + cumprod)",
                     timeit(step(lambda f, a: torch_composite(f, a, idx, MODES[mode])), repeat=3)),
                ]
                report(f"composite {mode} fwd+bwd: {size}x{size}, K=8, C={C}", rows, "meshgraph composite_points")


if __name__ == "__main__":
    main()
