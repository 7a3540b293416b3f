"""GraphToImage beyond one feature per graph: a lit render and a latent render from one pass over the fragments,
order-independent transparency (alpha blend) and several graphs drawn as one scene.

References: PyTorch3D-style MeshRenderer + shaders of meshgraph.render (the lit images), separate GraphToImage
renders (the latent images), a per-pixel Python loop (the "over" compositing) and join_meshes_as_scene (scenes).
"""

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import meshgraph as mg
from meshgraph.nn import GraphToImage
from meshgraph.render import (
    BlendParams,
    FoVPerspectiveCameras,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    MeshRasterizer,
    MeshRenderer,
    PointLights,
    RasterizationSettings,
    SoftGouraudShader,
    SoftPhongShader,
    TexturesUV,
    TexturesVertex,
    VertexFeatureShader,
    alpha_blend,
    alpha_rgb_blend,
    hard_blend,
    look_at_view_transform,
)
from meshgraph.render.rasterizer import Fragments
from meshgraph.structures import Meshes, join_meshes_as_batch, join_meshes_as_scene
from meshgraph.utils import ico_sphere


class CountOps(TorchDispatchMode):
    """Counts the meshgraph custom ops dispatched inside the block."""

    def __init__(self):
        super().__init__()
        self.calls = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.name()
        self.calls[name] = self.calls.get(name, 0) + 1
        return func(*args, **(kwargs or {}))


def _spheres(level=1, C=8, dtype=torch.float32):
    """Two overlapping spheres (the second partly in front of the first from the cameras below) with RGB vertex
    colours (a TexturesVertex) and a C-wide latent vertex feature."""
    s = ico_sphere(level, dtype=dtype)
    v1 = s.pos * 0.6 + torch.tensor([0.3, 0.0, 0.0], dtype=dtype)
    v2 = s.pos * 0.45 + torch.tensor([-0.35, 0.1, 0.55], dtype=dtype)
    V = s.pos.shape[0]
    rgb = [torch.rand(V, 3, dtype=dtype), torch.rand(V, 3, dtype=dtype)]
    m = Meshes(verts=[v1, v2], faces=[s.faces, s.faces], textures=TexturesVertex(rgb))
    m.update_features("latent", torch.randn(2 * V, C, dtype=dtype))
    m.update_features("rgb", torch.cat(rgb))
    return m


def _cams(n=2, dtype=torch.float32):
    R, T = look_at_view_transform(dist=[2.7, 3.0][:n], elev=[10.0, -15.0][:n], azim=[20.0, -30.0][:n])
    return FoVPerspectiveCameras(R=R.to(dtype), T=T.to(dtype), znear=0.5, zfar=8.0)


LIGHTS = dict(location=[[1.0, 2.0, 3.0]], diffuse_color=[[0.6, 0.5, 0.4]], specular_color=[[0.3, 0.3, 0.3]])

# (shading, blend) -> the PyTorch3D-style shader that renders the same lit image
SHADERS = {
    ("phong", "hard"): HardPhongShader,
    ("phong", "softmax"): SoftPhongShader,
    ("gouraud", "hard"): HardGouraudShader,
    ("gouraud", "softmax"): SoftGouraudShader,
    ("flat", "hard"): HardFlatShader,
}


def _layer(size=24, **kw):
    kw.setdefault("z_clip_value", None)  # the MeshRasterizer reference clips at znear / 2: nothing here reaches it
    return GraphToImage(size, mode="mesh", **kw)


