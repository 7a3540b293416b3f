"""meshgraph.render cameras, clipping, blending, PNG I/O and the GraphToImage layer."""

import math

import numpy as np
import pytest
import torch

import meshgraph as mg
from meshgraph.nn import GraphToImage
from meshgraph.ops.composite_points import composite_points
from meshgraph.render import (
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    clip_faces_near,
    hard_blend,
    look_at_view_transform,
    rasterize_meshes,
    rasterize_points,
    read_png,
    save_png,
    softmax_blend,
)


def test_look_at_view_transform_invariants():
    R, T = look_at_view_transform(dist=[2.7, 3.0], elev=[10.0, -20.0], azim=[20.0, 200.0])
    assert R.shape == (2, 3, 3) and T.shape == (2, 3)
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3).expand(2, 3, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(2))
    cam = FoVPerspectiveCameras(R=R, T=T)
    # the camera centre is where the spherical angles say (PyTorch3D: azimuth 0 looks from +z)
    e, a = math.radians(10.0), math.radians(20.0)
    expect = 2.7 * torch.tensor([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
    torch.testing.assert_close(cam.get_camera_center()[0], expect, atol=1e-5, rtol=0)
    # the look-at point projects to the image centre at depth dist
    view = cam.transform_points_view(torch.zeros(2, 1, 3))
    torch.testing.assert_close(view[:, 0], torch.tensor([[0, 0, 2.7], [0, 0, 3.0]]), atol=1e-5, rtol=0)
    ndc = cam.transform_points_ndc(torch.zeros(2, 1, 3))
    torch.testing.assert_close(ndc[..., :2], torch.zeros(2, 1, 2), atol=1e-6, rtol=0)


def test_projections_follow_pytorch3d_formulas():
    cam = FoVPerspectiveCameras(fov=90.0, znear=1.0, zfar=10.0)
    # with R = I, T = 0: a point at 45 degrees off-axis lands on the NDC border; +x in view is +x in NDC
    p = torch.tensor([[[2.0, 0.0, 2.0], [0.0, -3.0, 3.0], [0.0, 0.0, 1.0], [0.0, 0.0, 10.0]]])
    ndc = cam.transform_points_ndc(p)[0]
    torch.testing.assert_close(ndc[:2, :2], torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
    torch.testing.assert_close(ndc[2:, 2], torch.tensor([0.0, 1.0]))  # znear -> 0, zfar -> 1
    # orthographic ones
    torch.testing.assert_close(OrthographicCameras(focal_length=2.0).transform_points_ndc(p)[0, :, :2], 2 * p[0, :, :2])
    fo = FoVOrthographicCameras(max_x=2.0, min_x=-2.0, max_y=2.0, min_y=-2.0).transform_points_ndc(p)[0, :, :2]
    torch.testing.assert_close(fo, p[0, :, :2] / 2)
    # screen-space intrinsics equal the NDC ones they convert to
    s = PerspectiveCameras(focal_length=((64.0, 64.0),), principal_point=((40.0, 32.0),), in_ndc=False, image_size=((64, 80),))
    n = PerspectiveCameras(focal_length=2.0, principal_point=((0.0, 0.0),))
    torch.testing.assert_close(s.transform_points_ndc(p), n.transform_points_ndc(p))


@pytest.mark.parametrize("H,W", [(32, 32), (24, 40), (40, 24)])
def test_projection_puts_each_point_on_its_pixel(H, W):
    """Seeded points built, with the pinhole formulas written out here (not the library's), to project onto chosen
    pixel centres: the screen transform must return those centres and the depth, and the rasterizer must draw each
    point at exactly its pixel (radius below half a pixel, so no other pixel centre is covered)."""
    g = torch.Generator().manual_seed(0)
    R, T = look_at_view_transform(2.5, 20.0, -35.0)
    fov = 50.0
    cam = FoVPerspectiveCameras(R=R, T=T, fov=fov)
    P, S = 40, min(H, W)
    pix = torch.randperm(H * W, generator=g)[:P]
    i, j = pix // W, pix % W  # row (top = 0), column (left = 0)
    z = torch.rand(P, generator=g, dtype=torch.float64) * 2 + 1.5
    # NDC +x left, +y up, the shorter side spanning [-1, 1]: the centre of pixel (i, j) is at
    ndc_x, ndc_y = (W - 2 * j - 1) / S, (H - 2 * i - 1) / S
    t = math.tan(math.radians(fov) / 2)
    view = torch.stack([ndc_x * z * t, ndc_y * z * t, z], 1)  # view = world @ R + T
    world = ((view - T[0].double()) @ R[0].double().T).float()
    screen = cam.transform_points_screen(world[None], image_size=(H, W))[0]
    torch.testing.assert_close(screen[:, 0], (j + 0.5).float(), atol=2e-3, rtol=0)
    torch.testing.assert_close(screen[:, 1], (i + 0.5).float(), atol=2e-3, rtol=0)
    raster = cam.transform_points_raster(world[None])[0]
    torch.testing.assert_close(raster[:, 2], z.float(), atol=1e-4, rtol=1e-5)
    idx = rasterize_points(raster[None], (H, W), radius=0.4 / S, points_per_pixel=1)[0][0, ..., 0]
    expect = torch.full((H, W), -1, dtype=torch.int64)
    expect[i, j] = torch.arange(P)
    assert torch.equal(idx, expect)


def test_clip_faces_near_keeps_the_front_part():
    verts = torch.tensor([[0.0, 0.0, -1.0], [1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 2.0], [1.0, 1.0, -2.0],
                          [-1.0, 0.0, -3.0]])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5], [1, 2, 3], [0, 4, 5]])  # one behind, two behind, in front, all behind
    feats = verts[:, 2:] * 10
    v, f, x, origin = clip_faces_near(verts, faces, 0.5, feats)
    assert (v[f][..., 2] >= 0.5 - 1e-6).all()
    assert sorted(origin.tolist()) == [0, 0, 1, 2]
    torch.testing.assert_close(x[:, 0], v[:, 2] * 10)  # features follow the new vertices linearly
    # winding is preserved: normals of the pieces point like the original face's
    def normal(t):
        return torch.linalg.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    n_in, n_out = normal(verts[faces]), normal(v[f])
    assert ((n_out * n_in[origin]).sum(1) > 0).all()


