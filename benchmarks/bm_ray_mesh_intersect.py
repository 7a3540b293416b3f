"""ray_mesh_intersect (ops mesh_bvh + ray_mesh_intersect_idx): 10^6 rays against the Stanford bunny (69,451 faces), from
random origins around it towards random points near its surface, against trimesh's ray engines in the same run:
embree (embreex, float32) on all rays and the default pure-numpy engine (ray_triangle) on a subset, reported per
10^6 rays; ours with the BVH prebuilt (mesh_bvh once, `bvh=`) and including the build, with the build and the
traversal op alone; embree through trimesh with its scene prebuilt (trimesh caches the embree scene on the
intersector: the warmup call builds it) and including the scene build (a new intersector per call), and embree's
own scene.run alone (float32 rays in, face ids out: no trimesh conversions or hit locations). Hits (which rays hit,
distances, faces) are checked against embree before timing."""

from __future__ import annotations

import time
from pathlib import Path

import torch

import meshgraph as mg
from meshgraph.io import load_mesh
from meshgraph.ops.mesh_queries import mesh_bvh
from meshgraph.ops.ray_mesh_intersect import ray_mesh_intersect, ray_triangle_hits

from _common import bench_args, report, timeit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main(argv=None):
    args = bench_args(argv)
    import trimesh
    from trimesh.ray.ray_triangle import RayMeshIntersector as Default

    m = load_mesh(DATA / "stanford-bunny.obj")
    v, f = m.pos, m.faces.long()
    # the default engine's broad phase holds ~10^4 candidate triangles per ray (float64 x 3 each): 10^3 rays ~ 2 GB
    R, R_default = (2000, 200) if args.quick else (10**6, 10**3)
    g = torch.Generator().manual_seed(0)
    o = v.mean(0) + torch.randn(R, 3, generator=g) * (v.max(0).values - v.min(0).values).max()
    target = v[torch.randint(0, v.shape[0], (R,), generator=g)] + 0.002 * torch.randn(R, 3, generator=g)
    d = target - o
    d = d / d.norm(dim=1, keepdim=True)
    meshes = mg.GraphBatch.from_meshes([v.to(args.device)], [f.to(args.device)])
    tm = trimesh.Trimesh(v.numpy(), f.numpy(), process=False)
    on, dn = o.numpy().astype("float64"), d.numpy().astype("float64")
    engines = []
    try:
        from trimesh.ray.ray_pyembree import RayMeshIntersector as Embree

        engines.append(("trimesh embree", Embree(tm), R))
    except ImportError:
        print("embreex not installed: no embree row")
    engines.append(("trimesh default (ray_triangle)", Default(tm), R_default))

    od, dd = o.to(args.device), d.to(args.device)
    hits = ray_mesh_intersect(od, dd, meshes)
    # check: agreement with the first engine (edge rays may differ in either engine)
    name, eng, n = engines[0]
    loc, ri, fi = eng.intersects_location(on[:n], dn[:n], multiple_hits=False)
    face = torch.full((n,), -1, dtype=torch.int64)
    face[torch.as_tensor(ri)] = torch.as_tensor(fi)
    ours = hits.face[:n].cpu()
    agree = ((ours >= 0) == (face >= 0)).float().mean().item()
    both = (ours >= 0) & (face >= 0)
    same = (ours[both] == face[both]).float().mean().item()
    print(f"check vs {name}: hit/miss agree on {agree:.4%} of rays, same face on {same:.4%} of common hits")
    assert agree > 0.99 and same > 0.97

    bvh = mesh_bvh(meshes)
    assert torch.equal(ray_mesh_intersect(od, dd, meshes, bvh=bvh).face, hits.face)
    reps = 2 if args.quick else 3
    tris = meshes.pos_packed()[meshes.faces_packed().long()]
    sizes, fsizes = torch.tensor([R]), torch.tensor([f.shape[0]])
    rows = [("meshgraph ray_mesh_intersect (BVH prebuilt)",
             timeit(lambda: ray_mesh_intersect(od, dd, meshes, bvh=bvh), repeat=reps, warmup=1)),
            ("meshgraph ray_mesh_intersect (including build)",
             timeit(lambda: ray_mesh_intersect(od, dd, meshes), repeat=reps, warmup=1)),
            ("  mesh_bvh build only", timeit(lambda: mesh_bvh(meshes), repeat=reps, warmup=1)),
            ("  traversal op only (t, face)",
             timeit(lambda: ray_triangle_hits(od, dd, sizes, tris, fsizes, bvh), repeat=reps, warmup=1))]
    for name, eng, n in engines:
        if n == R:  # embree: trimesh caches its scene on the intersector, built by the first (warmup) call
            rows.append((name + " (scene prebuilt)",
                         timeit(lambda: eng.intersects_location(on, dn, multiple_hits=False), repeat=reps, warmup=1)))
            rows.append((name + " (including scene build)", timeit(
                lambda: type(eng)(tm).intersects_location(on, dn, multiple_hits=False), repeat=reps, warmup=0)))
            scene = eng._scene
            o32, d32 = on.astype("float32"), dn.astype("float32")
            rows.append(("  embree scene.run only (face ids)", timeit(lambda: scene.run(o32, d32), repeat=reps,
                                                                     warmup=1)))
            t0, c0 = time.perf_counter(), time.process_time()
            eng.intersects_location(on, dn, multiple_hits=False)
            ratio = (time.process_time() - c0) / (time.perf_counter() - t0)
            print(f"{name}: CPU time / wall time of one call {ratio:.2f} (above 1: it runs on several threads)")
        else:
            ms = timeit(lambda: eng.intersects_location(on[:n], dn[:n], multiple_hits=False), repeat=1, warmup=0)
            rows.append((name + f" (x{R // n} from {n} rays)", ms * R / n))
    report(f"ray_mesh_intersect: {R} rays vs the bunny ({f.shape[0]} faces), first hit with face and distance", rows,
           "meshgraph ray_mesh_intersect (BVH prebuilt)")


if __name__ == "__main__":
    main()
