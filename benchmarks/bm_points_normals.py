"""Point-cloud normals on 10^6 points, K = 30: meshgraph's estimate_pointcloud_normals vs Open3D, same run (issue 16).

Workload: 10^6 points sampled uniformly on the Stanford bunny's surface (../shared/data/stanford-bunny.obj, fixed
seed), K = 30 neighbours. Ours: knn_points kernel + covariances + the symeig3x3 kernel (PyTorch3D's
estimate_pointcloud_normals semantics: the point itself is one of its K neighbours). Open3D:
`PointCloud.estimate_normals(KDTreeSearchParamKNN(30))` (its KD-tree build + search + eigen solve, OpenMP on the
same 2 cores); a fresh PointCloud per call so no cached tree is reused. Results are checked before timing: Open3D's
normals are unoriented and ours are oriented by PyTorch3D's rule, so they are compared up to sign: at least 99 % of
the points must agree to |cos| > 0.99 (the rest are knn ties at equal distances). Open3D is a `bench` peer; without
it only our row is printed.

    python benchmarks/bm_points_normals.py
    python benchmarks/bm_points_normals.py --quick      # 20,000 points
"""

from __future__ import annotations

from pathlib import Path

import torch

from meshgraph.ops.points_normals import estimate_pointcloud_normals

from _common import bench_args, report, timeit


def bunny_points(n: int, seed: int = 0) -> torch.Tensor:
    import meshgraph as mg
    from meshgraph.io import load_mesh
    from meshgraph.ops.sample_points import sample_points_from_meshes

    path = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stanford-bunny.obj"
    mesh = mg.GraphBatch([load_mesh(path)])
    torch.manual_seed(seed)
    return sample_points_from_meshes(mesh, n).float()


def main(argv=None):
    args = bench_args(argv, points=(int, 1_000_000), k=(int, 30))
    n = 20_000 if args.quick else args.points
    K = args.k
    pts = bunny_points(n)
    ours = estimate_pointcloud_normals(pts, K)[0]
    rows = [("meshgraph estimate_pointcloud_normals", None)]
    try:
        import numpy as np
        import open3d as o3d
    except ImportError:
        o3d = None
        print("open3d not importable: the peer row is skipped")
    if o3d is not None:
        xyz = pts[0].double().numpy()

        def open3d_normals():
            pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz))
            pc.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(K))
            return pc

        theirs = torch.from_numpy(np.asarray(open3d_normals().normals)).float()
        cos = (ours * theirs).sum(1).abs()
        agree = (cos > 0.99).float().mean().item()
        print(f"check: {agree * 100:.2f} % of points agree with Open3D to |cos| > 0.99 (median |cos| "
              f"{cos.median().item():.6f})")
        assert agree >= 0.99, "normals differ from Open3D's"
    reps = 2 if args.quick else 3
    rows = [("meshgraph estimate_pointcloud_normals", timeit(lambda: estimate_pointcloud_normals(pts, K), repeat=reps))]
    if o3d is not None:
        rows.append(("Open3D estimate_normals (KNN)", timeit(open3d_normals, repeat=reps)))
    report(f"normals, {n:,} bunny-surface points, K={K}", rows, "meshgraph estimate_pointcloud_normals")


if __name__ == "__main__":
    main()
