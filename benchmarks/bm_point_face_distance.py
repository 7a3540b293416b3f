"""point_mesh_face_distance forward + backward (op point_face_distance_idx): the cow (5,856 faces) against 10,000
points sampled near its surface and the Stanford bunny (69,451 faces) against 5,000, vs the all-pairs torch
computation a user would write (chunked to bound memory) in the same run -- timed forward only under no_grad,
since its backward would hold every pair (it was killed for memory at these sizes). The loss is checked against it
first. PyTorch3D's version is a brute-force all-pairs kernel as well (CUDA-first; not installable here)."""

from __future__ import annotations

from pathlib import Path

import torch

import meshgraph as mg
from meshgraph.io import load_mesh
from meshgraph.losses import point_mesh_face_distance
from meshgraph.losses.point_mesh import point_triangle_distance_sq
from meshgraph.ops import sample_points_from_meshes

from _common import bench_args, report, timeit

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def all_pairs(verts, faces, pts, chunk=2**22):
    t = verts[faces]
    step = max(1, chunk // t.shape[0])
    p2f = torch.cat([point_triangle_distance_sq(pts[s : s + step, None], t[None, :, 0], t[None, :, 1], t[None, :, 2]).min(1).values
                     for s in range(0, pts.shape[0], step)])
    step = max(1, chunk // pts.shape[0])
    f2p = torch.cat([point_triangle_distance_sq(pts[None], t[s : s + step, None, 0], t[s : s + step, None, 1], t[s : s + step, None, 2]).min(1).values
                     for s in range(0, t.shape[0], step)])
    return p2f.mean() + f2p.mean()


def main(argv=None):
    args = bench_args(argv)
    for name, n in (("cow.obj", 10000), ("stanford-bunny.obj", 5000)):
        m = load_mesh(DATA / name)
        verts = m.pos - m.pos.mean(0)
        verts = verts / verts.norm(dim=1).max()
        faces = m.faces
        if args.quick:
            faces, n = faces[:400], 500
        mesh = mg.GraphBatch.from_meshes([verts], [faces])
        g = torch.Generator().manual_seed(0)
        pts = sample_points_from_meshes(mesh, n, generator=g)[0] + 0.01 * torch.randn(n, 3, generator=g)
        ours = point_mesh_face_distance(mesh, pts[None])
        with torch.no_grad():
            torch.testing.assert_close(ours, all_pairs(verts, faces, pts), rtol=1e-5, atol=1e-9)

        def step_ours():
            v, p = verts.clone().requires_grad_(True), pts.clone().requires_grad_(True)
            point_mesh_face_distance(mg.GraphBatch.from_meshes([v], [faces]), p[None]).backward()

        def step_pairs():
            with torch.no_grad():
                all_pairs(verts, faces, pts)

        rows = [("meshgraph point_mesh_face_distance", timeit(step_ours, repeat=5)),
                ("torch all pairs, forward only", timeit(step_pairs, repeat=1, warmup=0))]
        report(f"point_mesh_face_distance fwd+bwd: {name} ({faces.shape[0]} faces) vs {n} points", rows,
               "meshgraph point_mesh_face_distance")


if __name__ == "__main__":
    main()
