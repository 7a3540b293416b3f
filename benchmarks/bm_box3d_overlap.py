"""box3d_overlap (op box3d_overlap) vs the pure-PyTorch reference, same run, results checked first.

W1: N x M random oriented boxes (sizes 0.5-2.5, centres N(0, 1), random rotations; about half the pairs overlap),
    float32: the fused kernel (CPU parallel over pairs) and the half-space reference (vertex enumeration, one pair
    at a time) on a small block for the ratio.
Peers: PyTorch3D's C++ iou_box3d is not installable here (no build of PyTorch3D on this machine); the reference is
the in-run baseline.
--device cuda: W1 on the GPU, checked bitwise against our CPU kernel (the same C10_HOST_DEVICE code).
"""

from __future__ import annotations

import torch

from meshgraph.ops.box3d_overlap import box3d_overlap
from meshgraph.ops.reference.box3d import box3d_overlap as reference

from _common import bench_args, report, timeit

UNIT = torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
                    dtype=torch.float64)


def boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    q[:, :, 2] *= torch.det(q)[:, None]
    size = torch.rand(n, 1, 3, generator=g, dtype=torch.float64) * 2 + 0.5
    return (((UNIT - 0.5)[None] * size) @ q + torch.randn(n, 1, 3, generator=g, dtype=torch.float64)).float()


def main(argv=None):
    args = bench_args(argv)
    N, M = (32, 32) if args.quick else (1000, 1000)
    b1, b2 = boxes(N, 0), boxes(M, 1)
    small1, small2 = b1[:8], b2[:8]
    vol, iou = box3d_overlap(small1, small2)
    rvol, riou = reference(small1, small2)
    assert torch.allclose(vol, rvol, atol=2e-5, rtol=1e-4) and torch.allclose(iou, riou, atol=2e-5, rtol=1e-4), \
        "kernel differs from the reference"
    reps = 2 if args.quick else 5
    if args.device != "cpu":
        d1, d2 = b1.to(args.device), b2.to(args.device)
        cvol, ciou = box3d_overlap(b1, b2)
        gvol, giou = box3d_overlap(d1, d2)
        assert torch.equal(gvol, cvol.to(gvol.device)) and torch.equal(giou, ciou.to(giou.device)), "device differs"
        rows = [("meshgraph box3d_overlap", timeit(lambda: box3d_overlap(d1, d2), repeat=reps, sync=True))]
        report(f"W1: {N} x {M} boxes on {args.device}", rows, "meshgraph box3d_overlap")
        return
    per_pair_ref = timeit(lambda: reference(small1[:2], small2[:2]), repeat=1, warmup=0) / 4
    rows = [
        ("meshgraph box3d_overlap", timeit(lambda: box3d_overlap(b1, b2), repeat=reps)),
        ("reference (extrapolated from 4 pairs)", per_pair_ref * N * M),
    ]
    report(f"W1: {N} x {M} boxes, float32", rows, "meshgraph box3d_overlap")


if __name__ == "__main__":
    main()
