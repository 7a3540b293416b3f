"""mesh_face_areas_normals (ops mesh_face_areas_normals, mesh_face_areas_normals_backward) vs the same formulas in
plain PyTorch (the pre-op implementation: gather, cross product, norm; autograd backward), same run, results checked
first.

W1: the bunny batch (8 copies), float32: forward, and forward + backward.
Peers: PyTorch3D's C++ face_areas_normals is not installable here; the unfused PyTorch expression is the baseline.
"""

from __future__ import annotations

import torch

from meshgraph.ops.mesh_geometry import mesh_face_areas_normals
from meshgraph.ops.reference.mesh_geometry import mesh_face_areas_normals as unfused

from _common import bench_args, bunny_batch, report, timeit


def fwd_bwd(fn, verts, faces):
    x = verts.detach().requires_grad_(True)

    def run():
        a, n = fn(x, faces)
        (a.sum() + n.sum()).backward()
        x.grad = None

    return run


def main(argv=None):
    args = bench_args(argv)
    batch = bunny_batch(1 if args.quick else 8)
    verts, faces = batch.verts_packed().float(), batch.faces_packed()
    for a, b in zip(mesh_face_areas_normals(verts, faces), unfused(verts, faces)):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-5), "kernel differs from the formulas"
    reps = 3 if args.quick else 7
    rows = [
        ("meshgraph mesh_face_areas_normals", timeit(lambda: mesh_face_areas_normals(verts, faces), repeat=reps)),
        ("plain PyTorch", timeit(lambda: unfused(verts, faces), repeat=reps)),
    ]
    report(f"W1 fwd: {faces.shape[0]} faces", rows, "meshgraph mesh_face_areas_normals")
    rows = [
        ("meshgraph mesh_face_areas_normals", timeit(fwd_bwd(mesh_face_areas_normals, verts, faces), repeat=reps)),
        ("plain PyTorch", timeit(fwd_bwd(unfused, verts, faces), repeat=reps)),
    ]
    report(f"W1 fwd+bwd: {faces.shape[0]} faces", rows, "meshgraph mesh_face_areas_normals")


if __name__ == "__main__":
    main()
