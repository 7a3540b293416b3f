"""bvh_closest_face_idx (meshgraph.ops.bvh_closest_face.closest_faces: the closest triangle of every point, a
branch-and-bound descent of the mesh's BVH from op mesh_bvh): 10^6 points near and around the Stanford bunny
(69,451 faces), against, in the same run,

- trimesh.proximity.closest_point (an R-tree candidate search, then exact distances in numpy) on a subset,
  reported per the full point count, and
- our point_face_distance_idx (op behind point_mesh_face_distance: a uniform-grid shell search; it also finds the
  closest point of every face, the half of the pair a closest-face query does not need).

Ours with the BVH prebuilt (mesh_bvh once, `bvh=`) and including its build. Checked before timing: the distance
to our face equals trimesh's closest distance (float32 against float64) and the distance to point_face_distance's
face (the same exact distances and ties: the same faces up to ties).

    python benchmarks/bm_bvh_closest_face.py [--quick] [--points P]
"""

from __future__ import annotations

from pathlib import Path

import torch

import meshgraph as mg
from meshgraph.io import load_mesh
from meshgraph.ops import sample_points_from_meshes
from meshgraph.ops.bvh_closest_face import closest_faces
from meshgraph.ops.mesh_bvh import mesh_bvh_packed
from meshgraph.ops.point_face_distance import closest_point_face_pairs
from meshgraph.ops.reference.point_face import point_triangle_distance_sq

from _common import bench_args, report, timeit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main(argv=None):
    args = bench_args(argv, points=(int, 10**6))
    import trimesh

    m = load_mesh(DATA / "stanford-bunny.obj")
    v, f = m.pos, m.faces.long()
    P, P_peer = (2000, 200) if args.quick else (args.points, 10**4)
    # half the points sampled on the surface and moved off it, half uniform in the bounding box grown by 20 %
    g = torch.Generator().manual_seed(0)
    lo, hi = v.aminmax(dim=0)
    ext = (hi - lo).max()
    surface = sample_points_from_meshes(mg.GraphBatch.from_meshes([v], [f]), P // 2, generator=g)[0]
    pts = torch.cat([surface + 0.02 * ext * torch.randn(P // 2, 3, generator=g),
                     lo - 0.1 * (hi - lo) + 1.2 * (hi - lo) * torch.rand(P - P // 2, 3, generator=g)])
    dev = args.device
    pd, vd, fd = pts.to(dev), v.to(dev), f.to(dev)
    sizes, fsizes = torch.tensor([P], device=dev), torch.tensor([f.shape[0]], device=dev)
    tris = vd[fd]

    def dist(face):
        t = tris[face]
        return point_triangle_distance_sq(pd, t[:, 0], t[:, 1], t[:, 2]).sqrt().cpu()

    bvh = mesh_bvh_packed(vd, fd, fsizes)
    ours = closest_faces(pd, sizes, vd, fd, fsizes, bvh=bvh)
    d_ours = dist(ours)
    tm = trimesh.Trimesh(v.numpy(), f.numpy(), process=False)
    pn = pts[:P_peer].numpy().astype("float64")
    _, d_tm, _ = trimesh.proximity.closest_point(tm, pn)
    # float32 kernels vs trimesh's float64, whose R-tree candidate search can overshoot: ours is never farther, and
    # equal up to float32 rounding on nearly every point
    gap = d_ours[:P_peer].double() - torch.as_tensor(d_tm)
    equal = (gap.abs() < 1e-5).float().mean().item()
    assert (gap < 1e-5).all() and equal > 0.99, gap.abs().max()
    p2f, _ = closest_point_face_pairs(pd, sizes, tris, fsizes)
    tie_gap = (d_ours - dist(p2f)).abs().max()
    assert (ours == p2f).float().mean() > 0.99 and tie_gap <= 1e-6 * ext, "not the faces of point_face_distance"
    print(f"check: distances equal trimesh's on {equal:.4%} of {P_peer} points (never farther) and "
          f"point_face_distance's (same face on {(ours == p2f).float().mean().item():.4%} of points, the rest ties)")

    trimesh_ms = timeit(lambda: trimesh.proximity.closest_point(tm, pn), repeat=1, warmup=0) * P / P_peer
    rows = [("meshgraph closest_faces (BVH prebuilt)",
             timeit(lambda: closest_faces(pd, sizes, vd, fd, fsizes, bvh=bvh), repeat=3, warmup=1)),
            ("meshgraph closest_faces (including build)",
             timeit(lambda: closest_faces(pd, sizes, vd, fd, fsizes), repeat=3, warmup=1)),
            ("meshgraph point_face_distance_idx (grid, both halves)",
             timeit(lambda: closest_point_face_pairs(pd, sizes, tris, fsizes), repeat=3, warmup=1)),
            (f"trimesh proximity.closest_point (x{P // P_peer} from {P_peer})", trimesh_ms)]
    report(f"closest face: {P} points vs the bunny ({f.shape[0]} faces)", rows,
           "meshgraph closest_faces (BVH prebuilt)")


if __name__ == "__main__":
    main()
