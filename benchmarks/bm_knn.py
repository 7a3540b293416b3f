"""knn_points (op knn_points_idx) vs the peers a user could pick, same run, results checked first.

W2: 4 clouds x 8192 points, self-query, K=16, D=3 -- uniform in the unit cube and sampled from the bunny surface.
W8: one cloud of 100,000 points, self-query, K=8 -- uniform and on the bunny surface.
W2b: 4 x 4096, K=16, D=64 (the blocked distance-GEMM path), self query and against another cloud.
Peers: pykdtree (build + query), scipy cKDTree (build + query, workers=threads), torch.cdist + topk.
PyTorch3D (not installable here) was measured on this machine class at 2307 ms (W2), 65.7 s (W8), 2457 ms (W2b).
--device cuda: W8 only, ours on the GPU checked against our CPU kernels (tools/gpu_check.sh).
"""

from __future__ import annotations

import numpy as np
import torch

from meshgraph.ops import knn_points

from _common import bench_args, bunny_batch, report, timeit


def surface_points(n: int, clouds: int, seed: int = 0) -> torch.Tensor:
    """Points on the bunny surface (area-weighted triangle samples): realistic, non-uniform density."""
    b = bunny_batch(1)[0:1]
    g = torch.Generator().manual_seed(seed)
    fv = b.pos_packed()[b.faces_packed()]
    area = torch.linalg.cross(fv[:, 1] - fv[:, 0], fv[:, 2] - fv[:, 0], dim=1).norm(dim=1)
    out = []
    for _ in range(clouds):
        f = torch.multinomial(area, n, replacement=True, generator=g)
        u, v = torch.rand(n, 1, generator=g), torch.rand(n, 1, generator=g)
        su = u.sqrt()
        out.append(fv[f, 0] * (1 - su) + fv[f, 1] * su * (1 - v) + fv[f, 2] * su * v)
    return torch.stack(out)


def workload(title, pts, K, threads, quick):
    import pykdtree.kdtree
    import scipy.spatial

    N = pts.shape[0]
    pn = [p.numpy() for p in pts]
    ours = knn_points(pts, pts, K=K)
    # correctness first: distances against scipy (ties may order indices differently: compare distances)
    for n in range(N):
        d, _ = scipy.spatial.cKDTree(pn[n]).query(pn[n], k=K, workers=threads)
        d = d.reshape(pn[n].shape[0], -1)
        np.testing.assert_allclose(ours.dists[n].numpy(), d**2, rtol=1e-4, atol=1e-6)
    reps = 2 if quick else 5
    rows = [("meshgraph knn_points", timeit(lambda: knn_points(pts, pts, K=K), repeat=reps))]

    def pykd():
        for p in pn:
            pykdtree.kdtree.KDTree(p).query(p, k=K)

    def ckd():
        for p in pn:
            scipy.spatial.cKDTree(p).query(p, k=K, workers=threads)

    rows.append(("pykdtree (build + query)", timeit(pykd, repeat=reps)))
    rows.append(("scipy cKDTree (build + query)", timeit(ckd, repeat=reps)))
    if pts.shape[1] <= 8192:
        rows.append(("torch.cdist + topk", timeit(lambda: torch.cdist(pts, pts).topk(K, largest=False), repeat=reps)))
    report(title, rows, "meshgraph knn_points")


def device_workload(title, pts, K, device, quick):
    """Ours on `device`, checked against our CPU kernels first (distances; ties may order indices differently)."""
    on = pts.to(device)
    expect = knn_points(pts, pts, K=K)
    torch.testing.assert_close(knn_points(on, on, K=K).dists.cpu(), expect.dists, rtol=1e-5, atol=1e-6)
    rows = [("meshgraph knn_points", timeit(lambda: knn_points(on, on, K=K), repeat=3 if quick else 10))]
    report(f"{title} on {device}", rows, "meshgraph knn_points")


def main(argv=None):
    args = bench_args(argv)
    g = torch.Generator().manual_seed(0)
    if args.device != "cpu":  # GPU run (tools/gpu_check.sh): W8, 100k points, K=8
        big = 2000 if args.quick else 100_000
        device_workload(f"W8 uniform: 1 x {big}, K=8, D=3", torch.rand(1, big, 3, generator=g), 8, args.device, args.quick)
        device_workload(f"W8 bunny surface: 1 x {big}, K=8, D=3", surface_points(big, 1, seed=1), 8, args.device,
                        args.quick)
        return
    n = 500 if args.quick else 8192
    workload(f"W2 uniform: 4 x {n}, K=16, D=3", torch.rand(4, n, 3, generator=g), 16, args.threads, args.quick)
    workload(f"W2 bunny surface: 4 x {n}, K=16, D=3", surface_points(n, 4), 16, args.threads, args.quick)
    big = 2000 if args.quick else 100_000
    workload(f"W8 uniform: 1 x {big}, K=8, D=3", torch.rand(1, big, 3, generator=g), 8, args.threads, args.quick)
    workload(f"W8 bunny surface: 1 x {big}, K=8, D=3", surface_points(big, 1, seed=1), 8, args.threads, args.quick)
    n = 300 if args.quick else 4096
    hd = torch.rand(4, n, 64, generator=g)
    other = torch.rand(4, n, 64, generator=g)
    reps = 2 if args.quick else 3
    # self query (one tensor: symmetric GEMM blocks) and a query cloud against another one
    for title, a, b in ((f"W2b: 4 x {n}, K=16, D=64", hd, hd), (f"W2b cross: 4 x {n} vs 4 x {n}, K=16, D=64", hd, other)):
        ours = knn_points(a, b, K=16)
        ref = torch.cdist(a, b).topk(16, largest=False)
        torch.testing.assert_close(ours.dists, ref.values**2, rtol=1e-3, atol=1e-3)
        rows = [
            ("meshgraph knn_points", timeit(lambda: knn_points(a, b, K=16), repeat=reps)),
            ("torch.cdist + topk", timeit(lambda: torch.cdist(a, b).topk(16, largest=False), repeat=reps)),
        ]
        report(title, rows, "meshgraph knn_points")


if __name__ == "__main__":
    main()
