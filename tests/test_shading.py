"""Lights, materials, shading and the lit shaders (meshgraph.render.{lighting, shading, shader}) against the
Lambert / Phong formulas written out by hand, gradients (gradcheck float64), and a textured render of the cow."""

import math

import pytest
import torch

from meshgraph.render import (
    AmbientLights,
    BlendParams,
    DirectionalLights,
    FoVPerspectiveCameras,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRenderer,
    MeshRendererWithFragments,
    PointLights,
    RasterizationSettings,
    SoftGouraudShader,
    SoftPhongShader,
    TexturesUV,
    TexturesVertex,
    diffuse,
    flat_shading,
    gouraud_shading,
    look_at_view_transform,
    phong_shading,
    specular,
)
from meshgraph.render.rasterizer import Fragments
from meshgraph.structures import Meshes


def _unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def _dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def _phong_terms(p, n, light_pos, cam, shininess):
    """Hand formula: (max(0, n.l), (max(0, v.r) [n.l > 0]) ** shininess) at point p, normal n."""
    n = _unit(n)
    ldir = _unit([a - b for a, b in zip(light_pos, p)])
    cos = _dot(n, ldir)
    r = [2 * cos * a - b for a, b in zip(n, ldir)]
    v = _unit([a - b for a, b in zip(cam, p)])
    spec = (max(0.0, _dot(v, r)) * (cos > 0)) ** shininess
    return max(0.0, cos), spec


def test_diffuse_and_specular_match_the_hand_formulas():
    normals = torch.tensor([[0.0, 0.0, 2.0], [1.0, 1.0, 0.0], [0.0, 0.0, -1.0]], dtype=torch.float64)
    points = torch.tensor([[0.1, 0.2, 0.0], [0.0, 0.5, 0.3], [0.2, 0.2, 0.2]], dtype=torch.float64)
    light = torch.tensor([[0.3, 1.0, 2.0]], dtype=torch.float64)
    cam = [0.5, -0.2, 3.0]
    color = torch.tensor([[0.2, 0.5, 1.0]], dtype=torch.float64)
    d = diffuse(normals[None], color, (light - points)[None])
    s = specular(points[None], normals[None], (light - points)[None], color,
                 torch.tensor([cam], dtype=torch.float64), torch.tensor([10.0], dtype=torch.float64))
    for i in range(3):
        cos, spec = _phong_terms(points[i].tolist(), normals[i].tolist(), light[0].tolist(), cam, 10.0)
        torch.testing.assert_close(d[0, i], color[0] * cos)
        torch.testing.assert_close(s[0, i], color[0] * spec)
    assert (d[0, 2] == 0).all() and (s[0, 2] == 0).all()  # facing away: unlit


def test_lights_materials_batch_and_validate():
    lights = PointLights(location=[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert len(lights) == 2 and lights.ambient_color.shape == (2, 3)
    assert lights.clone().location.data_ptr() != lights.location.data_ptr()
    with pytest.raises(ValueError, match="diffuse_color"):
        DirectionalLights(diffuse_color=[[1.0, 1.0]])
    with pytest.raises(ValueError, match="shininess"):
        Materials(shininess=torch.ones(2, 2))
    amb = AmbientLights(ambient_color=[[0.1, 0.2, 0.3, 0.4, 0.5]])  # any number of channels
    assert amb.diffuse(torch.rand(7, 3), torch.rand(7, 3)).shape == (7, 5)


def _tri_mesh(dtype=torch.float64, colors=None):
    verts = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.2], [0.0, 1.0, -0.1]], dtype=dtype)
    faces = torch.tensor([[0, 1, 2]])
    tex = TexturesVertex([colors if colors is not None else torch.tensor([[1.0, 0.5, 0.2], [0.2, 1.0, 0.5], [0.5, 0.2, 1.0]], dtype=dtype)])
    return Meshes([verts], [faces], textures=tex)