@pytest.mark.parametrize("shading,blend", sorted(SHADERS))
def test_lit_and_latent_renders_share_one_rasterization_and_one_interpolation(shading, blend):
    torch.manual_seed(0)
    m, cams = _spheres(), _cams()
    loc = torch.tensor(LIGHTS["location"], requires_grad=True)
    lights = PointLights(**{**LIGHTS, "location": loc})
    soft = blend == "softmax"
    sigma, gamma, blur, K = 1e-3, 1e-2, (2e-3 if soft else 0.0), 3
    layer = _layer(shading=shading, lights=lights, blend=blend, sigma=sigma, gamma=gamma, blur_radius=blur,
                   faces_per_pixel=K, color_background=1.0, background=0.0)
    latent = m.packed("latent").clone().requires_grad_()
    with CountOps() as count:
        lit, feats = layer(m, cams, feature=latent)
    assert count.calls.get("meshgraph::rasterize_meshes") == 1
    assert count.calls.get("meshgraph::interpolate_face_attributes") == 1
    assert lit.shape == (2, 3, 24, 24) and feats.shape == (2, 8, 24, 24)
    # the lit image is the PyTorch3D-style renderer's (its own rasterization and shading)
    settings = RasterizationSettings(image_size=24, faces_per_pixel=K, blur_radius=blur)
    shader = SHADERS[shading, blend](cameras=cams, lights=lights, blend_params=BlendParams(sigma, gamma, (1.0, 1.0, 1.0)))
    ref = MeshRenderer(MeshRasterizer(cameras=cams, raster_settings=settings), shader)(m)
    torch.testing.assert_close(lit, ref[..., :3].permute(0, 3, 1, 2), atol=1e-5, rtol=1e-5)
    # the latent image is the feature-only render
    alone = _layer(blend=blend, sigma=sigma, gamma=gamma, blur_radius=blur, faces_per_pixel=K)(m, cams, feature=latent)
    torch.testing.assert_close(feats, alone, atol=1e-6, rtol=1e-6)
    assert lit.std() > 0.05 and feats.std() > 0.05  # both images show the meshes
    # gradients reach both outputs' inputs: latent features, colours, positions, the light
    rgb = m.packed("rgb").clone().requires_grad_()
    pos = m.pos_packed().clone().requires_grad_()
    g = mg.GraphBatch.from_packed(m.sizes("verts"), faces=m.faces_packed(), num_faces=m.sizes("faces"),
                                  vertex_features={"pos": pos})
    lit, feats = layer(g, cams, feature=latent, color=rgb)
    torch.testing.assert_close(lit, ref[..., :3].permute(0, 3, 1, 2), atol=1e-5, rtol=1e-5)
    (lit.square().sum() + feats.square().sum()).backward()
    for t in (latent, rgb, pos, loc):
        assert t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0


def test_lit_render_of_a_64_channel_latent_matches_separate_renders_in_float64():
    torch.manual_seed(1)
    m, cams = _spheres(C=64, dtype=torch.float64), _cams(dtype=torch.float64)
    lights = PointLights(**LIGHTS)  # float32 properties: the lighting formulas cast them to the points' dtype
    layer = _layer(shading="phong", lights=lights, faces_per_pixel=2)
    lit, feats = layer(m, cams, feature="latent", color="rgb")
    assert feats.shape == (2, 64, 24, 24) and lit.dtype == torch.float64
    torch.testing.assert_close(feats, _layer(faces_per_pixel=2)(m, cams, feature="latent"), atol=0, rtol=0)
    # the lit part alone: GraphToImage without a latent (a silhouette second output)
    lit2, sil = layer(m, cams)
    torch.testing.assert_close(lit, lit2, atol=0, rtol=0)
    assert sil.shape == (2, 1, 24, 24) and 0 < sil.mean() < 1
    torch.testing.assert_close(sil, sil.round())  # interpolated ones: 1 up to the barycentrics' rounding


