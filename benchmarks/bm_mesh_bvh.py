"""mesh_bvh build (op mesh_bvh: the BVH of median splits plus the boundary chains winding numbers need, built once
and given to every mesh query with `bvh=`) on the Stanford bunny (69,451 faces) and on 8 copies of it in one
batch, against the spatial structures trimesh's queries build, in the same run:

- embree's scene (embreex, trimesh's ray engine: its BVH is built on the first query; timed as the scene plus one
  ray), and
- the R-tree of the triangles' bounds (rtree, `Trimesh.triangles_tree`, behind trimesh.proximity);

and against meshgraph's pure-torch reference build (the specification, one Python step per node) on a 2,048-face
torus, where it is checked to be identical. The structures are checked before timing: every face in exactly one
leaf of its own mesh's tree, rays through our BVH hitting what they hit through embree's scene, every triangle in
the R-tree.

    python benchmarks/bm_mesh_bvh.py [--quick]
"""

from __future__ import annotations

from pathlib import Path

import torch

import meshgraph as mg
from meshgraph.io import load_mesh
from meshgraph.ops import reference as ref
from meshgraph.ops.mesh_queries import mesh_bvh
from meshgraph.ops.ray_mesh_intersect import ray_mesh_intersect
from meshgraph.utils import torus

from _common import bench_args, report, timeit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def check_tree(bvh, fsizes):
    """Every face in exactly one leaf, and the leaves below each mesh's root hold exactly that mesh's faces."""
    node, order, root = bvh.node.cpu(), bvh.order.cpu(), bvh.root.cpu()
    F = order.shape[0]
    assert torch.equal(order.sort().values, torch.arange(F))
    leaves = node[node[:, 2] < 0]
    assert int(leaves[:, 1].sum()) == F and int(leaves[:, 1].max()) <= 4
    first = 0
    for n, size in enumerate(fsizes.tolist()):
        r = node[root[n]]
        mine = order[r[0]:r[0] + r[1]].sort().values
        assert int(r[1]) == size and torch.equal(mine, torch.arange(first, first + size))
        first += size


def main(argv=None):
    args = bench_args(argv)
    import trimesh

    m = load_mesh(DATA / "stanford-bunny.obj")
    v, f = m.pos, m.faces.long()
    if args.quick:
        f = f[:3000]
    copies = 2 if args.quick else 8
    one = mg.GraphBatch.from_meshes([v.to(args.device)], [f.to(args.device)])
    many = mg.GraphBatch.from_meshes([v.to(args.device)] * copies, [f.to(args.device)] * copies)
    tm = trimesh.Trimesh(v.numpy(), f.numpy(), process=False)

    # checks: the reference build on a small torus (identical tensors), the tree invariants on the bunny batches
    t = torus(0.3, 1.0, 32, 32 if not args.quick else 8)
    small = mg.GraphBatch.from_meshes([t.pos.to(args.device)], [t.faces.long().to(args.device)])
    sf = t.faces.long()
    small_args = (t.pos, sf, torch.tensor([0]), torch.tensor([sf.shape[0]]))
    for a, b in zip(mesh_bvh(small), ref.mesh_bvh(*small_args)):
        assert a.dtype == b.dtype and torch.equal(a.cpu(), b), "mesh_bvh differs from the reference build"
    bvh = mesh_bvh(one)
    check_tree(bvh, torch.tensor([f.shape[0]]))
    check_tree(mesh_bvh(many), torch.tensor([f.shape[0]] * copies))
    print(f"check: identical to the reference build on the {sf.shape[0]}-face torus; every face in one leaf of its "
          f"mesh's tree on the bunny batches")

    rows = [(f"meshgraph mesh_bvh, bunny ({f.shape[0]} faces)", timeit(lambda: mesh_bvh(one), repeat=3, warmup=1)),
            (f"meshgraph mesh_bvh, {copies} bunnies in one batch", timeit(lambda: mesh_bvh(many), repeat=3, warmup=1))]

    # embree: rays from a sphere around the mesh towards face centroids hit the same faces through our BVH and
    # through embree's scene
    g = torch.Generator().manual_seed(0)
    R = 2000
    centre, radius = v.mean(0), 2 * (v - v.mean(0)).norm(dim=1).max()
    start = torch.nn.functional.normalize(torch.randn(R, 3, generator=g), dim=1) * radius + centre
    aim = v[f[torch.randint(0, f.shape[0], (R,), generator=g)]].mean(1)
    d = torch.nn.functional.normalize(aim - start, dim=1)
    try:
        from trimesh.ray.ray_pyembree import RayMeshIntersector as Embree
    except ImportError:
        Embree = None
        print("embreex not installed: no embree row")
    if Embree is not None:
        on, dn = start.numpy().astype("float64"), d.numpy().astype("float64")
        theirs = torch.as_tensor(Embree(tm).intersects_first(on, dn))
        ours = ray_mesh_intersect(start.to(args.device), d.to(args.device), one, bvh=bvh).face.cpu()
        same = (ours == theirs).float().mean().item()
        print(f"check vs embree: the same first face (or miss) for {same:.4%} of {R} rays")
        assert same > 0.97

        def embree_build():
            Embree(tm).intersects_first(on[:1], dn[:1])  # the scene is built and committed on the first query

        rows.append(("embree scene build (+ one ray)", timeit(embree_build, repeat=3, warmup=1)))

    tris = tm.triangles
    tree = trimesh.triangles.bounds_tree(tris)
    lo, hi = tris.reshape(-1, 3).min(0), tris.reshape(-1, 3).max(0)
    assert len(list(tree.intersection([*lo, *hi]))) == f.shape[0]
    print("check: the R-tree holds every triangle")
    rows.append(("rtree R-tree of the triangle bounds",
                 timeit(lambda: trimesh.triangles.bounds_tree(tris), repeat=3, warmup=1)))
    ms = timeit(lambda: ref.mesh_bvh(*small_args), repeat=1, warmup=0)
    rows.append((f"pure-torch reference build ({sf.shape[0]}-face torus)", ms))
    rows.append((f"meshgraph mesh_bvh ({sf.shape[0]}-face torus)", timeit(lambda: mesh_bvh(small), repeat=3,
                                                                         warmup=1)))
    report(f"mesh_bvh build: the bunny ({f.shape[0]} faces), {copies} copies, and the structures of trimesh's "
           "queries", rows, f"meshgraph mesh_bvh, bunny ({f.shape[0]} faces)")


if __name__ == "__main__":
    main()