def _frag(bary, p2f=None):
    S = bary.shape[0]
    p2f = torch.zeros(1, 1, S, 1, dtype=torch.int64) if p2f is None else p2f
    return Fragments(pix_to_face=p2f, zbuf=torch.ones(p2f.shape, dtype=bary.dtype), bary_coords=bary.view(1, 1, S, 1, 3),
                     dists=torch.zeros(p2f.shape, dtype=bary.dtype))


def _camera(dtype=torch.float64):
    R, T = look_at_view_transform(3.0, 10.0, 20.0)
    return FoVPerspectiveCameras(R=R.to(dtype), T=T.to(dtype))


def test_phong_shading_is_the_hand_formula_at_the_interpolated_point():
    mesh = _tri_mesh()
    cams = _camera()
    lights = PointLights(location=[[0.5, 0.5, 2.0]], ambient_color=[[0.1, 0.1, 0.1]], diffuse_color=[[0.6, 0.6, 0.6]],
                         specular_color=[[0.3, 0.3, 0.3]])
    lights = lights.to("cpu")
    for k in ("ambient_color", "diffuse_color", "specular_color", "location"):
        setattr(lights, k, getattr(lights, k).double())
    mats = Materials(shininess=[5.0])
    for k in ("ambient_color", "diffuse_color", "specular_color", "shininess"):
        setattr(mats, k, getattr(mats, k).double())
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], dtype=torch.float64)
    texels = torch.rand(1, 1, 2, 1, 3, dtype=torch.float64)
    out = phong_shading(mesh, _frag(bary), lights, cams, mats, texels)
    verts, normals = mesh.verts_packed(), mesh.verts_normals_packed()
    cam = cams.get_camera_center()[0].tolist()
    for s in range(2):
        p = (bary[s] @ verts).tolist()
        n = (bary[s] @ normals).tolist()
        cos, spec = _phong_terms(p, n, [0.5, 0.5, 2.0], cam, 5.0)
        want = (0.1 + 0.6 * cos) * texels[0, 0, s, 0] + 0.3 * spec
        torch.testing.assert_close(out[0, 0, s, 0], want)


def test_flat_and_gouraud_shading_use_face_and_vertex_lighting():
    mesh = _tri_mesh()
    cams = _camera()
    lights = DirectionalLights(direction=[[0.0, 0.3, 1.0]])
    mats = Materials(shininess=[3.0])
    for obj in (lights, mats):
        for k, v in list(vars(obj).items()):
            if torch.is_tensor(v) and v.dtype.is_floating_point:
                setattr(obj, k, v.double())
    bary = torch.tensor([[0.2, 0.3, 0.5]], dtype=torch.float64)
    texels = torch.full((1, 1, 1, 1, 3), 0.5, dtype=torch.float64)
    verts = mesh.verts_packed()
    cam = cams.get_camera_center()[0].tolist()
    far = [a * 1e6 for a in _unit([0.0, 0.3, 1.0])]  # a directional light is a point light at infinity

    flat = flat_shading(mesh, _frag(bary), lights, cams, mats, texels)
    centroid = verts.mean(0).tolist()
    fn = mesh.faces_normals_packed()[0].tolist()
    cos, spec = _phong_terms(centroid, fn, [c + f for c, f in zip(centroid, far)], cam, 3.0)
    spec = (max(0.0, _dot(_unit([a - b for a, b in zip(cam, centroid)]),
                          [2 * _dot(_unit(fn), _unit(far)) * a - b for a, b in zip(_unit(fn), _unit(far))]))
            * (_dot(_unit(fn), _unit(far)) > 0)) ** 3.0
    torch.testing.assert_close(flat[0, 0, 0, 0], (0.5 + 0.3 * cos) * texels[0, 0, 0, 0] + 0.2 * spec)

    gour = gouraud_shading(mesh, _frag(bary), lights, cams, mats)
    colors = mesh.textures.verts_features_packed()
    want = 0
    for i in range(3):
        p, n = verts[i].tolist(), mesh.verts_normals_packed()[i].tolist()
        c = _dot(_unit(n), _unit(far))
        r = [2 * c * a - b for a, b in zip(_unit(n), _unit(far))]
        sp = (max(0.0, _dot(_unit([a - b for a, b in zip(cam, p)]), r)) * (c > 0)) ** 3.0
        want = want + bary[0, i] * (colors[i] * (0.5 + 0.3 * max(c, 0.0)) + 0.2 * sp)
    torch.testing.assert_close(gour[0, 0, 0, 0], want)
    with pytest.raises(ValueError, match="TexturesVertex"):
        m2 = _tri_mesh()
        m2.textures = TexturesUV(torch.rand(1, 2, 2, 3), torch.tensor([[[0, 1, 2]]]), torch.rand(1, 3, 2))
        gouraud_shading(m2, _frag(bary), lights, cams, mats)


