"""meshgraph.compat.pytorch3d.renderer: PyTorch3D's renderer interface on meshgraph's kernels, checked against
independent computations (explicit matrices, brute-force geometry) rather than against itself."""

import math

import pytest
import torch

from meshgraph.compat.pytorch3d.renderer import (
    AlphaCompositor,
    BlendParams,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    MeshRasterizer,
    MeshRenderer,
    NormWeightedCompositor,
    PerspectiveCameras,
    PointsRasterizationSettings,
    PointsRasterizer,
    PointsRenderer,
    RasterizationSettings,
    SoftSilhouetteShader,
    look_at_view_transform,
    rasterize_meshes,
    rasterize_points,
)
from meshgraph.compat.pytorch3d.structures import Meshes, Pointclouds
from meshgraph.compat.pytorch3d.transforms import Rotate, Scale, Transform3d, Translate, so3_exp_map
from meshgraph.render import VertexFeatureShader


def test_missing_names_are_absent():
    import meshgraph.compat.pytorch3d.renderer as r

    for name in ("SplatterPhongShader", "PulsarPointsRenderer", "FishEyeCameras"):
        assert not hasattr(r, name)


def test_transform3d_matches_explicit_matrices():
    g = torch.Generator().manual_seed(0)
    R = so3_exp_map(torch.randn(2, 3, generator=g))
    t = torch.randn(2, 3, generator=g)
    s = torch.rand(2, 3, generator=g) + 0.5
    p = torch.randn(2, 7, 3, generator=g)
    tr = Scale(s).compose(Rotate(R), Translate(t))
    expect = torch.bmm(p * s[:, None], R) + t[:, None]
    torch.testing.assert_close(tr.transform_points(p), expect)
    torch.testing.assert_close(tr.inverse().transform_points(expect), p, atol=1e-5, rtol=0)
    torch.testing.assert_close(tr.get_matrix()[:, 3, :3], t)
    assert isinstance(tr[1], Transform3d) and len(tr[1]) == 1
    # normals: inverse-transpose of the linear part
    n = torch.randn(2, 5, 3, generator=g)
    torch.testing.assert_close(tr.transform_normals(n), torch.bmm(n / s[:, None], R), atol=1e-5, rtol=0)
    # eps clamps the homogeneous coordinate keeping its sign
    persp = Transform3d(matrix=torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]))
    out = persp.transform_points(torch.tensor([[[2.0, 4.0, 1e-6]]]), eps=1e-2)
    torch.testing.assert_close(out, torch.tensor([[[200.0, 400.0, 1e-4]]]))


