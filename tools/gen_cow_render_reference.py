"""Write tests/data/cow_phong_pytorch3d.npz: PyTorch3D's lit, textured renders of the cow (the expected arrays of
tests/test_render_pytorch3d_reference.py). Runs PyTorch3D itself (v0.7.9 built from source, DEVELOPERS.md "PyTorch3D
as a benchmark peer"), never meshgraph:

    PYTHONPATH=/work/p3d-site python tools/gen_cow_render_reference.py [--out tests/data/cow_phong_pytorch3d.npz]

The scene: ../shared/data/cow.obj with its own UVs and a 64^2 texture map (a deterministic pattern written here:
the data folder has no cow texture image), FoVPerspectiveCameras from look_at_view_transform(2.7, 10, 150), a
PointLights with specular highlights, Materials(shininess=32), 128^2 images, float32 on the CPU:
  hard_*: HardPhongShader, faces_per_pixel=1, blur 0;
  soft_*: SoftPhongShader, faces_per_pixel=4, BlendParams(sigma=1e-5, gamma=1e-4), blur_radius log(1/1e-4 - 1) *
          1e-5 (well under a pixel: the silhouette stays within one pixel of the hard one), plus
          soft_grad_maps = d sum(image[..., :3]^2) / d maps.
The scene parameters are stored in the file too, so the test rebuilds exactly this scene.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
COW = ROOT.parent / "shared" / "data" / "cow.obj"

SCENE = dict(
    image_size=128, dist=2.7, elev=10.0, azim=150.0, light_location=(1.5, 2.0, 2.5),
    ambient=(0.35, 0.35, 0.35), diffuse=(0.6, 0.6, 0.6), specular=(0.4, 0.4, 0.4), shininess=32.0,
    soft_K=4, soft_sigma=1e-5, soft_gamma=1e-4, background=(1.0, 1.0, 1.0),
)


def texture_map(size: int = 64) -> torch.Tensor:
    """(1, size, size, 3) in [0.05, 0.95]: ramps plus a checker, so every texel lookup shows."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    checker = ((xx * 8).floor() + (yy * 8).floor()).remainder(2)
    rgb = torch.stack([xx, yy, 0.3 + 0.4 * checker], -1)
    return (0.05 + 0.9 * rgb)[None].float()


def render(p3d, verts, faces, verts_uvs, faces_uvs, maps, soft: bool):
    r = p3d.renderer
    mesh = p3d.structures.Meshes([verts], [faces],
                                 textures=r.TexturesUV(maps=maps, faces_uvs=[faces_uvs], verts_uvs=[verts_uvs]))
    R, T = r.look_at_view_transform(SCENE["dist"], SCENE["elev"], SCENE["azim"])
    cameras = r.FoVPerspectiveCameras(R=R, T=T)
    lights = r.PointLights(location=[SCENE["light_location"]], ambient_color=[SCENE["ambient"]],
                           diffuse_color=[SCENE["diffuse"]], specular_color=[SCENE["specular"]])
    materials = r.Materials(shininess=SCENE["shininess"])
    if soft:
        sigma = SCENE["soft_sigma"]
        blend = r.BlendParams(sigma=sigma, gamma=SCENE["soft_gamma"], background_color=SCENE["background"])
        settings = r.RasterizationSettings(image_size=SCENE["image_size"], faces_per_pixel=SCENE["soft_K"],
                                           blur_radius=math.log(1.0 / 1e-4 - 1.0) * sigma)
        shader = r.SoftPhongShader(cameras=cameras, lights=lights, materials=materials, blend_params=blend)
    else:
        blend = r.BlendParams(background_color=SCENE["background"])
        settings = r.RasterizationSettings(image_size=SCENE["image_size"], faces_per_pixel=1, blur_radius=0.0)
        shader = r.HardPhongShader(cameras=cameras, lights=lights, materials=materials, blend_params=blend)
    renderer = r.MeshRendererWithFragments(r.MeshRasterizer(cameras=cameras, raster_settings=settings), shader)
    return renderer(mesh)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "cow_phong_pytorch3d.npz"))
    args = ap.parse_args(argv)
    import pytorch3d
    import pytorch3d.io
    import pytorch3d.renderer
    import pytorch3d.structures

    assert "meshgraph" not in pytorch3d.__file__, f"this must run PyTorch3D itself, not {pytorch3d.__file__}"
    verts, faces, aux = pytorch3d.io.load_obj(COW, load_textures=False)
    maps = texture_map()
    out = {f"scene_{k}": np.asarray(v) for k, v in SCENE.items()}
    out["maps"] = maps.numpy()
    hard, frags = render(pytorch3d, verts, faces.verts_idx, aux.verts_uvs, faces.textures_idx, maps, soft=False)
    out["hard_image"] = hard[0].numpy()
    out["hard_pix_to_face"] = frags.pix_to_face[0, ..., 0].int().numpy()
    m = maps.clone().requires_grad_(True)
    soft, frags = render(pytorch3d, verts, faces.verts_idx, aux.verts_uvs, faces.textures_idx, m, soft=True)
    soft[..., :3].square().sum().backward()
    out["soft_image"] = soft[0].detach().numpy()
    out["soft_pix_to_face"] = frags.pix_to_face[0].int().numpy()
    out["soft_grad_maps"] = m.grad[0].numpy()
    out["pytorch3d_version"] = np.asarray(pytorch3d.__version__)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1024:.0f} KiB) with PyTorch3D {pytorch3d.__version__}")


if __name__ == "__main__":
    main()