def test_phong_gradients_reach_texels_vertices_and_light():
    cams = _camera()
    bary = torch.tensor([[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]], dtype=torch.float64)
    verts0 = _tri_mesh().verts_packed()
    faces = torch.tensor([[0, 1, 2]])

    def f(verts, texels, loc):
        mesh = Meshes([verts], [faces])
        lights = PointLights(location=loc, ambient_color=torch.full((1, 3), 0.2, dtype=torch.float64),
                             diffuse_color=torch.full((1, 3), 0.5, dtype=torch.float64),
                             specular_color=torch.full((1, 3), 0.3, dtype=torch.float64))
        mats = Materials(ambient_color=torch.ones(1, 3, dtype=torch.float64),
                         diffuse_color=torch.ones(1, 3, dtype=torch.float64),
                         specular_color=torch.ones(1, 3, dtype=torch.float64),
                         shininess=torch.tensor([4.0], dtype=torch.float64))
        return phong_shading(mesh, _frag(bary), lights, cams, mats, texels)

    args = (verts0.clone().requires_grad_(), torch.rand(1, 1, 2, 1, 3, dtype=torch.float64, requires_grad=True),
            torch.tensor([[0.4, 0.3, 2.5]], dtype=torch.float64, requires_grad=True))
    assert torch.autograd.gradcheck(f, args)


def test_hard_phong_with_white_ambient_light_shows_the_texture():
    # AmbientLights (white) and unit materials: colour = texel exactly; background elsewhere; alpha 1 on the mesh
    verts = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
    colors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    mesh = Meshes([verts], [torch.tensor([[0, 1, 2]])], textures=TexturesVertex([colors]))
    R, T = look_at_view_transform(3.0, 0.0, 0.0)
    cams = FoVPerspectiveCameras(R=R, T=T)
    raster = MeshRasterizer(cameras=cams, raster_settings=RasterizationSettings(image_size=24, faces_per_pixel=1))
    shader = HardPhongShader(cameras=cams, lights=AmbientLights(), blend_params=BlendParams(background_color=(0.2, 0.4, 0.6)))
    images, frags = MeshRendererWithFragments(raster, shader)(mesh)
    texels = mesh.sample_textures(frags)[..., 0, :]
    covered = frags.pix_to_face[..., 0] >= 0
    assert 20 < int(covered.sum()) < 24 * 24 - 20
    torch.testing.assert_close(images[..., :3][covered], texels[covered])
    assert (images[..., :3][~covered] == torch.tensor([0.2, 0.4, 0.6])).all()
    assert (images[..., 3] == covered.float()).all()