def test_split_faces_near_matches_the_clip():
    """The fixed-size split: every output vertex is its weights times the input face's vertices, all in front of
    the plane, the same area as clip_faces_near's pieces, winding kept, unused rows the zero-area face."""
    torch.manual_seed(3)
    verts = torch.randn(40, 3, dtype=torch.float64)
    faces = torch.randint(0, 40, (60, 3))
    v, f, w = mg.render.clip.split_faces_near(verts, faces, 0.2)
    assert v.shape == (40 + 120, 3) and f.shape == (120, 3) and w.shape == (120, 3, 3)
    used = (f != 0).any(1)
    pieces = v[f[used]]
    torch.testing.assert_close(pieces, w[used] @ verts[faces].repeat_interleave(2, 0)[used])
    assert (pieces[..., 2] >= 0.2 - 1e-12).all()
    torch.testing.assert_close(w[used].sum(-1), torch.ones(int(used.sum()), 3, dtype=torch.float64))

    def normal(t):
        return torch.linalg.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])

    vc, fc, _, origin = clip_faces_near(verts, faces, 0.2)
    torch.testing.assert_close(normal(pieces).norm(dim=1).sum(), normal(vc[fc]).norm(dim=1).sum())
    src = torch.arange(120)[used] // 2
    assert ((normal(pieces) * normal(verts[faces])[src]).sum(1) >= 0).all()  # 0: faces repeating a vertex
    assert sorted(src.tolist()) == sorted(origin.tolist())


@pytest.mark.parametrize("blend", ["hard", "softmax"])
def test_graph_to_image_near_clip_equals_rendering_the_clipped_mesh(blend):
    """A mesh crossing the near plane, rendered by GraphToImage (fixed-size split, barycentrics mapped back), equals
    the render of the mesh clipped beforehand (clip_faces_near, features interpolated on the new vertices) with
    clipping off. The camera is the identity, so view space is world space."""
    torch.manual_seed(4)
    verts = torch.rand(30, 3) * torch.tensor([2.0, 2.0, 2.5]) - torch.tensor([1.0, 1.0, 0.3])  # z in [-0.3, 2.2]
    faces = torch.randint(0, 30, (40, 3))
    feats = torch.randn(30, 5)
    cams = FoVPerspectiveCameras(fov=90.0, znear=0.1, zfar=5.0)
    blur = 1e-4 if blend == "softmax" else 0.0
    kw = dict(mode="mesh", blend=blend, blur_radius=blur, faces_per_pixel=6, perspective_correct=True)
    g = mg.GraphBatch.from_meshes([verts], [faces])
    z = 0.25
    assert ((verts[faces][..., 2] < z).any(1) & (verts[faces][..., 2] >= z).any(1)).sum() > 5  # faces cross it
    out = GraphToImage((24, 20), z_clip_value=z, **kw)(g, cams, feats)
    vc, fc, xc, _ = clip_faces_near(verts, faces, z, feats)
    ref = GraphToImage((24, 20), z_clip_value=None, **kw)(mg.GraphBatch.from_meshes([vc], [fc]), cams, xc)
    if blend == "hard":
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    else:  # both pieces of a split quad may reach a pixel in either order: compare where the renders agree to 1e-3
        assert ((out - ref).abs() < 1e-3).float().mean() > 0.97


