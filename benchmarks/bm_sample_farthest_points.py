"""W3 / W9: exact farthest point sampling (op sample_farthest_points_idx), 4 x 8192 -> 512, vs fpsample's exact FPS and
its bucket FPS (approximate: different indices), same run. Our indices are checked against the reference
(PyTorch3D's loop) first. PyTorch3D (not installable here) was measured at 121 ms on this machine class."""

from __future__ import annotations

import torch

from meshgraph.ops import sample_farthest_points
from meshgraph.ops.reference import sample_farthest_points_idx as ref

from _common import bench_args, report, timeit


def main(argv=None):
    args = bench_args(argv)
    n, k = (600, 32) if args.quick else (8192, 512)
    pts = torch.rand(4, n, 3, generator=torch.Generator().manual_seed(0))
    _, idx = sample_farthest_points(pts, K=k)
    check = 1 if not args.quick else 4
    full = torch.full((check,), n)
    assert torch.equal(idx[:check], ref(pts[:check], full, torch.full((check,), k), torch.zeros(check, dtype=torch.long), k))
    rows = [("meshgraph sample_farthest_points", timeit(lambda: sample_farthest_points(pts, K=k), repeat=5))]
    try:
        import fpsample

        arrays = [x.numpy() for x in pts]
        exact = [fpsample.fps_sampling(a, k, start_idx=0) for a in arrays]
        assert all(sorted(e.tolist()) == sorted(i.tolist()) for e, i in zip(exact, idx)), "fpsample exact FPS disagrees"
        rows.append(("fpsample fps_sampling (exact)", timeit(lambda: [fpsample.fps_sampling(a, k, start_idx=0) for a in arrays], repeat=5)))
        rows.append(("fpsample bucket FPS (approximate)", timeit(lambda: [fpsample.bucket_fps_kdline_sampling(a, k, h=7) for a in arrays], repeat=5)))
    except ImportError:
        pass
    report(f"W3 FPS 4 x {n} -> {k}", rows, "meshgraph sample_farthest_points")

    # W9: one large cloud, 50,000 -> 4,096 (PyTorch3D 1471 ms, fpsample exact 729 ms, bucket 29 ms in issue #5)
    n9, k9 = (3000, 64) if args.quick else (50_000, 4096)
    big = torch.rand(1, n9, 3, generator=torch.Generator().manual_seed(1))
    _, idx9 = sample_farthest_points(big, K=k9)
    if args.quick:
        assert torch.equal(idx9, ref(big, torch.tensor([n9]), torch.tensor([k9]), torch.zeros(1, dtype=torch.long), k9))
    rows = [("meshgraph sample_farthest_points", timeit(lambda: sample_farthest_points(big, K=k9), repeat=5))]
    try:
        import fpsample

        a = big[0].numpy()
        assert sorted(fpsample.fps_sampling(a, k9, start_idx=0).tolist()) == sorted(idx9[0].tolist())
        rows.append(("fpsample fps_sampling (exact)", timeit(lambda: fpsample.fps_sampling(a, k9, start_idx=0), repeat=3)))
        rows.append(("fpsample bucket FPS (approximate)", timeit(lambda: fpsample.bucket_fps_kdline_sampling(a, k9, h=9), repeat=3)))
    except ImportError:
        pass
    report(f"W9 FPS 1 x {n9} -> {k9}", rows, "meshgraph sample_farthest_points")


if __name__ == "__main__":
    main()