def _cow_scene(shared_data, size=64, K=1, blur=0.0):
    from meshgraph.io import load_obj

    verts, faces, aux = load_obj(shared_data / "cow.obj", load_textures=False)
    # the cow's UVs with a synthetic map (the data folder has no cow_texture.png): red-green ramps
    H = W = 32
    yy, xx = torch.meshgrid(torch.linspace(0, 1, H), torch.linspace(0, 1, W), indexing="ij")
    texture = torch.stack([xx, yy, 0.5 * torch.ones_like(xx)], -1)[None]
    tex = TexturesUV(texture, faces.textures_idx[None], aux.verts_uvs[None])
    mesh = Meshes([verts], [faces.verts_idx], textures=tex)
    R, T = look_at_view_transform(2.7, 10.0, 30.0)
    cams = FoVPerspectiveCameras(R=R, T=T)
    settings = RasterizationSettings(image_size=size, blur_radius=blur, faces_per_pixel=K)
    return mesh, cams, MeshRasterizer(cameras=cams, raster_settings=settings)


def test_cow_textured_render_structure(shared_data):
    mesh, cams, raster = _cow_scene(shared_data)
    lights = PointLights(location=[[2.0, 2.0, -2.0]])
    images, frags = MeshRendererWithFragments(raster, HardPhongShader(cameras=cams, lights=lights))(mesh)
    assert images.shape == (1, 64, 64, 4)
    covered = frags.pix_to_face[0, ..., 0] >= 0
    frac = covered.float().mean().item()
    assert 0.1 < frac < 0.7, frac
    rgb = images[0, ..., :3]
    assert (rgb[~covered] == 1).all()  # white background
    assert (images[0, ..., 3] == covered.float()).all()
    lit = rgb[covered]
    assert lit.min() >= 0 and lit.std(0).min() > 0.02  # lit and textured: colours vary over the cow
    # the texture matters: a different map changes the covered pixels only
    mesh2 = mesh.clone()
    mesh2.textures = TexturesUV(1 - mesh.textures.maps_padded(), mesh.textures.faces_uvs_padded(),
                                mesh.textures.verts_uvs_padded())
    images2 = MeshRenderer(raster, HardPhongShader(cameras=cams, lights=lights))(mesh2)
    assert (images2[0][~covered] == images[0][~covered]).all()
    assert (images2[0, ..., :3][covered] - rgb[covered]).abs().mean() > 0.05
    # flat shading of the same scene differs from per-pixel shading, within the same silhouette
    flat = MeshRenderer(raster, HardFlatShader(cameras=cams, lights=lights))(mesh)
    assert (flat[0, ..., 3] == images[0, ..., 3]).all() and not torch.allclose(flat, images)


def test_cow_soft_phong_fits_a_texture_map(shared_data):
    mesh, cams, raster = _cow_scene(shared_data, size=32, K=4, blur=1e-4)
    shader = SoftPhongShader(cameras=cams, lights=PointLights(location=[[2.0, 2.0, -2.0]]))
    renderer = MeshRenderer(raster, shader)
    target = renderer(mesh).detach()
    fu, vu = mesh.textures.faces_uvs_padded(), mesh.textures.verts_uvs_padded()
    maps = torch.full((1, 32, 32, 3), 0.5, requires_grad=True)
    opt = torch.optim.Adam([maps], lr=0.05)
    losses = []
    for _ in range(10):
        mesh.textures = TexturesUV(maps, fu, vu)
        loss = (renderer(mesh)[..., :3] - target[..., :3]).square().mean()
        opt.zero_grad()
        loss.backward()
        assert maps.grad is not None and maps.grad.abs().sum() > 0
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_gouraud_shaders_render_vertex_colours(shared_data):
    from meshgraph.io import load_obj

    verts, faces, _ = load_obj(shared_data / "cow.obj", load_textures=False)
    mesh = Meshes([verts], [faces.verts_idx], textures=TexturesVertex([torch.rand(verts.shape[0], 3)]))
    R, T = look_at_view_transform(2.7, 10.0, 30.0)
    cams = FoVPerspectiveCameras(R=R, T=T)
    raster = MeshRasterizer(cameras=cams, raster_settings=RasterizationSettings(image_size=32, faces_per_pixel=2))
    hard = MeshRenderer(raster, HardGouraudShader(cameras=cams))(mesh)
    soft = MeshRenderer(raster, SoftGouraudShader(cameras=cams))(mesh)
    assert hard.shape == soft.shape == (1, 32, 32, 4)
    assert torch.isfinite(soft).all() and (hard[..., 3] > 0).any()


