"""symeig3x3 (ops symeig3x3, symeig3x3_backward) vs torch.linalg.eigh, same run, results checked first.

W1: 10^6 random symmetric 3x3 matrices (float32 and float64), eigenvalues + eigenvectors; forward, and forward +
    backward of a sign-invariant loss.
W2: estimate_pointcloud_normals on 10^5 points (uniform on a sphere), K=30: use_symeig_workaround=True (this
    kernel) vs False (torch.linalg.eigh), the same knn and covariances.
Peers: torch.linalg.eigh (LAPACK syevd per matrix on CPU). PyTorch3D's Python symeig3x3 and Open3D are not
installable here.
--device cuda: W1 on the GPU, checked against our CPU kernels (bit-identical by construction).
"""

from __future__ import annotations

import torch

from meshgraph.ops.points_normals import estimate_pointcloud_normals
from meshgraph.ops.symeig3x3 import symeig3x3

from _common import bench_args, report, timeit


def matrices(n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 3, 3, generator=g, dtype=dtype)
    return a + a.transpose(1, 2)


def check(a):
    w, v = symeig3x3(a)
    we, ve = torch.linalg.eigh(a.double())
    scale = a.double().flatten(1).abs().amax(1, keepdim=True)
    tol = 1e-6 if a.dtype == torch.float32 else 1e-12
    assert ((w.double() - we).abs() / scale).max() <= tol, "eigenvalues differ from eigh"
    recon = v.double() @ torch.diag_embed(w.double()) @ v.double().transpose(1, 2)
    assert ((recon - a.double()).abs() / scale[..., None]).max() <= 4 * tol, "eigenvectors do not reconstruct"


def fwd_bwd(fn, a):
    x = a.detach().requires_grad_(True)

    def run():
        w, v = fn(x)
        (w.sum() + v.square().mul(x).sum()).backward()
        x.grad = None

    return run


def workload_matrices(n, dtype, quick, device="cpu"):
    a = matrices(n, dtype)
    check(a)
    reps = 2 if quick else 5
    if device != "cpu":
        on = a.to(device)
        w, v = symeig3x3(on)
        we, ve = symeig3x3(a)
        assert torch.equal(w, we.to(device)) and torch.equal(v, ve.to(device)), "device result differs from CPU"
        a = on
    rows = [
        ("meshgraph symeig3x3", timeit(lambda: symeig3x3(a), repeat=reps)),
        ("torch.linalg.eigh", timeit(lambda: torch.linalg.eigh(a), repeat=reps)),
    ]
    report(f"W1 fwd: {n} x (3, 3) {str(dtype)[6:]} on {device}", rows, "meshgraph symeig3x3")
    rows = [
        ("meshgraph symeig3x3", timeit(fwd_bwd(symeig3x3, a), repeat=reps)),
        ("torch.linalg.eigh", timeit(fwd_bwd(torch.linalg.eigh, a), repeat=reps)),
    ]
    report(f"W1 fwd+bwd: {n} x (3, 3) {str(dtype)[6:]} on {device}", rows, "meshgraph symeig3x3")


def workload_normals(n, K, quick):
    g = torch.Generator().manual_seed(1)
    pts = torch.nn.functional.normalize(torch.randn(1, n, 3, generator=g), dim=2)
    ours = estimate_pointcloud_normals(pts, K, use_symeig_workaround=True)
    theirs = estimate_pointcloud_normals(pts, K, use_symeig_workaround=False)
    assert (ours * pts).sum(2).abs().min() > 0.99 and (theirs * pts).sum(2).abs().min() > 0.99
    reps = 2 if quick else 3
    rows = [
        ("normals, symeig3x3 kernel", timeit(lambda: estimate_pointcloud_normals(pts, K), repeat=reps)),
        ("normals, torch.linalg.eigh", timeit(
            lambda: estimate_pointcloud_normals(pts, K, use_symeig_workaround=False), repeat=reps)),
    ]
    report(f"W2: estimate_pointcloud_normals, {n} points, K={K}", rows, "normals, symeig3x3 kernel")


def main(argv=None):
    args = bench_args(argv)
    n = 2000 if args.quick else 1_000_000
    if args.device != "cpu":
        workload_matrices(n, torch.float32, args.quick, args.device)
        return
    for dtype in (torch.float32, torch.float64):
        workload_matrices(n, dtype, args.quick)
    workload_normals(2000 if args.quick else 100_000, 30, args.quick)


if __name__ == "__main__":
    main()
