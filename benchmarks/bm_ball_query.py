"""W4: ball query (op ball_query_idx), 4 x 8192, K=16, r=0.05, uniform and bunny-surface points (scaled to the
unit cube), vs a brute-force torch version (cdist + mask + first-K by index) in the same run. Results checked
against the reference first. PyTorch3D (not installable here) was measured at 831 ms on this machine class."""

from __future__ import annotations

import torch

from meshgraph.ops import ball_query
from meshgraph.ops.reference import ball_query_idx as ref

from _common import bench_args, report, timeit
from bm_knn import surface_points


def brute(p, K, r):
    d = torch.cdist(p, p)
    inside = d <= r
    order = torch.where(inside, torch.arange(p.shape[1])[None, None, :], p.shape[1])
    first = order.topk(K, largest=False).values
    return torch.where(first < p.shape[1], first, -1)


def main(argv=None):
    args = bench_args(argv)
    n = 500 if args.quick else 8192
    surf = surface_points(n, 4)
    surf = (surf - surf.amin(1, keepdim=True)) / (surf.amax(1, keepdim=True) - surf.amin(1, keepdim=True)).amax(2, keepdim=True)
    for title, pts in (("uniform", torch.rand(4, n, 3, generator=torch.Generator().manual_seed(0))), ("bunny surface", surf)):
        out = ball_query(pts, pts, K=16, radius=0.05)
        full = torch.full((4,), n)
        assert torch.equal(out.idx[:1], ref(pts[:1], pts[:1], full[:1], full[:1], 16, 0.05))
        # the peer computes the same definition through cdist (sqrt rounding may flip points exactly on the sphere)
        agree = (out.idx == brute(pts, 16, 0.05)).float().mean().item()
        assert agree > 0.999, agree
        rows = [
            ("meshgraph ball_query", timeit(lambda: ball_query(pts, pts, K=16, radius=0.05), repeat=5)),
            ("torch cdist + first-K mask", timeit(lambda: brute(pts, 16, 0.05), repeat=3)),
        ]
        report(f"W4 ball query {title}: 4 x {n}, K=16, r=0.05", rows, "meshgraph ball_query")


if __name__ == "__main__":
    main()
