"""The CPU output pool (csrc/common/cpu_pool.cpp) measured where users run: W1, W2, W5 and W6 fwd+bwd with the
pool on (MESHGRAPH_CPU_POOL_MB=1024), off (0: every output is a plain at::empty) and each of those with
THP_MEM_ALLOC_ENABLE=1 (PyTorch's own huge-page allocator setting).

Every setting runs in its own child process (the pool limit is read once per process); the settings are interleaved
round by round, so a machine whose memory bandwidth drifts during the run affects them alike, and each row is the
best round. Each child also reports its peak RSS: memory the pool keeps is memory the process holds.

    python benchmarks/bm_cpu_pool.py [--rounds 2] [--quick]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
SETTINGS = [  # (label, env)
    ("torch.empty (pool off)", {"MESHGRAPH_CPU_POOL_MB": "0", "THP_MEM_ALLOC_ENABLE": "0"}),
    ("pool on (1024 MB)", {"MESHGRAPH_CPU_POOL_MB": "1024", "THP_MEM_ALLOC_ENABLE": "0"}),
    ("torch.empty + THP=1", {"MESHGRAPH_CPU_POOL_MB": "0", "THP_MEM_ALLOC_ENABLE": "1"}),
    ("pool on + THP=1", {"MESHGRAPH_CPU_POOL_MB": "1024", "THP_MEM_ALLOC_ENABLE": "1"}),
]


def workloads(quick: bool):
    """name -> zero-argument fwd+bwd step, each checked against its reference once before it is returned."""
    sys.path.insert(0, str(HERE))
    from _common import bunny_batch
    from bm_rasterize_meshes import bunny
    from bm_rasterize_meshes import ours as mesh_ours
    from bm_rasterize_points import bunny_points
    from bm_rasterize_points import ours as points_ours

    from meshgraph.ops import gather_scatter, knn_points

    g = torch.Generator().manual_seed(0)
    steps = {}

    b = bunny_batch(1 if quick else 8)
    b.adjacency()
    src, dst = b.edge_index
    V, F = b.num_verts, 8 if quick else 64
    x0, gy = torch.randn(V, F, generator=g), torch.randn(V, F, generator=g)
    torch.testing.assert_close(gather_scatter(x0, b), torch.zeros(V, F).index_add_(0, dst, x0[src]), rtol=1e-4, atol=1e-4)

    def w1():
        x = x0.detach().requires_grad_(True)
        gather_scatter(x, b).backward(gy)

    steps[f"W1 gather_scatter sum, V={V:,}, F={F}"] = w1

    n = 1024 if quick else 8192
    pts = torch.rand(4, n, 3, generator=g)
    d, idx, _ = knn_points(pts, pts, K=16)
    dd = torch.cdist(pts, pts).square().topk(16, largest=False).values
    torch.testing.assert_close(d, dd, rtol=1e-4, atol=1e-5)

    def w2():
        p = pts.detach().requires_grad_(True)
        knn_points(p, p, K=16)[0].sum().backward()

    steps[f"W2 knn_points 4 x {n}, K=16, D=3"] = w2

    size = 64 if quick else 256
    points = bunny_points()
    feats = torch.rand(points.shape[0], 32, generator=g)

    def w5():
        p, f = points.clone().requires_grad_(True), feats.clone().requires_grad_(True)
        img, _ = points_ours(p, f, size, 0.01, 8)
        img.square().sum().backward()

    steps[f"W5 rasterize_points + composite, {size}^2, K=8, C=32"] = w5

    verts, faces = bunny()
    vf = torch.rand(verts.shape[0], 3, generator=g)

    def w6():
        v, f = verts.clone().requires_grad_(True), vf.clone().requires_grad_(True)
        img, zbuf, _ = mesh_ours(v, f, faces, size)
        (img.square().sum() + zbuf.clamp_min(0).sum()).backward()

    steps[f"W6 rasterize_meshes + interpolate, {size}^2, K=1"] = w6
    return steps


def child(quick: bool, threads: int) -> None:
    torch.set_num_threads(threads)
    sys.path.insert(0, str(HERE))
    from _common import timeit

    out = {name: timeit(step, repeat=3 if quick else 7) for name, step in workloads(quick).items()}
    out["peak RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main(argv=None) -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.quick, args.threads)
    settings = SETTINGS[:2] if args.quick else SETTINGS  # the smoke run: pool off / on, one round
    rounds = 1 if args.quick else args.rounds
    best: dict[str, dict[str, float]] = {label: {} for label, _ in settings}
    for _ in range(rounds):
        for label, env in settings:
            cmd = [sys.executable, __file__, "--child", "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
            res = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, check=True)
            for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
                best[label][k] = min(best[label].get(k, float("inf")), v) if k != "peak RSS MB" else max(best[label].get(k, 0.0), v)
    print(f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cpus, best of {rounds} interleaved rounds")
    base = best[settings[0][0]]
    for name in base:
        unit = "MB" if name == "peak RSS MB" else "ms"
        print(f"\n{name}" if unit == "ms" else "\npeak RSS (MB, the whole child process)")
        for label, _ in settings:
            v = best[label][name]
            ratio = f"  {base[name] / v:5.2f}x ours (torch.empty, the default)" if unit == "ms" else ""
            print(f"  {label:<24} {v:9.1f} {unit}{ratio}")


if __name__ == "__main__":
    main()