def test_png_round_trip(tmp_path):
    img = torch.rand(3, 7, 9)
    path = save_png(img, tmp_path / "a.png")
    back = read_png(path)
    assert back.shape == (7, 9, 3)
    assert np.abs(back.astype(np.float32) / 255 - img.permute(1, 2, 0).numpy()).max() <= 0.5 / 255 + 1e-6
    grey = read_png(save_png(torch.rand(1, 5, 4) * 10, tmp_path / "g.png", value_range=None))
    assert grey.shape == (5, 4) and grey.max() == 255 and grey.min() == 0
    with pytest.raises(ValueError, match="image"):
        save_png(torch.rand(2, 5, 5), tmp_path / "bad.png")


def _cow(shared_data):
    from meshgraph.io import load_mesh

    return mg.GraphBatch([load_mesh(shared_data / "cow.obj")])


def test_graph_to_image_points_matches_its_parts(shared_data):
    g = _cow(shared_data)
    R, T = look_at_view_transform(2.7, 15.0, 30.0)
    cam = FoVPerspectiveCameras(R=R, T=T)
    feats = torch.rand(g.num_verts, 5)
    layer = GraphToImage((40, 48), mode="points", radius=0.03, points_per_pixel=4, background=0.25)
    img = layer(g, cam, feature=feats)
    raster = cam.transform_points_raster(g.pos_packed()[None])[0]
    idx, _, dists = rasterize_points(raster[None], (40, 48), radius=0.03, points_per_pixel=4)
    expect = composite_points(feats, torch.where(idx >= 0, 1 - dists / 0.03**2, 0), idx, "alpha", 0.25)
    torch.testing.assert_close(img, expect)


def test_graph_to_image_batches_and_gradients(shared_data):
    cow = _cow(shared_data)
    g = mg.GraphBatch.collate([cow, cow])
    R, T = look_at_view_transform([2.7, 3.5], [15.0, 0.0], [30.0, 150.0])
    cam = FoVPerspectiveCameras(R=R, T=T)
    for mode in ("points", "mesh"):
        layer = GraphToImage(32, mode=mode, radius=0.03)
        pos = g.pos_packed().detach().clone().requires_grad_(True)
        feats = torch.rand(g.num_verts, 3, requires_grad=True)
        img = layer(g.update_features("pos", pos), cam, feature=feats)
        assert img.shape == (2, 3, 32, 32)
        # each image equals rendering that graph alone with its camera
        single = layer(cow, cam[1], feature=feats[cow.num_verts:])
        torch.testing.assert_close(img[1:], single)
        img.square().sum().backward()
        assert pos.grad.abs().sum() > 0 and feats.grad.abs().sum() > 0


