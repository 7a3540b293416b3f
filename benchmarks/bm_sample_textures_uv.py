"""TexturesUV.sample_textures fwd+bwd on the cow (../shared/data/cow.obj, 5,856 faces, its own UVs) rasterized at
256^2 with K = 8 faces per pixel (blur radius so most slots are full), a 1024^2 RGB map: meshgraph's fused op
`sample_textures_uv` (UV interpolation + bilinear lookup in one pass; backward: `sample_textures_uv_backward`) vs the two-step path it
replaced (meshgraph's interpolate_vertex_features, then torch grid_sample with torch autograd) and, when importable
(`PYTHONPATH=/work/p3d-site`), PyTorch3D's own TexturesUV.sample_textures, in the same run. Outputs and gradients
are checked against the two-step path first. Gradients go to the map, the UVs and the barycentrics."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from meshgraph.io import load_obj
from meshgraph.ops.interpolate_face_attributes import interpolate_vertex_features
from meshgraph.ops.sample_textures_uv import sample_textures_uv
from meshgraph.render import FoVPerspectiveCameras, MeshRasterizer, RasterizationSettings, look_at_view_transform
from meshgraph.render.textures import TexturesUV
from meshgraph.structures import Meshes

from _common import bench_args, report, timeit

COW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cow.obj"


def cow_fragments(size: int, K: int, map_size: int):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cow.mtl is not shipped: the UVs are all we read
        verts, faces, aux = load_obj(COW, load_textures=False)
    g = torch.Generator().manual_seed(0)
    maps = torch.rand(1, map_size, map_size, 3, generator=g)
    tex = TexturesUV(maps=maps, faces_uvs=[faces.textures_idx], verts_uvs=[aux.verts_uvs])
    mesh = Meshes([verts], [faces.verts_idx], textures=tex)
    R, T = look_at_view_transform(2.7, 10.0, 30.0)
    settings = RasterizationSettings(image_size=size, blur_radius=math.log(1.0 / 1e-4 - 1.0) * 1e-5,
                                     faces_per_pixel=K)
    frags = MeshRasterizer(cameras=FoVPerspectiveCameras(R=R, T=T), raster_settings=settings)(mesh)
    return tex, frags


def two_step(p2f, bary, faces_uvs, verts_uvs, maps):
    N, H, W, K = p2f.shape
    uv = interpolate_vertex_features(p2f, bary, faces_uvs, verts_uvs)
    grid = torch.lerp(uv.new_tensor([-1.0, 1.0]), uv.new_tensor([1.0, -1.0]), uv).reshape(N, H, W * K, 2)
    out = F.grid_sample(maps.permute(0, 3, 1, 2), grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(N, -1, H, W, K).permute(0, 2, 3, 4, 1)


def main(argv=None):
    args = bench_args(argv)
    size, K, map_size = (32, 2, 64) if args.quick else (256, 8, 1024)
    tex, frags = cow_fragments(size, K, map_size)
    p2f, bary = frags.pix_to_face, frags.bary_coords
    fu, vu, maps = tex.faces_uvs_packed(), tex.verts_uvs_packed(), tex.maps_padded()
    print(f"cow {size}x{size}, K={K}: {int((p2f >= 0).sum())} of {p2f.numel()} slots on a face; map {map_size}^2")
    grad = torch.randn(*p2f.shape, 3, generator=torch.Generator().manual_seed(1))

    def fused(b, v, m):
        return sample_textures_uv(p2f, b, fu, v, m)

    def leaves():
        return [t.clone().requires_grad_(True) for t in (bary, vu, maps)]

    # checked first: outputs and all three gradients against the two-step path
    a, b = leaves(), leaves()
    out_f, out_t = fused(*a), two_step(p2f, b[0], fu, b[1], b[2])
    torch.testing.assert_close(out_f, out_t, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(tex.sample_textures(frags), out_t, rtol=1e-5, atol=1e-5)
    for x, y in zip(torch.autograd.grad(out_f, a, grad), torch.autograd.grad(out_t, b, grad)):
        torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-4 * float(y.abs().max()))

    def step(fn):
        def run():
            ls = leaves()
            torch.autograd.backward(fn(*ls), grad)
        return run

    rows = [("meshgraph sample_textures_uv (fused)", timeit(step(fused), repeat=5)),
            ("interpolate + torch grid_sample", timeit(step(lambda b_, v_, m_: two_step(p2f, b_, fu, v_, m_)),
                                                       repeat=5))]
    try:
        from pytorch3d.renderer import TexturesUV as P3DTexturesUV
    except ImportError:
        print("PyTorch3D not importable: its column is left out (PYTHONPATH=/work/p3d-site adds it)")
    else:
        def p3d(b_, v_, m_):
            t = P3DTexturesUV(maps=m_, faces_uvs=[fu], verts_uvs=[v_])
            return t.sample_textures(type(frags)(pix_to_face=p2f, bary_coords=b_, zbuf=frags.zbuf, dists=frags.dists))

        torch.testing.assert_close(p3d(bary, vu, maps), out_t, rtol=1e-5, atol=1e-5)
        rows.append(("PyTorch3D TexturesUV.sample_textures", timeit(step(p3d), repeat=3)))
    report(f"TexturesUV sampling fwd+bwd: cow {size}x{size}, K={K}, map {map_size}^2 x 3", rows,
           "meshgraph sample_textures_uv (fused)")


if __name__ == "__main__":
    main()
