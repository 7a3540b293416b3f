"""add_points_to_volumes (the op behind add_pointclouds_to_volumes), fwd and fwd+bwd (add_points_to_volumes_backward), trilinear and nearest:
4 clouds x 10^5 points with 8 features into 64^3 volumes, vs PyTorch3D's Python splatting algorithm (one
scatter_add per voxel corner, torch autograd: meshgraph's reference, which computes exactly that) in the same run.
PyTorch3D's own C++ kernel is a serial loop (no threads) and float32 only. Checked against the reference first."""

from __future__ import annotations

import torch

from meshgraph.ops import reference as ref
from meshgraph.ops.add_points_to_volumes import add_points_to_volumes

from _common import bench_args, report, timeit


def main(argv=None):
    args = bench_args(argv)
    N, P, C, S = (2, 2000, 4, 16) if args.quick else (4, 100_000, 8, 64)
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(N, P, 3, generator=g) * 2 - 1
    feats = torch.rand(N, P, C, generator=g)
    dens, vfeat = torch.zeros(N, 1, S, S, S), torch.zeros(N, C, S, S, S)
    sizes = torch.tensor([[S, S, S]] * N)
    mask = torch.ones(N, P)
    for mode in ("trilinear", "nearest"):
        ours = add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.0, True, mode)
        theirs = ref.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.0, True, mode)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)

        def fwd(fn):
            return lambda: fn(pts, feats, dens, vfeat, sizes, mask, 1.0, True, mode)

        def fwd_bwd(fn):
            def run():
                p = pts.clone().requires_grad_(mode == "trilinear")
                f = feats.clone().requires_grad_(True)
                d, v = fn(p, f, dens, vfeat, sizes, mask, 1.0, True, mode)
                (d.sum() + v.square().sum()).backward()
            return run

        for what, wrap in (("fwd", fwd), ("fwd+bwd", fwd_bwd)):
            rows = [("meshgraph add_points_to_volumes", timeit(wrap(add_points_to_volumes), repeat=5)),
                    ("PyTorch3D python splat (scatter_add)", timeit(wrap(ref.add_points_to_volumes), repeat=3))]
            report(f"points_to_volumes {mode} {what}: {N} x {P} points, C={C}, {S}^3", rows,
                   "meshgraph add_points_to_volumes")


if __name__ == "__main__":
    main()