def test_graph_to_image_gradcheck():
    verts = torch.tensor([[-0.5, -0.5, 0.0], [0.5, -0.4, 0.1], [0.0, 0.6, -0.1], [0.3, 0.3, 0.2]], dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    cam = FoVPerspectiveCameras(R=torch.eye(3, dtype=torch.float64)[None], T=torch.tensor([[0.0, 0.0, 2.5]]))
    feats = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
    pos = verts.clone().requires_grad_(True)
    soft = GraphToImage(6, mode="mesh", faces_per_pixel=2, blur_radius=0.01, blend="softmax", sigma=1e-2, gamma=1e-1)
    pts = GraphToImage(6, mode="points", radius=0.3, points_per_pixel=3, compositor="norm_weighted")

    def render(layer):
        def f(p, x):
            g = mg.GraphBatch.from_meshes([p], [faces])
            return layer(g, cam, feature=x)
        return f

    assert torch.autograd.gradcheck(render(pts), (pos, feats))
    assert torch.autograd.gradcheck(render(soft), (pos, feats), atol=1e-5)


def test_mesh_mode_hard_matches_rasterizer_and_clipping(shared_data):
    g = _cow(shared_data)
    R, T = look_at_view_transform(2.7, 15.0, 30.0)
    cam = FoVPerspectiveCameras(R=R, T=T)
    sil = GraphToImage(48, mode="mesh")(g, cam)
    raster = cam.transform_points_raster(g.pos_packed()[None])[0]
    p2f = rasterize_meshes(mg.GraphBatch.from_meshes([raster], [g.faces_packed()]), 48, faces_per_pixel=1,
                           perspective_correct=True)[0]
    assert torch.equal(sil[0, 0] > 0, p2f[0, ..., 0] >= 0)
    # a camera inside the cow: faces behind it are clipped, nothing is drawn from behind the camera
    R, T = look_at_view_transform(0.05, 0.0, 0.0)
    close = GraphToImage(32, mode="mesh")(g, FoVPerspectiveCameras(R=R, T=T), feature=g.pos_packed())
    assert torch.isfinite(close).all()


def test_softmax_blend_tends_to_hard():
    g = torch.Generator().manual_seed(0)
    feats = torch.rand(1, 4, 4, 3, 2, generator=g)
    p2f = torch.tensor([0, 1, -1]).expand(1, 4, 4, 3).contiguous()
    zbuf = torch.tensor([1.0, 2.0, -1.0]).expand(1, 4, 4, 3)
    dists = torch.tensor([-0.5, -0.5, -1.0]).expand(1, 4, 4, 3)
    soft = softmax_blend(feats, p2f, zbuf, dists, sigma=1e-4, gamma=1e-4)
    torch.testing.assert_close(soft, hard_blend(feats, p2f), atol=1e-4, rtol=0)


def test_graph_to_image_bad_inputs(shared_data):
    g = _cow(shared_data)
    cam = FoVPerspectiveCameras(R=torch.eye(3)[None].expand(3, 3, 3), T=torch.tensor([[0.0, 0, 3]]).expand(3, 3))
    with pytest.raises(ValueError, match="mode"):
        GraphToImage(8, mode="voxels")
    with pytest.raises(ValueError, match="compositor"):
        GraphToImage(8, compositor="over")
    with pytest.raises(ValueError, match="image_size"):
        GraphToImage(0)
    with pytest.raises(ValueError, match="views"):
        GraphToImage(8)(g, cam)
    with pytest.raises(ValueError, match="rows"):
        GraphToImage(8)(g, cam[0], feature=torch.rand(3, 2))
    with pytest.raises(ValueError, match="faces"):
        GraphToImage(8, mode="mesh")(mg.GraphBatch.from_pointclouds([torch.rand(5, 3)]), cam[0])
    with pytest.raises(TypeError, match="cameras"):
        GraphToImage(8)(g, "camera")


def test_point_rendering_compiles_fullgraph():
    R, T = look_at_view_transform(2.7, 10.0, 20.0)
    cam = FoVPerspectiveCameras(R=R, T=T)
    g = torch.Generator().manual_seed(0)
    pts, feats = torch.rand(300, 3, generator=g) - 0.5, torch.rand(300, 8, generator=g)

    def f(p, x):
        raster = cam.transform_points_raster(p[None])
        idx, _, d = rasterize_points(raster, 24, radius=0.05, points_per_pixel=4)
        return composite_points(x, torch.where(idx >= 0, 1 - d / 0.05**2, 0), idx, "alpha", 0.0)

    torch.testing.assert_close(torch.compile(f, fullgraph=True)(pts, feats), f(pts, feats))
    layer = GraphToImage(24, radius=0.05)
    batch = mg.GraphBatch.from_pointclouds([pts])
    compiled = torch.compile(lambda gb, x: layer(gb, cam, feature=x))
    torch.testing.assert_close(compiled(batch, feats), layer(batch, cam, feature=feats))
    torch._dynamo.reset()


def test_graph_to_image_per_point_radius():
    g = torch.Generator().manual_seed(1)
    pts = torch.rand(200, 3, generator=g) - 0.5
    r = torch.rand(200, generator=g) * 0.05 + 0.01
    batch = mg.GraphBatch.from_pointclouds([pts], size=[r])
    R, T = look_at_view_transform(2.0, 0.0, 0.0)
    cam = FoVPerspectiveCameras(R=R, T=T)
    feats = torch.rand(200, 3, generator=g)
    a = GraphToImage(20, radius="size")(batch, cam, feature=feats)
    b = GraphToImage(20, radius=r)(batch, cam, feature=feats)
    torch.testing.assert_close(a, b)
    raster = cam.transform_points_raster(pts[None])[0]
    idx, _, d = rasterize_points(raster[None], 20, radius=r, points_per_pixel=8)
    expect = composite_points(feats, torch.where(idx >= 0, 1 - d / r.square()[idx.clamp_min(0)], 0), idx, "alpha")
    torch.testing.assert_close(a, expect)
    with pytest.raises(ValueError, match="radius"):
        GraphToImage(20, radius=r[:5])(batch, cam)
    with pytest.raises(TypeError, match="radius"):
        GraphToImage(20, radius=[0.1])
