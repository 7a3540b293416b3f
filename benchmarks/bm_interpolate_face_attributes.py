"""interpolate_face_attributes (+ interpolate_face_attributes_backward) alone, fwd+bwd, on the fragments of W6 (the
bunny mesh, 69,451 faces, perspective-correct, 256^2 and 512^2) with K = 1 and K = 4, D = 64 vertex features,
through the vertex layout (interpolate_vertex_features) and PyTorch3D's (F, 3, D) layout, vs the torch gather
(bary[..., None] * values[faces[pix_to_face]]).sum(-2) with torch autograd in the same run. Checked against it first."""

from __future__ import annotations

import torch

from meshgraph.ops.interpolate_face_attributes import interpolate_face_attributes, interpolate_vertex_features
from meshgraph.ops.reference.render import interpolate_face_attributes as torch_interp
from meshgraph.render import rasterize_meshes

from _common import bench_args, report, timeit
from bm_rasterize_meshes import bunny, camera


def main(argv=None):
    args = bench_args(argv)
    verts, faces = bunny()
    if args.quick:
        faces = faces[::20]
    raster = camera().transform_points_raster(verts[None])[0]
    feats = torch.randn(verts.shape[0], 8 if args.quick else 64, generator=torch.Generator().manual_seed(0))
    for size in ([48] if args.quick else [256, 512]):
        for K in (1, 4):
            p2f, _, bary, _ = rasterize_meshes(([raster], [faces]), size, faces_per_pixel=K, blur_radius=1e-5,
                                               perspective_correct=True)
            torch.testing.assert_close(interpolate_vertex_features(p2f, bary, faces, feats),
                                       torch_interp(p2f, bary, feats, faces))
            attrs = feats[faces]
            torch.testing.assert_close(interpolate_face_attributes(p2f, bary, attrs), torch_interp(p2f, bary, attrs))

            def step(fn, values):
                def run():
                    v, b = values.clone().requires_grad_(True), bary.clone().requires_grad_(True)
                    fn(b, v).square().sum().backward()
                return run

            rows = [
                ("meshgraph interpolate_vertex_features", timeit(step(lambda b, v: interpolate_vertex_features(p2f, b, faces, v), feats), repeat=5)),
                ("meshgraph interpolate_face_attributes", timeit(step(lambda b, v: interpolate_face_attributes(p2f, b, v), attrs), repeat=5)),
                ("torch gather (vertex layout)", timeit(step(lambda b, v: torch_interp(p2f, b, v, faces), feats), repeat=3)),
                ("torch gather ((F, 3, D) layout)", timeit(step(lambda b, v: torch_interp(p2f, b, v), attrs), repeat=3)),
            ]
            report(f"interpolate fwd+bwd: {size}x{size}, K={K}, D={feats.shape[1]}", rows,
                   "meshgraph interpolate_vertex_features")


if __name__ == "__main__":
    main()