def test_feature_shader_blends_a_wide_uv_texture(shared_data):
    from meshgraph.render import VertexFeatureShader

    mesh, cams, raster = _cow_scene(shared_data, size=24)
    tex = mesh.textures
    mesh.textures = TexturesUV(torch.rand(1, 8, 8, 6), tex.faces_uvs_padded(), tex.verts_uvs_padded())  # C = 6
    images, frags = MeshRendererWithFragments(raster, VertexFeatureShader(blend_params=BlendParams(background_color=0.0)))(mesh)
    assert images.shape == (1, 24, 24, 7)
    covered = frags.pix_to_face[..., 0] >= 0
    torch.testing.assert_close(images[..., :6][covered], mesh.sample_textures(frags)[..., 0, :][covered])
    assert (images[..., :6][~covered] == 0).all()


def _batched_scene(dtype=torch.float64):
    """Two meshes, per-image cameras / lights / materials, fragments with empty slots (pix_to_face -1)."""
    g = torch.Generator().manual_seed(3)
    verts = [torch.rand(5, 3, generator=g, dtype=dtype), torch.rand(4, 3, generator=g, dtype=dtype)]
    faces = [torch.tensor([[0, 1, 2], [1, 3, 4], [0, 2, 4]]), torch.tensor([[0, 1, 2], [1, 2, 3]])]
    mesh = Meshes(verts, faces)
    R, T = look_at_view_transform([3.0, 2.5], [10.0, 40.0], [20.0, -30.0])
    cams = FoVPerspectiveCameras(R=R.to(dtype), T=T.to(dtype))
    lights = PointLights(location=[[0.5, 0.5, 2.0], [-1.0, 2.0, 1.0]], ambient_color=[[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]],
                         diffuse_color=[[0.6, 0.5, 0.4], [0.2, 0.7, 0.5]], specular_color=[[0.3, 0.3, 0.3], [0.5, 0.1, 0.2]])
    # one material row: PyTorch3D's dense formula broadcasts (N, 3) materials against the K axis of (N, H, W, K, 3)
    mats = Materials(shininess=[5.0], diffuse_color=[[1.0, 0.8, 0.6]])
    for obj in (lights, mats):
        for k, v in list(vars(obj).items()):
            if torch.is_tensor(v) and v.dtype.is_floating_point:
                setattr(obj, k, v.to(dtype))
    N, H, W, K = 2, 3, 4, 2
    p2f = torch.randint(-1, 3, (N, H, W, K), generator=g)
    p2f[1] = torch.where(p2f[1] >= 0, p2f[1].clamp(max=1) + 3, -1)  # image 1 draws mesh 1's packed faces 3, 4
    p2f[0, 0, 0] = -1  # a pixel with no face
    bary = torch.rand(N, H, W, K, 3, generator=g, dtype=dtype)
    bary = bary / bary.sum(-1, keepdim=True)
    frag = Fragments(pix_to_face=p2f, zbuf=torch.ones(N, H, W, K, dtype=dtype), bary_coords=bary,
                     dists=torch.zeros(N, H, W, K, dtype=dtype))
    texels = torch.rand(N, H, W, K, 3, generator=g, dtype=dtype)
    return mesh, frag, lights, cams, mats, texels