def test_camera_transforms_follow_the_pinhole_formulas():
    R, T = look_at_view_transform(2.5, 20.0, 30.0)
    p = torch.rand(1, 6, 3) - 0.5
    view = p @ R + T[:, None]
    fov = FoVPerspectiveCameras(R=R, T=T, fov=50.0, znear=0.5, zfar=9.0)
    assert isinstance(fov.get_world_to_view_transform(), Transform3d)
    torch.testing.assert_close(fov.get_world_to_view_transform().transform_points(p), view)
    s = 1 / math.tan(math.radians(25.0))
    ndc = fov.transform_points(p)
    torch.testing.assert_close(ndc[..., :2], s * view[..., :2] / view[..., 2:], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ndc[..., 2], 9.0 / 8.5 - 9.0 * 0.5 / (8.5 * view[..., 2]), atol=1e-5, rtol=1e-5)
    # screen-space pinhole: the principal point is in image pixels (+x right, +y down) while view x, y point left
    # and up, so screen = principal point - focal * (x / z, y / z)
    H, W = 40, 60
    cam = PerspectiveCameras(focal_length=((50.0, 55.0),), principal_point=((31.0, 18.0),), R=R, T=T,
                             in_ndc=False, image_size=((H, W),))
    screen = cam.transform_points_screen(p)
    x, y = view[..., 0] / view[..., 2], view[..., 1] / view[..., 2]
    torch.testing.assert_close(screen[..., 0], 31.0 - 50.0 * x, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(screen[..., 1], 18.0 - 55.0 * y, atol=1e-4, rtol=1e-5)
    unproj = cam.unproject_points(torch.cat([cam.transform_points(p)[..., :2], view[..., 2:]], -1))
    torch.testing.assert_close(unproj, p, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(cam.get_camera_center(), (-T[:, None] @ R.transpose(1, 2))[:, 0])
    c = cam.clone()
    assert c.R is not cam.R and torch.equal(c.R, cam.R) and c.in_ndc() is False
    assert fov.get_znear().item() == 0.5 and fov.is_perspective() and not FoVOrthographicCameras().is_perspective()


def _square(z=2.0):
    verts = torch.tensor([[-1.0, -1.0, z], [1.0, -1.0, z], [1.0, 1.0, z], [-1.0, 1.0, z]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    return verts, faces


def test_mesh_rasterizer_sees_a_square_where_the_projection_puts_it():
    verts, faces = _square()
    mesh = Meshes([verts], [faces])
    cam = FoVPerspectiveCameras(fov=90.0)  # R = I, T = 0: x_ndc = x / z
    rast = MeshRasterizer(cameras=cam, raster_settings=RasterizationSettings(image_size=16, faces_per_pixel=2))
    frags = rast(mesh)
    assert frags.pix_to_face.shape == (1, 16, 16, 2) and frags.bary_coords.shape == (1, 16, 16, 2, 3)
    # |x_ndc| = |y_ndc| = 0.5: pixel centres with |c| < 0.5, c = 1 - (2 i + 1) / 16, are covered, except those on
    # the shared diagonal x = y (i = j), inside neither face (PyTorch3D's strict inside test)
    covered = frags.pix_to_face[0, ..., 0] >= 0
    centres = 1 - (2 * torch.arange(16) + 1) / 16
    inside = centres.abs() < 0.5
    expect = inside[:, None] & inside[None, :] & ~torch.eye(16, dtype=torch.bool)
    assert torch.equal(covered, expect)
    torch.testing.assert_close(frags.zbuf[0, ..., 0][covered], torch.full((56,), 2.0))
    assert (frags.pix_to_face[0, ..., 1] == -1).all()
    # per-call overrides: a camera twice as far halves the square (4 x 4 pixels but the diagonal)
    far = rast(mesh, cameras=FoVPerspectiveCameras(fov=90.0, T=torch.tensor([[0.0, 0.0, 2.0]])))
    assert int((far.pix_to_face[..., 0] >= 0).sum()) == 12


def test_z_clip_returns_original_faces_and_barycentrics():
    # a big triangle crossing z = 0.5: with perspective correction the barycentrics refer to the original face,
    # so interpolating the original view depths with them gives the rasterized depth
    verts = torch.tensor([[-2.0, -1.0, 0.2], [2.0, -1.0, 3.0], [0.0, 2.0, 3.0], [0.0, -1.5, 4.0]])
    faces = torch.tensor([[0, 1, 2], [3, 2, 1]])
    cam = FoVPerspectiveCameras(fov=90.0, znear=1.0)
    settings = RasterizationSettings(image_size=24, faces_per_pixel=2, blur_radius=0.0)
    frags = MeshRasterizer(cameras=cam, raster_settings=settings)(Meshes([verts], [faces]))
    p2f, bary, zbuf = frags.pix_to_face, frags.bary_coords, frags.zbuf
    valid = p2f >= 0
    assert valid.any() and int(p2f.max()) <= 1
    z = verts[:, 2][faces[p2f.clamp_min(0)]]  # (..., 3) original vertex depths
    torch.testing.assert_close((bary * z).sum(-1)[valid], zbuf[valid], atol=1e-4, rtol=1e-4)
    assert bool((zbuf[valid] >= 0.5 - 1e-5).all())  # z_clip = znear / 2
    # without clipping, PyTorch3D's rule: a face with a vertex at z < 1e-8 is never drawn
    verts2 = verts.clone()
    verts2[0, 2] = -0.5
    raster = cam.transform_points(verts2[None])[0]
    raster = torch.cat([raster[:, :2], verts2[:, 2:]], 1)
    out = rasterize_meshes(Meshes([raster], [faces]), 24, faces_per_pixel=2, clip_barycentric_coords=True)
    assert not bool((out[0] == 0).any()) and bool((out[0] == 1).any())


def test_soft_silhouette_and_vertex_feature_shaders():
    verts, faces = _square()
    mesh = Meshes([verts], [faces])
    cam = FoVPerspectiveCameras(fov=90.0)
    sigma = 1e-4
    blur = math.log(1.0 / 1e-4 - 1.0) * sigma
    rast = MeshRasterizer(cameras=cam, raster_settings=RasterizationSettings(image_size=16, blur_radius=blur,
                                                                              faces_per_pixel=4))
    img = MeshRenderer(rast, SoftSilhouetteShader(BlendParams(sigma=sigma)))(mesh)
    assert img.shape == (1, 16, 16, 4)
    frags = rast(mesh)
    prob = torch.sigmoid(-frags.dists / sigma) * (frags.pix_to_face >= 0)
    torch.testing.assert_close(img[..., 3], 1 - (1 - prob).prod(-1))
    torch.testing.assert_close(img[..., :3], torch.ones(1, 16, 16, 3))
    feats = torch.tensor([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    hard = MeshRasterizer(cameras=cam, raster_settings=RasterizationSettings(image_size=16))
    out = MeshRenderer(hard, VertexFeatureShader(feats, BlendParams(background_color=(-1.0, -1.0))))(mesh)
    assert out.shape == (1, 16, 16, 3)
    covered = out[0, ..., 2] > 0
    # the feature is linear on the square (x -> f0, y -> 1 - f1 up to the NDC flip): check against the pixels
    c = 1 - (2 * torch.arange(16) + 1) / 16  # NDC of pixel centres (x left, y up)
    x_world, y_world = 2 * c[None, :].expand(16, 16), 2 * c[:, None].expand(16, 16)  # z = 2
    torch.testing.assert_close(out[0, ..., 0][covered], ((x_world + 1) / 2)[covered], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[0, ..., 1][covered], ((1 - y_world) / 2)[covered], atol=1e-5, rtol=0)
    assert bool((out[0, ..., :2][~covered] == -1).all())


def test_points_renderer_shapes_and_background():
    pts = torch.tensor([[0.0, 0.0, 2.0], [0.5, 0.5, 3.0]])
    cloud = Pointclouds([pts], features=[torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])])
    cam = FoVOrthographicCameras()
    settings = PointsRasterizationSettings(image_size=(12, 16), radius=0.2, points_per_pixel=2)
    rast = PointsRasterizer(cameras=cam, raster_settings=settings)
    frags = rast(cloud)
    assert frags.idx.shape == (1, 12, 16, 2) and frags.idx.dtype == torch.int32  # PyTorch3D's dtype
    img = PointsRenderer(rast, AlphaCompositor(background_color=(0.0, 0.0, 1.0)))(cloud)
    assert img.shape == (1, 12, 16, 3)
    empty = frags.idx[..., 0] < 0
    assert bool(empty.any()) and bool((img[empty] == torch.tensor([0.0, 0.0, 1.0])).all())
    # alpha = 1 - d^2 / r^2 composited front to back: where only the first point covers, red = alpha
    only0 = (frags.idx[..., 0] == 0) & (frags.idx[..., 1] < 0)
    torch.testing.assert_close(img[..., 0][only0], (1 - frags.dists[..., 0] / 0.04)[only0])
    # RGB background with RGBA features: alpha 1 appended; wrong widths raise
    rgba = Pointclouds([pts], features=[torch.rand(2, 4)])
    out = PointsRenderer(rast, NormWeightedCompositor(background_color=(0.2, 0.3, 0.4)))(rgba)
    torch.testing.assert_close(out[empty], torch.tensor([0.2, 0.3, 0.4, 1.0]).expand(int(empty.sum()), 4))
    with pytest.raises(ValueError, match="channels"):
        PointsRenderer(rast, AlphaCompositor(background_color=(0.0, 1.0)))(rgba)
    # the functional form takes the structure and PyTorch3D's (N, P) padded radii
    idx = rasterize_points(Pointclouds([pts]), 8, radius=torch.tensor([[0.3, 0.0]]), points_per_pixel=1)[0]
    assert bool((idx == 0).any()) and not bool((idx == 1).any())


def test_python_rasterizers_agree_with_the_kernels():
    from meshgraph.compat.pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes_python
    from meshgraph.compat.pytorch3d.renderer.points.rasterize_points import rasterize_points_python

    g = torch.Generator().manual_seed(3)
    verts = torch.rand(12, 3, generator=g) * 2.4 - 1.2
    verts[:, 2] = torch.rand(12, generator=g) * 2 - 0.2  # some behind z_clip_value
    faces = torch.randint(0, 12, (10, 3), generator=g)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    mesh = Meshes([verts], [faces])
    for kw in ({"z_clip_value": 0.3, "cull_to_frustum": True, "perspective_correct": True},
               {"blur_radius": 0.01, "clip_barycentric_coords": True}):
        a = rasterize_meshes(mesh, 10, faces_per_pixel=3, **kw)
        b = rasterize_meshes_python(mesh, 10, faces_per_pixel=3, **{"cull_to_frustum": False, **kw})
        assert torch.equal(a[0], b[0])
        for x, y in zip(a[1:], b[1:]):
            torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)
    cloud = Pointclouds([verts])
    a = rasterize_points(cloud, 10, 0.2, 2)
    b = rasterize_points_python(cloud, 10, 0.2, 2)
    assert torch.equal(a[0], b[0])
    torch.testing.assert_close(a[2], b[2])


def test_barycentric_clip_and_zbuf_helpers():
    from meshgraph.compat.pytorch3d.renderer.mesh.utils import _clip_barycentric_coordinates, _interpolate_zbuf

    bary = torch.tensor([[0.5, -0.25, 0.75], [-1.0, -1.0, -1.0], [-0.1, -0.2, 1.3]])
    torch.testing.assert_close(_clip_barycentric_coordinates(bary),
                               torch.tensor([[0.4, 0.0, 0.6], [-1.0, -1.0, -1.0], [0.0, 0.0, 1.0]]))
    verts, faces = _square(z=2.0)
    verts[2, 2] = 4.0
    mesh = Meshes([verts], [faces])
    p2f = torch.tensor([[[[0, -1]]]])
    b = torch.tensor([[[[[0.25, 0.25, 0.5], [-1.0, -1.0, -1.0]]]]])
    torch.testing.assert_close(_interpolate_zbuf(p2f, b, mesh), torch.tensor([[[[3.0, -1.0]]]]))


def test_mesh_rasterizer_gradients_reach_the_vertices():
    verts, faces = _square(z=2.0)
    verts = verts.requires_grad_(True)
    cam = FoVOrthographicCameras()  # orthographic: zbuf = sum_i b_i z_i with b independent of z
    frags = MeshRasterizer(cameras=cam, raster_settings=RasterizationSettings(image_size=12))(Meshes([verts], [faces]))
    valid = frags.pix_to_face >= 0
    frags.zbuf[valid].sum().backward()
    # d/dz_v of sum over slots of sum_i b_i z_(face i) = the barycentric weight the slots give vertex v
    b = frags.bary_coords.detach()[valid]
    v = faces[frags.pix_to_face[valid]]
    expect = torch.zeros(4).index_add_(0, v.reshape(-1), b.reshape(-1))
    torch.testing.assert_close(verts.grad[:, 2], expect, atol=1e-4, rtol=1e-5)
    # silhouette through the renderer: a loss on the soft alpha moves x, y too
    verts.grad = None
    sil = MeshRenderer(MeshRasterizer(cameras=cam, raster_settings=RasterizationSettings(
        image_size=12, blur_radius=1e-3, faces_per_pixel=4)), SoftSilhouetteShader(BlendParams(sigma=1e-3)))
    sil(Meshes([verts], [faces]), cameras=cam)[..., 3].sum().backward()
    assert verts.grad[:, :2].abs().sum() > 0


def test_ndc_grid_sample_reads_the_pixel_under_an_ndc_point():
    from meshgraph.compat.pytorch3d.renderer import ndc_grid_sample

    H, W = 6, 10
    img = torch.arange(H * W, dtype=torch.float32).reshape(1, 1, H, W)
    # pixel (y, x) has its centre at NDC (x_ndc, y_ndc) = (s - (2 x + 1) / H, 1 - (2 y + 1) / H), s = W / H
    ys, xs = torch.tensor([0, 2, 5]), torch.tensor([0, 7, 9])
    ndc = torch.stack([W / H - (2 * xs + 1) / H, 1 - (2 * ys + 1) / H], -1)[None]
    out = ndc_grid_sample(img, ndc)
    torch.testing.assert_close(out[0, 0], (ys * W + xs).float())


def test_tensor_properties_broadcast_index_and_gather():
    from meshgraph.compat.pytorch3d.renderer import TensorProperties

    t = TensorProperties(color=torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), power=2.0, name="x")
    assert len(t) == 2 and t.power.shape == (2,) and t.name == "x"
    torch.testing.assert_close(t[1].color, torch.tensor([0.0, 1.0, 0.0]))
    t[0].color = (0.0, 0.0, 1.0)  # writes through the accessor
    t.gather_props(torch.tensor([1, 1, 0]))  # per-item values spread to 3 elements
    torch.testing.assert_close(t.color, torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="non-broadcastable"):
        TensorProperties(a=torch.rand(2), b=torch.rand(3))


def test_rasterizers_take_graph_batches_and_transform_to_raster_space():
    from meshgraph import GraphBatch

    verts, faces = _square()
    cam = FoVPerspectiveCameras(fov=90.0)
    rast = MeshRasterizer(cameras=cam, raster_settings=RasterizationSettings(image_size=16))
    g = GraphBatch.from_meshes([verts], [faces])
    assert torch.equal(rast(g).pix_to_face, rast(Meshes([verts], [faces])).pix_to_face)
    expect = torch.cat([verts[:, :2] / 2, verts[:, 2:]], 1)  # x / z, y / z (fov 90) and the view depth
    torch.testing.assert_close(rast.transform(Meshes([verts], [faces])).verts_packed(), expect)
    torch.testing.assert_close(rast.transform(g).pos_packed(), expect)
    prast = PointsRasterizer(cameras=cam, raster_settings=PointsRasterizationSettings(image_size=16, radius=0.2))
    torch.testing.assert_close(prast.transform(Pointclouds([verts])).points_packed(), expect)
    assert torch.equal(prast(GraphBatch.from_pointclouds([verts])).idx, prast(Pointclouds([verts])).idx)


class _PeerMeshes:
    """The part of PyTorch3D's own Meshes / Pointclouds interface the rasterizers read (not a GraphBatch)."""

    def __init__(self, verts, faces):
        self.v, self.f = verts, faces

    def __len__(self):
        return 1

    def verts_packed(self):
        return self.v

    def faces_packed(self):
        return self.f

    def num_verts_per_mesh(self):
        return torch.tensor([self.v.shape[0]])

    def num_faces_per_mesh(self):
        return torch.tensor([self.f.shape[0]])

    def mesh_to_faces_packed_first_idx(self):
        return torch.tensor([0])

    points_packed = verts_packed
    num_points_per_cloud = num_verts_per_mesh

    def cloud_to_packed_first_idx(self):
        return torch.tensor([0])


def test_peer_structures_are_duck_typed():
    verts, faces = _square()
    peer, ours = _PeerMeshes(verts, faces), Meshes([verts], [faces])
    cam = FoVPerspectiveCameras(fov=90.0)
    rast = MeshRasterizer(cameras=cam, raster_settings=RasterizationSettings(image_size=10, faces_per_pixel=2))
    a, b = rast(peer), rast(ours)
    assert torch.equal(a.pix_to_face, b.pix_to_face) and torch.equal(a.bary_coords, b.bary_coords)
    raster = torch.cat([verts[:, :2] / 2, verts[:, 2:]], 1)
    assert torch.equal(rasterize_meshes(_PeerMeshes(raster, faces), 10)[0], rasterize_meshes(Meshes([raster], [faces]), 10)[0])
    assert torch.equal(rasterize_points(_PeerMeshes(raster, faces), 10, 0.3)[0], rasterize_points(Pointclouds([raster]), 10, 0.3)[0])