def test_lit_render_samples_uv_textures_at_the_same_fragments():
    """A TexturesUV mesh: the lit image (texels sampled at GraphToImage's fragments) equals HardPhongShader's, and
    the latent comes from the same single interpolation of the vertex channels."""
    torch.manual_seed(9)
    m, cams = _spheres(), _cams()
    uv = torch.rand(m.num_verts, 2)
    tex = TexturesUV(maps=torch.rand(2, 16, 16, 3), faces_uvs=m.faces_list(), verts_uvs=list(uv.split(m.sizes("verts"))))
    mu = Meshes(verts=m.verts_list(), faces=m.faces_list(), textures=tex)
    mu.update_features("latent", m.packed("latent"))
    lights = PointLights(**LIGHTS)
    with CountOps() as count:
        lit, feats = _layer(shading="phong", lights=lights, faces_per_pixel=2, color_background=1.0)(mu, cams,
                                                                                                     feature="latent")
    assert count.calls.get("meshgraph::rasterize_meshes") == 1
    settings = RasterizationSettings(image_size=24, faces_per_pixel=2)
    ref = MeshRenderer(MeshRasterizer(cameras=cams, raster_settings=settings),
                       HardPhongShader(cameras=cams, lights=lights))(mu)
    torch.testing.assert_close(lit, ref[..., :3].permute(0, 3, 1, 2), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(feats, _layer(faces_per_pixel=2)(mu, cams, feature="latent"), atol=0, rtol=0)
    with pytest.raises(ValueError, match="join_meshes_as_scene"):
        _layer(shading="phong", scene=True)(mu, cams)
    with pytest.raises(ValueError, match="gouraud"):
        _layer(shading="gouraud")(mu, cams)


# ------------------------------------------------------------------ order-independent transparency


def _over_loop(features, alphas, p2f, bg):
    """Per-pixel Python loop: front-to-back "over" of the non-empty slots, then the background."""
    N, H, W, K, C = features.shape
    out = torch.zeros(N, C, H, W, dtype=features.dtype)
    for n in range(N):
        for y in range(H):
            for x in range(W):
                acc, trans = torch.zeros(C, dtype=features.dtype), 1.0
                for k in range(K):
                    if p2f[n, y, x, k] < 0:
                        continue
                    a = alphas[n, y, x, k]
                    acc = acc + trans * a * features[n, y, x, k]
                    trans = trans * (1 - a)
                out[n, :, y, x] = acc + trans * bg
    return out


def test_alpha_blend_matches_a_per_pixel_loop():
    torch.manual_seed(2)
    N, H, W, K, C = 2, 4, 5, 4, 3
    feats = torch.randn(N, H, W, K, C, dtype=torch.float64)
    alphas = torch.rand(N, H, W, K, dtype=torch.float64)
    alphas[0, 0, 0] = torch.tensor([1.0, 0.5, 0.0, 1.0])  # an opaque front face hides the rest
    p2f = torch.randint(0, 9, (N, H, W, K))
    p2f[torch.rand(N, H, W, K) < 0.3] = -1  # empty slots anywhere are skipped
    p2f[1, 2, 3] = -1  # an empty pixel: the background
    bg = torch.tensor([0.2, -0.4, 0.9], dtype=torch.float64)
    out = alpha_blend(feats, alphas, p2f, bg, return_alpha=True)
    torch.testing.assert_close(out[:, :C], _over_loop(feats, alphas, p2f, bg))
    expect_cov = 1 - torch.where(p2f >= 0, 1 - alphas, torch.ones(())).prod(-1)
    torch.testing.assert_close(out[:, C], expect_cov)
    torch.testing.assert_close(out[1, :C, 2, 3], bg)
    # the PyTorch3D call shape: (N, H, W, C + 1)
    frag = Fragments(pix_to_face=p2f, zbuf=None, bary_coords=None, dists=None)
    rgba = alpha_rgb_blend(feats, alphas, frag, BlendParams(background_color=bg))
    torch.testing.assert_close(rgba.permute(0, 3, 1, 2), out)


def test_alpha_blend_gradcheck_float64():
    torch.manual_seed(3)
    N, H, W, K, C = 1, 2, 3, 3, 2
    feats = torch.randn(N, H, W, K, C, dtype=torch.float64, requires_grad=True)
    alphas = (torch.rand(N, H, W, K, dtype=torch.float64) * 0.8 + 0.1).requires_grad_()
    p2f = torch.randint(0, 5, (N, H, W, K))
    p2f[0, 1, 2, 1:] = -1
    bg = torch.tensor([0.3, 0.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f, a, b: alpha_blend(f, a, p2f, b, return_alpha=True), (feats, alphas, bg))
    # alphas of exactly 1 and 0 (cumprod through a zero transmittance) keep exact gradients too
    edge = torch.tensor([[[[1.0, 0.5, 0.0], [0.0, 1.0, 0.25], [0.5, 0.5, 1.0]]] * 2], dtype=torch.float64)
    edge = edge.reshape(N, H, W, K).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: alpha_blend(feats.detach(), a, p2f, None), (edge,))


def _quads(z_front=1.5, z_back=2.5, dtype=torch.float64):
    """Two axis-aligned quads covering the image centre, one in front of the other, as two graphs."""
    q = torch.tensor([[-1.0, -1.0, 0.0], [1.0, -1.0, 0.0], [1.0, 1.0, 0.0], [-1.0, 1.0, 0.0]], dtype=dtype)
    f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    # shifted off the pixel grid, so no pixel centre lies on a quad's diagonal (no face owns it)
    front = q * torch.tensor([0.3, 0.3, 1.0], dtype=dtype) + torch.tensor([0.02, 0.0, z_front], dtype=dtype)
    back = q * torch.tensor([0.9, 0.9, 1.0], dtype=dtype) + torch.tensor([0.0, 0.03, z_back], dtype=dtype)
    return front, back, f


def test_alpha_blend_of_two_quads_is_the_closed_form():
    """Red quad (alpha 0.4) in front of a blue one (alpha 0.7), background green: at the centre
    0.4 red + 0.6 * 0.7 blue + 0.6 * 0.3 green; where only the back quad is, 0.7 blue + 0.3 green."""
    front, back, f = _quads()
    g = mg.GraphBatch.from_meshes([front, back], [f, f])
    red, blue, green = torch.eye(3, dtype=torch.float64)
    color = torch.cat([red.expand(4, 3), blue.expand(4, 3)])
    cam = FoVPerspectiveCameras(fov=60.0, R=torch.eye(3)[None].double(), T=torch.zeros(1, 3).double())
    layer = _layer(16, blend="alpha", faces_per_pixel=3, background=green.tolist(), scene=True)
    for alpha in (torch.tensor([0.4, 0.7], dtype=torch.float64),  # per graph
                  torch.tensor([0.4, 0.4, 0.7, 0.7], dtype=torch.float64)):  # per face
        img = layer(g, cam, feature=color, alpha=alpha)[0]
        torch.testing.assert_close(img[:, 8, 8], 0.4 * red + 0.42 * blue + 0.18 * green)
        torch.testing.assert_close(img[:, 8, 3], 0.7 * blue + 0.3 * green)  # outside the front quad
        torch.testing.assert_close(img[:, 0, 0], green)
    # per-vertex alpha (a vertex feature), and the alpha of an RGBA vertex colour, give the same
    g.update_features("a", torch.cat([torch.full((4, 1), 0.4), torch.full((4, 1), 0.7)]).double())
    torch.testing.assert_close(layer(g, cam, feature=color, alpha="a"), img[None])
    rgba = torch.cat([color, g.packed("a")], 1)
    lit = _layer(16, blend="alpha", faces_per_pixel=3, scene=True, shading="flat", color_background=green.tolist(),
                 lights=PointLights(ambient_color=[[1.0, 1.0, 1.0]], diffuse_color=[[0.0, 0.0, 0.0]],
                                    specular_color=[[0.0, 0.0, 0.0]]))
    shaded, _ = lit(g, cam, color=rgba)  # white ambient light only: the lit image is the colour
    torch.testing.assert_close(shaded, img[None])


@pytest.mark.parametrize("K", [1, 4])
def test_alpha_one_equals_the_hard_render(K):
    torch.manual_seed(4)
    m, cams = _spheres(), _cams()
    hard = _layer(faces_per_pixel=K, background=0.5)(m, cams, feature="latent")
    for alpha in (1.0, torch.ones(m.num_faces), torch.ones(2)):
        out = _layer(blend="alpha", faces_per_pixel=K, background=0.5)(m, cams, feature="latent", alpha=alpha)
        torch.testing.assert_close(out, hard, atol=0, rtol=0)


def test_graph_to_image_alpha_gradcheck_float64():
    """Gradients of the transparent render w.r.t. per-face alphas, vertex features and (through the soft
    coverage of a blurred rasterization) the positions: three overlapping triangles at distinct depths (coplanar
    faces would swap their order under a perturbation, where "over" is not continuous)."""
    torch.manual_seed(5)
    pos = torch.tensor([[-0.6, -0.5, 2.0], [0.5, -0.4, 2.1], [0.0, 0.6, 1.9],
                        [-0.3, 0.5, 2.6], [0.6, 0.3, 2.4], [0.1, -0.6, 2.5],
                        [-0.7, 0.0, 3.2], [0.7, -0.2, 3.0], [0.2, 0.7, 3.1]], dtype=torch.float64, requires_grad=True)
    faces = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    feats = torch.randn(9, 2, dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor([0.3, 0.5, 0.8], dtype=torch.float64, requires_grad=True)
    cam = FoVPerspectiveCameras(fov=60.0, R=torch.eye(3)[None].double(), T=torch.zeros(1, 3).double())
    sigma = 2e-3
    layer = _layer(6, blend="alpha", faces_per_pixel=3, scene=True, blur_radius=sigma * 9.21, sigma=sigma,
                   background=0.25)

    def render(p, x, a):
        g = mg.GraphBatch.from_packed([3, 3, 3], faces=faces, num_faces=[1, 1, 1], vertex_features={"pos": p})
        return layer(g, cam, feature=x, alpha=a)

    out = render(pos, feats, alpha)
    assert (out != 0.25).float().mean() > 0.3  # the triangles cover the image
    assert torch.autograd.gradcheck(render, (pos, feats, alpha), atol=1e-5)


def test_shaders_take_an_alpha_per_call():
    torch.manual_seed(6)
    m, cams = _spheres(), _cams()
    lights = PointLights(**LIGHTS)
    renderer = MeshRenderer(MeshRasterizer(cameras=cams, raster_settings=RasterizationSettings(24, faces_per_pixel=4)),
                            HardPhongShader(cameras=cams, lights=lights))
    opaque = renderer(m)
    torch.testing.assert_close(renderer(m, alpha=1.0), opaque, atol=0, rtol=0)
    face_alpha = torch.rand(m.num_faces)
    out = renderer(m, alpha=face_alpha)
    layer = _layer(blend="alpha", faces_per_pixel=4, shading="phong", lights=lights, color_background=1.0)
    lit, cov = layer(m, cams, alpha=face_alpha)
    torch.testing.assert_close(out[..., :3].permute(0, 3, 1, 2), lit, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out[..., 3], cov[:, 0], atol=1e-6, rtol=1e-6)  # the coverage of ones
    # RGBA vertex texture: alpha="texture" reads the 4th channel
    rgba = torch.cat([m.packed("rgb"), torch.rand(m.num_verts, 1)], 1)
    m4 = Meshes(verts=m.verts_list(), faces=m.faces_list(), textures=TexturesVertex(list(rgba.split(m.sizes("verts")))))
    out4 = renderer(m4, alpha="texture")
    lit4, _ = layer(m, cams, color=rgba)
    torch.testing.assert_close(out4[..., :3].permute(0, 3, 1, 2), lit4, atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="RGBA"):
        renderer(m, alpha="texture")
    # meshgraph's feature shader
    frag = renderer.rasterizer(m)
    feat = VertexFeatureShader(feature=m.packed("latent"), alpha=0.5, blend_params=BlendParams(background_color=1.0))(frag, m)
    slots = torch.ops.meshgraph.interpolate_face_attributes(frag.pix_to_face, frag.bary_coords, m.packed("latent"),
                                                            m.faces_packed())
    expect = alpha_blend(slots, torch.full(frag.pix_to_face.shape, 0.5), frag.pix_to_face, 1.0)
    torch.testing.assert_close(feat[..., :8].permute(0, 3, 1, 2), expect)


# ------------------------------------------------------------------ scenes


@pytest.mark.parametrize("blend", ["hard", "softmax", "alpha"])
def test_scene_render_equals_rendering_the_joined_mesh(blend):
    torch.manual_seed(7)
    m, cams = _spheres(), _cams()
    blur = 1e-3 if blend != "hard" else 0.0
    kw = dict(blend=blend, blur_radius=blur, faces_per_pixel=4, sigma=1e-3, gamma=1e-2, shading="phong",
              lights=PointLights(**LIGHTS))
    extra = dict(alpha=torch.rand(m.num_faces) * 0.5 + 0.5) if blend == "alpha" else {}
    lit, feats = _layer(scene=True, **kw)(m, cams, feature="latent", **extra)
    assert lit.shape == (2, 3, 24, 24) and feats.shape == (2, 8, 24, 24)  # one image per camera
    joined = join_meshes_as_scene(m)
    assert len(joined) == 1 and joined.num_faces == m.num_faces
    torch.testing.assert_close(joined.packed("latent"), m.packed("latent"))  # vertex features come along
    both = join_meshes_as_batch([joined, joined])  # the joined scene once per camera
    both.update_features("latent", torch.cat([m.packed("latent")] * 2))
    if blend == "alpha":
        extra = dict(alpha=torch.cat([extra["alpha"]] * 2))
    ref_lit, ref_feats = _layer(**kw)(both, cams, feature="latent", **extra)
    torch.testing.assert_close(lit, ref_lit, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(feats, ref_feats, atol=1e-6, rtol=1e-6)


def test_scene_occlusion_across_graphs():
    """The front graph hides the back one where they overlap: the scene render shows graph ids by depth."""
    front, back, f = _quads(dtype=torch.float32)
    g = mg.GraphBatch.from_meshes([back, front], [f, f])  # the back one first: batch order must not matter
    ids = torch.cat([torch.zeros(4, 1), torch.ones(4, 1)])
    cam = FoVPerspectiveCameras(fov=60.0)
    img = GraphToImage(16, mode="mesh", scene=True, background=-1.0)(g, cam, feature=ids)[0, 0]
    torch.testing.assert_close(img[[8, 8, 0], [8, 3, 0]], torch.tensor([1.0, 0.0, -1.0]))
    # points: the scene of each camera (two cameras: the vertices drawn once per camera) is the joined cloud's
    cams = FoVPerspectiveCameras(fov=60.0, T=torch.tensor([[0.0, 0.0, 0.0], [0.1, -0.05, 0.3]]))
    layer = GraphToImage(16, mode="points", radius=0.1, points_per_pixel=4, compositor="norm_weighted")
    pts = layer(g, cams, feature=ids + 1, scene=True)
    joined = mg.GraphBatch.from_pointclouds([torch.cat([back, front])] * 2)
    torch.testing.assert_close(pts, layer(joined, cams, feature=torch.cat([ids + 1] * 2)))
    assert pts.shape == (2, 1, 16, 16) and pts.amax() > 1.5  # the front graph shows


def test_scene_ids_render_a_batch_of_scenes():
    """PyTorch3D #1757: batches A = (a0, a1) and B = (b0, b1) drawn as scenes (a0 + b0, a1 + b1), graphs in the
    batch order [a0, a1, b0, b1] with scene ids [0, 1, 0, 1]: equals join_meshes_as_scene per scene."""
    torch.manual_seed(8)
    s = ico_sphere(1)
    verts = [s.pos * r + torch.randn(3) * 0.4 for r in (0.5, 0.6, 0.4, 0.3)]
    feats = [torch.randn(s.pos.shape[0], 4) for _ in range(4)]
    rgb = [torch.rand(s.pos.shape[0], 3) for _ in range(4)]
    batch = Meshes(verts=verts, faces=[s.faces] * 4, textures=TexturesVertex(rgb))
    batch.update_features("x", torch.cat(feats))
    cams = _cams()
    for shading in ("gouraud", "phong"):
        layer = _layer(faces_per_pixel=2, shading=shading, lights=PointLights(**LIGHTS))
        lit, out = layer(batch, cams, feature="x", scene=[0, 1, 0, 1])
        scenes = join_meshes_as_batch([join_meshes_as_scene([batch[0], batch[2]]),
                                       join_meshes_as_scene([batch[1], batch[3]])])
        scenes.update_features("x", torch.cat([feats[0], feats[2], feats[1], feats[3]]))
        ref_lit, ref = layer(scenes, cams, feature="x")
        torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(lit, ref_lit, atol=1e-6, rtol=1e-6)
    # sorted ids need no reordering; a scene id may be a tensor; one camera for all scenes
    out = GraphToImage(20, mode="mesh")(batch, cams[0], feature="x", scene=torch.tensor([0, 0, 1, 1]))
    ref = GraphToImage(20, mode="mesh")(join_meshes_as_batch([join_meshes_as_scene(batch[0:2]),
                                                             join_meshes_as_scene(batch[2:4])]), cams[0],
                                        feature=torch.cat(feats))
    torch.testing.assert_close(out, ref)


def test_scene_and_lighting_bad_inputs():
    m, cams = _spheres(level=0), _cams()
    with pytest.raises(ValueError, match="shading"):
        GraphToImage(8, mode="mesh", shading="toon")
    with pytest.raises(ValueError, match="mode='mesh'"):
        GraphToImage(8, mode="points", shading="phong")
    with pytest.raises(ValueError, match="blend"):
        GraphToImage(8, mode="mesh", blend="over")
    with pytest.raises(ValueError, match="blend='alpha'"):
        GraphToImage(8, mode="mesh")(m, cams, alpha=0.5)
    with pytest.raises(ValueError, match="per face"):
        GraphToImage(8, mode="mesh", blend="alpha")(m, cams, alpha=torch.ones(5))
    with pytest.raises(ValueError, match="3 ids"):
        GraphToImage(8, mode="mesh")(m, cams, scene=[0, 1, 0])
    with pytest.raises(ValueError, match=">= 0"):
        GraphToImage(8, mode="mesh")(m, cams, scene=[0, -1])
    with pytest.raises(TypeError, match="scene"):
        GraphToImage(8, mode="mesh")(m, cams, scene=0.5)
    with pytest.raises(ValueError, match="scenes"):
        GraphToImage(8, mode="mesh")(m, _cams(2), scene=[2, 0])  # 3 scenes, 2 cameras
    with pytest.raises(ValueError, match="one camera"):
        GraphToImage(8, mode="mesh", shading="gouraud", scene=True)(m, cams)
    with pytest.raises(ValueError, match="3 \\(RGB\\) or 4"):
        GraphToImage(8, mode="mesh", shading="phong")(m, cams, color="latent")