def test_phong_shading_lights_only_covered_slots_with_every_slots_values():
    """phong_shading evaluates the lighting at the covered slots only; every slot's colour must still be what
    lighting all of them gives (PyTorch3D's dense formula; empty slots: ambient * texel), per image."""
    from meshgraph.render.shading import _apply_lighting, _pixel_points_and_normals

    mesh, frag, lights, cams, mats, texels = _batched_scene()
    assert (frag.pix_to_face < 0).any() and (frag.pix_to_face >= 0).any()
    out = phong_shading(mesh, frag, lights, cams, mats, texels)
    points, normals = _pixel_points_and_normals(mesh, frag)
    ambient, diffuse_, specular_ = _apply_lighting(points, normals, lights, cams, mats)
    torch.testing.assert_close(out, (ambient + diffuse_) * texels + specular_, rtol=1e-12, atol=1e-12)
    empty = frag.pix_to_face < 0
    amb = (mats.ambient_color * lights.ambient_color)[:, None, None, None, :].expand_as(texels)
    torch.testing.assert_close(out[empty], (amb * texels)[empty], rtol=1e-12, atol=1e-12)
    nothing = Fragments(pix_to_face=torch.full_like(frag.pix_to_face, -1), zbuf=frag.zbuf, bary_coords=frag.bary_coords,
                        dists=frag.dists)  # no covered slot at all
    torch.testing.assert_close(phong_shading(mesh, nothing, lights, cams, mats, texels), amb * texels)


def test_phong_shading_gradients_with_empty_slots_and_a_batch():
    mesh0, frag, lights, cams, mats, texels = _batched_scene()
    faces = mesh0.faces_list()

    def f(v0, v1, tex, loc):
        lights.location = loc
        return phong_shading(Meshes([v0, v1], faces), frag, lights, cams, mats, tex)

    verts = mesh0.verts_list()
    args = (verts[0].clone().requires_grad_(), verts[1].clone().requires_grad_(), texels.clone().requires_grad_(),
            lights.location.clone().requires_grad_())
    assert torch.autograd.gradcheck(f, args)


@pytest.mark.parametrize("per_image_range", [False, True])
def test_softmax_rgb_blend_at_covered_pixels_equals_every_pixel(per_image_range):
    """softmax_rgb_blend blends only the pixels with a face (the others are exactly background, alpha 0); values
    and gradients must equal the every-pixel blend (softmax_blend), with per-image znear / zfar too."""
    from meshgraph.render.blend import softmax_blend, softmax_rgb_blend

    g = torch.Generator().manual_seed(5)
    N, H, W, K, C = 2, 5, 4, 3, 3
    p2f = torch.randint(-1, 6, (N, H, W, K), generator=g)
    p2f[0, :2] = -1  # uncovered pixels
    p2f[1, 4, 3, 0] = 2
    zbuf = torch.where(p2f >= 0, 1.0 + torch.rand(N, H, W, K, generator=g, dtype=torch.float64), -1.0)
    dists = torch.where(p2f >= 0, 1e-3 * torch.randn(N, H, W, K, generator=g, dtype=torch.float64), -1.0)
    colors = torch.rand(N, H, W, K, C, generator=g, dtype=torch.float64)
    near, far = (torch.tensor([0.5, 1.0]), torch.tensor([50.0, 20.0])) if per_image_range else (1.0, 100.0)
    bp = BlendParams(sigma=1e-3, gamma=1e-2, background_color=(0.2, 0.4, 0.6))
    args = [t.clone().requires_grad_() for t in (colors, zbuf, dists)]
    got = softmax_rgb_blend(args[0], Fragments(p2f, args[1], None, args[2]), bp, znear=near, zfar=far)
    ref = [t.clone().requires_grad_() for t in (colors, zbuf, dists)]
    bg = torch.tensor(bp.background_color, dtype=torch.float64)
    want = softmax_blend(ref[0], p2f, ref[1], ref[2], bp.sigma, bp.gamma, bg, near, far, return_alpha=True)
    want = want.permute(0, 2, 3, 1)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    uncovered = ~(p2f >= 0).any(-1)
    assert uncovered.any()
    torch.testing.assert_close(got[uncovered], torch.tensor([0.2, 0.4, 0.6, 0.0], dtype=torch.float64).expand(int(uncovered.sum()), 4))
    up = torch.rand(got.shape, generator=g, dtype=torch.float64)
    for a, b in zip(torch.autograd.grad(got, args, up), torch.autograd.grad(want, ref, up)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
