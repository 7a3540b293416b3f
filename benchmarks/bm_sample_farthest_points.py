"""W3: exact farthest point sampling (op sample_farthest_points_idx), 4 x 8192 -> 512, vs fpsample's exact FPS and
its bucket FPS (approximate: different indices), same run. Our indices are checked against the reference
(PyTorch3D's loop) first. PyTorch3D (not installable here) was measured at 121 ms on this machine class."""

from __future__ import annotations

import argparse

import torch

from meshgraph.ops import sample_farthest_points
from meshgraph.ops.reference import sample_farthest_points_idx as ref

from _common import environment, report, timeit


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(environment())
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


if __name__ == "__main__":
    main()
