"""winding_number (ops mesh_bvh + winding_number; winding_number_backward for the gradient row): 10^6 points
around the Stanford bunny (69,451 faces, open: it has holes) and points_inside_mesh of 10^6 points against a closed
torus (131,072 faces), against

- the all-pairs reference (meshgraph.ops.reference: every point against every triangle, chunked) on a subset,
  reported per the full point count; it is the exact definition, so it checks our values first;
- trimesh's `contains` (ray parity, with embree when embreex is installed) on the closed torus, where inside /
  outside are comparable (trimesh's contains is unreliable on the open bunny: no row there).

Ours with the BVH prebuilt (mesh_bvh once, `bvh=`) and including the build. Results are checked before timing."""

from __future__ import annotations

import math
from pathlib import Path

import torch

import meshgraph as mg
from meshgraph.io import load_mesh
from meshgraph.ops import reference as ref
from meshgraph.ops.mesh_queries import mesh_bvh, points_inside_mesh, winding_number
from meshgraph.utils import torus

from _common import bench_args, report, timeit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _reference(pts, v, f, chunk=64):
    """All-pairs winding numbers (the reference's solid angles), chunked over the points."""
    t = v.double()[f]
    out = [ref.mesh_queries.triangle_solid_angle(pts[i:i + chunk].double()[:, None], t[None, :, 0], t[None, :, 1],
                                                 t[None, :, 2]).sum(1) / (4 * math.pi)
           for i in range(0, pts.shape[0], chunk)]
    return torch.cat(out)


def _points(v, P, g):
    ext = (v.max(0).values - v.min(0).values).max()
    near = v[torch.randint(0, v.shape[0], (P // 2,), generator=g)] + 0.02 * ext * torch.randn(P // 2, 3, generator=g)
    lo, hi = v.min(0).values, v.max(0).values
    box = lo + (hi - lo) * (torch.rand(P - P // 2, 3, generator=g) * 1.2 - 0.1)
    return torch.cat([near, box])[torch.randperm(P, generator=g)]


def main(argv=None):
    args = bench_args(argv)
    import trimesh

    P, P_ref = (2000, 50) if args.quick else (10**6, 500)
    g = torch.Generator().manual_seed(0)
    m = load_mesh(DATA / "stanford-bunny.obj")
    v, f = m.pos, m.faces.long()
    pts = _points(v, P, g)
    meshes = mg.GraphBatch.from_meshes([v.to(args.device)], [f.to(args.device)])
    pd = pts.to(args.device)
    bvh = mesh_bvh(meshes)

    w = winding_number(pd, meshes, bvh=bvh).cpu()
    expected = _reference(pts[:P_ref], v, f)
    err = (w[:P_ref].double() - expected).abs().max().item()
    print(f"check vs the all-pairs reference (float64) on {P_ref} points: max |w - w_ref| = {err:.2e}")
    assert err < 1e-3

    rows = [("meshgraph winding_number (BVH prebuilt)",
             timeit(lambda: winding_number(pd, meshes, bvh=bvh), repeat=3, warmup=1)),
            ("meshgraph winding_number (including build)", timeit(lambda: winding_number(pd, meshes), repeat=3, warmup=1))]
    pg = pd[: P // 10].clone().requires_grad_()
    rows.append((f"meshgraph fwd+bwd w.r.t. points (x10 from {P // 10})",
                 10 * timeit(lambda: winding_number(pg, meshes, bvh=bvh).sum().backward(), repeat=3, warmup=1)))
    ms = timeit(lambda: _reference(pts[:P_ref], v, f), repeat=1, warmup=0)
    rows.append((f"all-pairs reference (x{P // P_ref} from {P_ref})", ms * P / P_ref))
    report(f"winding_number: {P} points vs the bunny ({f.shape[0]} faces, open)", rows,
           "meshgraph winding_number (BVH prebuilt)")

    # closed torus: inside / outside against trimesh's contains
    t = torus(0.3, 1.0, 256, 256)
    tv, tf = t.pos, t.faces.long()
    tq = _points(tv, P, g)
    tm = trimesh.Trimesh(tv.numpy(), tf.numpy(), process=False)
    tmeshes = mg.GraphBatch.from_meshes([tv.to(args.device)], [tf.to(args.device)])
    tbvh = mesh_bvh(tmeshes)
    tqd = tq.to(args.device)
    ours = points_inside_mesh(tqd, tmeshes, bvh=tbvh).cpu()
    theirs = torch.as_tensor(tm.contains(tq.numpy().astype("float64")))
    # away from the surface (distance to the tube's surface > 1e-3) the two must agree
    rho = ((tq[:, :2].norm(dim=1) - 1.0) ** 2 + tq[:, 2] ** 2).sqrt()
    clear = (rho - 0.3).abs() > 1e-3
    agree = (ours[clear] == theirs[clear]).float().mean().item()
    print(f"check vs trimesh contains on the closed torus: agree on {agree:.4%} of points off the surface")
    assert agree > 0.999
    engine = type(tm.ray).__module__.rsplit(".", 1)[-1]
    rows = [("meshgraph points_inside_mesh (BVH prebuilt)",
             timeit(lambda: points_inside_mesh(tqd, tmeshes, bvh=tbvh), repeat=3, warmup=1)),
            ("meshgraph points_inside_mesh (incl. build)",
             timeit(lambda: points_inside_mesh(tqd, tmeshes), repeat=3, warmup=1)),
            (f"trimesh contains ({engine})", timeit(lambda: tm.contains(tq.numpy().astype("float64")), repeat=3, warmup=1))]
    report(f"points_inside_mesh: {P} points vs a closed torus ({tf.shape[0]} faces)", rows,
           "meshgraph points_inside_mesh (BVH prebuilt)")


if __name__ == "__main__":
    main()
