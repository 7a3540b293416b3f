"""Lit, textured renders of the cow against PyTorch3D's renders of the same scene (issue 14): per-pixel max abs
difference <= 1/255 away from silhouette edges, for HardPhongShader and SoftPhongShader, and the texture-map gradient
of the soft render. The expected arrays (tests/data/cow_phong_pytorch3d.npz, scene parameters included) were made by
PyTorch3D v0.7.9 itself:

    PYTHONPATH=/work/p3d-site python tools/gen_cow_render_reference.py

(tests/data/README.md; PyTorch3D is not needed to run this test)."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from meshgraph.io import load_obj
from meshgraph.render import (
    BlendParams,
    FoVPerspectiveCameras,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRendererWithFragments,
    PointLights,
    RasterizationSettings,
    SoftPhongShader,
    TexturesUV,
    look_at_view_transform,
)
from meshgraph.structures import Meshes

DATA = Path(__file__).resolve().parent / "data" / "cow_phong_pytorch3d.npz"


@pytest.fixture(scope="module")
def expected():
    with np.load(DATA) as z:
        return {k: z[k] for k in z.files}


def _scene(expected, key):
    return expected[f"scene_{key}"].tolist()


def _render(shared_data, expected, maps, soft):
    verts, faces, aux = load_obj(shared_data / "cow.obj", load_textures=False)
    tex = TexturesUV(maps=maps, faces_uvs=[faces.textures_idx], verts_uvs=[aux.verts_uvs])
    mesh = Meshes([verts], [faces.verts_idx], textures=tex)
    R, T = look_at_view_transform(_scene(expected, "dist"), _scene(expected, "elev"), _scene(expected, "azim"))
    cameras = FoVPerspectiveCameras(R=R, T=T)
    lights = PointLights(location=[_scene(expected, "light_location")], ambient_color=[_scene(expected, "ambient")],
                         diffuse_color=[_scene(expected, "diffuse")], specular_color=[_scene(expected, "specular")])
    materials = Materials(shininess=_scene(expected, "shininess"))
    size, background = _scene(expected, "image_size"), tuple(_scene(expected, "background"))
    if soft:
        sigma = _scene(expected, "soft_sigma")
        blend = BlendParams(sigma=sigma, gamma=_scene(expected, "soft_gamma"), background_color=background)
        settings = RasterizationSettings(image_size=size, faces_per_pixel=_scene(expected, "soft_K"),
                                         blur_radius=math.log(1.0 / 1e-4 - 1.0) * sigma)
        shader = SoftPhongShader(cameras=cameras, lights=lights, materials=materials, blend_params=blend)
    else:
        settings = RasterizationSettings(image_size=size, faces_per_pixel=1, blur_radius=0.0)
        shader = HardPhongShader(cameras=cameras, lights=lights, materials=materials,
                                 blend_params=BlendParams(background_color=background))
    return MeshRendererWithFragments(MeshRasterizer(cameras=cameras, raster_settings=settings), shader)(mesh)


def _interior(covered: torch.Tensor) -> torch.Tensor:
    """Pixels whose 5x5 neighbourhood is all covered or all background (two pixels away from the silhouette)."""
    c = covered.float()[None, None]
    inside = -torch.nn.functional.max_pool2d(-c, 5, stride=1, padding=2)  # erosion
    outside = 1 - torch.nn.functional.max_pool2d(c, 5, stride=1, padding=2)
    return (inside + outside)[0, 0] > 0.5


@pytest.mark.parametrize("soft", [False, True], ids=["hard_phong", "soft_phong"])
def test_cow_render_matches_pytorch3d_away_from_silhouette_edges(shared_data, expected, soft):
    name = "soft" if soft else "hard"
    maps = torch.from_numpy(expected["maps"])
    image, frags = _render(shared_data, expected, maps, soft)
    want = torch.from_numpy(expected[f"{name}_image"])
    want_p2f = torch.from_numpy(expected[f"{name}_pix_to_face"]).long()
    if want_p2f.dim() == 3:
        want_p2f = want_p2f[..., 0]
    covered = want_p2f >= 0
    assert 0.1 < covered.float().mean() < 0.7  # the cow fills part of the frame
    keep = _interior(covered)
    assert keep.float().mean() > 0.85
    got_p2f = frags.pix_to_face[0, ..., 0]
    assert ((got_p2f >= 0) == covered)[keep].all()  # the same silhouette
    assert (got_p2f == want_p2f).float().mean() > 0.99  # the same nearest faces (ties at face edges aside)
    diff = (image[0] - want).abs()[keep]
    assert diff.max() <= 1 / 255, f"max |ours - PyTorch3D| away from edges: {diff.max():.4g} ({diff.max() * 255:.2f}/255)"
    # lit and textured: the colours vary over the cow, so a match is not two flat images agreeing
    assert want[..., :3][covered & keep].std(0).min() > 0.05


def test_cow_soft_render_texture_gradient_matches_pytorch3d(shared_data, expected):
    maps = torch.from_numpy(expected["maps"]).clone().requires_grad_(True)
    image, _ = _render(shared_data, expected, maps, soft=True)
    image[..., :3].square().sum().backward()
    want = torch.from_numpy(expected["soft_grad_maps"])
    assert want.abs().sum() > 0
    torch.testing.assert_close(maps.grad[0], want, rtol=1e-3, atol=1e-3 * want.abs().max().item())
