"""rasterize_meshes / rasterize_meshes_backward: exact vs the brute-force reference for every flag combination
and bin size, PyTorch3D conventions, the cow's silhouette and depth against an independent computation,
gradients (float64 gradcheck, second order), opcheck, compile, bad input."""

import itertools
from pathlib import Path

import pytest
import torch
from _raster_ties import FLOAT_DTYPES, TOL, assert_tie_aware_selection, decision_eps

from meshgraph import GraphBatch
from meshgraph.ops import reference as ref
from meshgraph.ops.rasterize_meshes import interpolate_face_attributes, rasterize_face_verts, rasterize_meshes
from meshgraph.ops.reference.render import face_fragments, mesh_slot_fragments, pixel_centers
from meshgraph.render import FoVPerspectiveCameras, look_at_view_transform


def _unique_faces(f):
    """Drop faces that repeat another's vertex set (coincident triangles tie in depth to the last bit)."""
    key = f.sort(1).values
    _, inv = torch.unique(key, dim=0, return_inverse=True)
    first = torch.full((int(inv.max()) + 1,), f.shape[0]).scatter_reduce(0, inv, torch.arange(f.shape[0]), "amin")
    return f[first.sort().values]


def _scene(device, dtype=torch.float32, seed=0, front=False):
    g = torch.Generator().manual_seed(seed)
    v = torch.rand(30, 3, generator=g, dtype=dtype) * 2.4 - 1.2
    # some vertices behind the camera, unless front=True (perspective correction is ill-conditioned there, too
    # steep for finite differences)
    v[:, 2] = torch.rand(30, generator=g, dtype=dtype) * 2 + (0.5 if front else -0.3)
    f = _unique_faces(torch.randint(0, 30, (40, 3), generator=g))
    f[0] = torch.tensor([0, 0, 1])  # degenerate face: never drawn
    v2 = torch.rand(10, 3, generator=g, dtype=dtype) * 2 - 1
    v2[:, 2] += 1.5
    f2 = _unique_faces(torch.randint(0, 10, (12, 3), generator=g))
    v3 = torch.zeros(3, 3, dtype=dtype)
    f3 = torch.zeros(0, 3, dtype=torch.int64)  # a mesh without faces
    return [x.to(device) for x in (v, v3, v2)], [x.to(device) for x in (f, f3, f2)]


def _ref(verts, faces, H, W, *args, wrapper=True):
    """The reference; wrapper=True: of the rasterize_meshes wrapper, which never draws a face with a vertex at
    z < 1e-8 (PyTorch3D's rule), else of the kernel itself (which clips per pixel at depth 0)."""
    fv = torch.cat([v[f] for v, f in zip(verts, faces)])
    if wrapper:
        fv = torch.where(fv[:, :, 2].amin(1)[:, None, None] >= 1e-8, fv, float("nan"))
    size = torch.tensor([f.shape[0] for f in faces], device=fv.device)
    return ref.rasterize_meshes(fv, size.cumsum(0) - size, size, H, W, *args)


@pytest.mark.parametrize("persp,clip", [(False, False), (True, True)])
def test_kernel_matches_reference_with_faces_behind_the_camera(device, persp, clip):
    verts, faces = _scene(device)
    fv = torch.cat([v[f] for v, f in zip(verts, faces)])
    size = torch.tensor([f.shape[0] for f in faces], device=fv.device)
    args = (fv, size.cumsum(0) - size, size, 12, 15, 0.01, 4)
    expect = ref.rasterize_meshes(*args, 0, persp, clip, False)
    out = torch.ops.meshgraph.rasterize_meshes(*args, 0, persp, clip, False)
    assert torch.equal(out[0], expect[0])
    for a, b in zip(out[1:], expect[1:]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_faces_with_a_vertex_behind_the_camera_are_never_drawn(device):
    # PyTorch3D's kernels skip a face whole when a vertex has z < 1e-8, clip_barycentric_coords or not; the front
    # part of this face covers the image centre and would be drawn otherwise
    verts = torch.tensor([[-1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 3.0, -1.0]], device=device)
    faces = torch.tensor([[0, 1, 2]], device=device)
    for clip in (False, True):
        p2f = rasterize_meshes(([verts], [faces]), 8, faces_per_pixel=1, clip_barycentric_coords=clip)[0]
        assert (p2f == -1).all()
        kernel = torch.ops.meshgraph.rasterize_meshes(verts[faces], torch.tensor([0], device=device),
                                                      torch.tensor([1], device=device), 8, 8, 0.0, 1, 0, False,
                                                      clip, False)[0]
        assert (kernel[0, 4, 4] == 0).item()  # the kernel alone draws the front part


FLAGS = list(itertools.product([0.0, 0.01], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("hw", [(16, 16), (10, 17)])
@pytest.mark.parametrize("blur,persp,clip,cull", FLAGS)
def test_matches_reference(device, hw, blur, persp, clip, cull):
    verts, faces = _scene(device)
    expect = _ref(verts, faces, *hw, blur, 4, 0, persp, clip, cull)
    for bin_size in (None, 0, 3):
        out = rasterize_meshes((verts, faces), hw, blur_radius=blur, faces_per_pixel=4, bin_size=bin_size,
                               perspective_correct=persp, clip_barycentric_coords=clip, cull_backfaces=cull)
        assert torch.equal(out[0], expect[0])
        for a, b in zip(out[1:], expect[1:]):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def _candidates(fv, first, size, H, W, blur, persp, clip, eps):
    """Per (image, pixel, face), float64: depth key, and hits by more than eps (strict) / up to eps (loose) of every
    threshold the kernel decides on (bounding box, inside, blur distance, depth >= 0)."""
    ys, xs = pixel_centers(H, W, torch.float64, fv.device)
    px, py = xs[None, :, None], ys[:, None, None]
    A, _, pz, d, inside = face_fragments(fv[None, None], px, py, persp, clip)  # (H, W, F)
    w = face_fragments(fv[None, None], px, py, persp, False)[1]  # unclipped barycentrics: the inside test
    finite = fv.isfinite().flatten(1).all(1)
    m = blur**0.5
    lo, hi = fv[..., :2].amin(1), fv[..., :2].amax(1)
    gap = torch.stack(torch.broadcast_tensors(px - lo[:, 0] + m, hi[:, 0] + m - px, py - lo[:, 1] + m,
                                              hi[:, 1] + m - py), -1).amin(-1)
    face_ok = finite & (A.abs() > 1e-8)
    inside_margin = w.amin(-1)  # > 0: inside
    blur_margin = blur - d if blur > 0 else torch.full_like(d, -torch.inf)  # > 0: within the blur radius

    def hit(e):  # every signed margin beyond e (e > 0: clearly a hit; e < 0: a hit up to rounding)
        return face_ok & (gap >= e) & (pz >= e) & ((inside_margin > e) | (blur_margin > e))

    fid = torch.arange(fv.shape[0], device=fv.device)
    member = ((fid >= first[:, None]) & (fid < (first + size)[:, None]))[:, None, None]  # (N, 1, 1, F)
    assert torch.equal(member & hit(0.0), member & face_ok & (gap >= 0) & (pz >= 0) & (inside | (d < blur)))
    strict, loose = member & hit(eps), member & hit(-eps)
    return pz.nan_to_num(0.0, 0.0, 0.0).expand_as(strict), strict, loose


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("blur,persp,clip", [(0.0, False, False), (0.0, True, False), (0.01, True, True), (0.01, False, False)])
def test_every_float_dtype_against_the_float64_reference(device, dtype, blur, persp, clip):
    """float16 / bfloat16 / float32 / float64 face vertices (computed in float32 or float64, outputs in their dtype)
    against the float64 definition on the same rounded inputs: pix_to_face is the reference's up to genuine near-ties
    (tie-aware: see _raster_ties), zbuf / bary / dists at the chosen faces and the gradients agree to the dtype's
    rounding."""
    verts, faces = _scene(device, front=persp)
    fv = torch.cat([v[f] for v, f in zip(verts, faces)]).to(dtype)
    size = torch.tensor([f.shape[0] for f in faces], device=device)
    first = size.cumsum(0) - size
    N, F, H, W, K = 3, fv.shape[0], 16, 13, 4
    fv64 = fv.double()
    fv64 = torch.where(fv64[:, :, 2].amin(1)[:, None, None] >= 1e-8, fv64, float("nan"))  # the wrapper's rule
    eps = decision_eps(dtype)
    key, strict, loose = _candidates(fv64, first, size, H, W, blur, persp, clip, eps)
    for bin_size in (None, 0, 3):
        p2f, zbuf, bary, dists = rasterize_face_verts(fv, first, size, (H, W), blur, K, bin_size, persp, clip)
        assert p2f.dtype == torch.int64 and zbuf.dtype == bary.dtype == dists.dtype == dtype
        assert_tie_aware_selection(p2f.reshape(-1, K), key.reshape(-1, F), strict.reshape(-1, F), loose.reshape(-1, F), eps)
        valid = p2f >= 0
        z, b, d = mesh_slot_fragments(fv64, p2f, persp, clip)
        torch.testing.assert_close(zbuf.double(), torch.where(valid, z, -1), **TOL[dtype])
        torch.testing.assert_close(bary.double(), torch.where(valid[..., None], b, -1), **TOL[dtype])
        torch.testing.assert_close(dists.double(), torch.where(valid, d, -1), **TOL[dtype])
        assert valid.sum() > 100
    g = torch.Generator().manual_seed(7)
    gz, gd = (torch.randn(p2f.shape, generator=g).to(dtype).to(device) for _ in range(2))
    gb = torch.randn(*p2f.shape, 3, generator=g).to(dtype).to(device)
    got = torch.ops.meshgraph.rasterize_meshes_backward(fv, p2f, gz, gb, gd, persp, clip)
    expect = ref.rasterize_meshes_backward(fv64.nan_to_num(0.0), p2f, gz.double(), gb.double(), gd.double(), persp, clip)
    assert got.dtype == dtype
    torch.testing.assert_close(got.double(), expect, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * expect.abs().max())


def test_large_k_and_single_face(device):
    verts, faces = _scene(device)
    out = rasterize_meshes((verts, faces), 12, faces_per_pixel=64)
    expect = _ref(verts, faces, 12, 12, 0.0, 64, 0, False, False, False)
    assert torch.equal(out[0], expect[0])
    # one triangle covering the image centre, z = 2: zbuf is 2 there and bary sum to 1
    tri = torch.tensor([[-0.5, -0.5, 2.0], [0.5, -0.5, 2.0], [0.0, 0.6, 2.0]], device=device)
    p2f, zbuf, bary, dists = rasterize_meshes(([tri], [torch.tensor([[0, 1, 2]], device=device)]), 32, faces_per_pixel=1)
    hit = p2f[..., 0] >= 0
    assert hit[0, 16, 16] and not hit[0, 0, 0]
    assert torch.allclose(zbuf[hit], torch.tensor(2.0, device=device))
    assert torch.allclose(bary[hit].sum(-1), torch.tensor(1.0, device=device))
    assert (dists[hit] < 0).all()


def _cow(shared_data):
    from meshgraph.io import load_mesh

    return load_mesh(shared_data / "cow.obj")


def test_cow_silhouette_and_depth(shared_data):
    """Render the cow from a known camera; the silhouette area and depth range must match an independent
    computation (every pixel centre tested against every projected triangle with exact barycentric signs)."""
    cow = _cow(shared_data)
    R, T = look_at_view_transform(dist=2.7, elev=15.0, azim=30.0)
    cam = FoVPerspectiveCameras(R=R, T=T, fov=60.0)
    raster = cam.transform_points_raster(cow.pos[None])[0]
    H = W = 64
    p2f, zbuf, _, _ = rasterize_meshes(GraphBatch.from_meshes([raster], [cow.faces]), (H, W), faces_per_pixel=1,
                                       perspective_correct=True)
    mask = p2f[0, ..., 0] >= 0
    # independent: point-in-triangle by half-plane signs in float64, pixel centres from the screen transform
    screen = cam.transform_points_screen(cow.pos[None].double(), image_size=(H, W))[0]
    tri = screen[cow.faces][:, :, :2]  # (F, 3, 2) pixel coordinates
    cy, cx = torch.meshgrid(torch.arange(H, dtype=torch.float64) + 0.5, torch.arange(W, dtype=torch.float64) + 0.5, indexing="ij")
    c = torch.stack([cx, cy], -1).reshape(-1, 1, 2)
    def side(a, b):
        return (b[None, :, 0] - a[None, :, 0]) * (c[..., 1] - a[None, :, 1]) - (b[None, :, 1] - a[None, :, 1]) * (c[..., 0] - a[None, :, 0])
    s0, s1, s2 = side(tri[:, 0], tri[:, 1]), side(tri[:, 1], tri[:, 2]), side(tri[:, 2], tri[:, 0])
    inside = ((s0 > 0) & (s1 > 0) & (s2 > 0)) | ((s0 < 0) & (s1 < 0) & (s2 < 0))
    expect = inside.any(1).reshape(H, W)
    assert expect.sum() > 300  # the cow fills a good part of the frame
    assert (mask != expect).sum() <= 2  # pixel centres exactly on an edge may go either way
    # depth range: the visible surface lies between the nearest and farthest vertex depths, and the nearest
    # rendered depth is close to the nearest vertex depth
    view_z = cam.transform_points_view(cow.pos[None])[0, :, 2]
    z = zbuf[0, ..., 0][mask]
    assert z.min() >= view_z.min() - 1e-4 and z.max() <= view_z.max() + 1e-4
    assert z.min() - view_z.min() < 0.05


def test_culling_keeps_the_visible_surface(shared_data):
    cow = _cow(shared_data)
    R, T = look_at_view_transform(dist=2.7, elev=15.0, azim=30.0)
    raster = FoVPerspectiveCameras(R=R, T=T).transform_points_raster(cow.pos[None])[0]
    mesh = GraphBatch.from_meshes([raster], [cow.faces])
    a = rasterize_meshes(mesh, 64, faces_per_pixel=1, perspective_correct=True)[0]
    b = rasterize_meshes(mesh, 64, faces_per_pixel=1, perspective_correct=True, cull_backfaces=True)[0]
    # the nearest face of a closed, consistently wound mesh faces the camera: culling changes (almost) nothing
    assert (a != b).float().mean() < 0.01


@pytest.mark.parametrize("persp,clip", [(False, False), (True, False), (True, True), (False, True)])
def test_gradients(device, persp, clip):
    verts, faces = _scene(device, torch.float64, seed=3, front=True)
    verts = [v.requires_grad_(True) for v in verts]

    def f(a, b, c):
        _, zbuf, bary, dists = rasterize_meshes(([a, b, c], faces), (7, 8), blur_radius=0.02, faces_per_pixel=3,
                                                perspective_correct=persp, clip_barycentric_coords=clip)
        return zbuf, bary, dists

    assert torch.autograd.gradcheck(f, tuple(verts), atol=1e-5)
    # the backward kernel against autograd through the reference's per-slot recomputation
    fv = torch.cat([v[f_] for v, f_ in zip(verts, faces)]).detach()
    size = torch.tensor([x.shape[0] for x in faces], device=device)
    p2f = torch.ops.meshgraph.rasterize_meshes(fv, size.cumsum(0) - size, size, 7, 8, 0.02, 3, 0, persp, clip, False)[0]
    g = torch.Generator().manual_seed(0)
    gz, gd = (torch.randn(p2f.shape, generator=g, dtype=torch.float64).to(device) for _ in range(2))
    gb = torch.randn(*p2f.shape, 3, generator=g, dtype=torch.float64).to(device)
    torch.testing.assert_close(
        torch.ops.meshgraph.rasterize_meshes_backward(fv, p2f, gz, gb, gd, persp, clip),
        ref.rasterize_meshes_backward(fv, p2f, gz, gb, gd, persp, clip),
    )
    fvr = fv.clone().requires_grad_(True)
    gzr = gz.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, b: torch.ops.meshgraph.rasterize_meshes_backward(a, p2f, b, gb, gd, persp, clip), (fvr, gzr), atol=1e-5
    )


def test_opcheck_and_compile(device):
    verts, faces = _scene(device)
    fv = torch.cat([v[f] for v, f in zip(verts, faces)])
    size = torch.tensor([f.shape[0] for f in faces], device=device)
    first = size.cumsum(0) - size
    args = (fv, first, size, 9, 11, 0.01, 3, 0, True, False, False)
    torch.library.opcheck(torch.ops.meshgraph.rasterize_meshes, args)
    p2f = torch.ops.meshgraph.rasterize_meshes(*args)[0]
    gz, gd = torch.rand(p2f.shape, device=device), torch.rand(p2f.shape, device=device)
    gb = torch.rand(*p2f.shape, 3, device=device)
    torch.library.opcheck(torch.ops.meshgraph.rasterize_meshes_backward, (fv, p2f, gz, gb, gd, True, False))
    fn = lambda x: torch.ops.meshgraph.rasterize_meshes(x, first, size, 9, 11, 0.01, 3, 0, True, False, False)[1].sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(fv), fn(fv))
    torch._dynamo.reset()


def test_interpolate_face_attributes(device):
    verts, faces = _scene(device)
    out = rasterize_meshes((verts, faces), 12, faces_per_pixel=2)
    p2f, bary = out[0], out[2]
    F = sum(f.shape[0] for f in faces)
    attrs = torch.randn(F, 3, 5, device=device)
    got = interpolate_face_attributes(p2f, bary, attrs)
    expect = (bary[..., None] * attrs[p2f.clamp_min(0)]).sum(-2) * (p2f >= 0)[..., None]
    torch.testing.assert_close(got, expect)


def test_bad_inputs():
    verts, faces = _scene("cpu")
    with pytest.raises(ValueError, match="image_size"):
        rasterize_meshes((verts, faces), 0)
    with pytest.raises(ValueError, match="blur_radius"):
        rasterize_meshes((verts, faces), 8, blur_radius=-0.1)
    with pytest.raises(ValueError, match="faces_per_pixel"):
        rasterize_meshes((verts, faces), 8, faces_per_pixel=0)
    with pytest.raises(ValueError, match="faces"):
        rasterize_meshes(([verts[0]], [torch.tensor([[0, 1, 99]])]), 8)
    with pytest.raises(ValueError, match="meshes"):
        rasterize_meshes((verts, faces[:1]), 8)
    with pytest.raises(TypeError, match="meshes"):
        rasterize_meshes(verts[0], 8)
    with pytest.raises(ValueError, match="no faces"):
        rasterize_meshes(GraphBatch.from_pointclouds([verts[0]]), 8)


FLAGS_DEVICE = [(0.0, False, False), (0.0, True, False), (0.01, True, True), (0.01, False, True), (0.01, False, False)]


def test_device_side_algorithms_give_the_same_result(monkeypatch):
    """The CUDA kernels' algorithms forced on CPU tensors (ATen tile builders, pixel-major mesh walk with early
    exit): identical outputs for both rasterizers, for hard and soft settings."""
    from meshgraph.render import rasterize_points

    verts, faces = _scene("cpu")
    g = torch.Generator().manual_seed(5)
    pts = torch.rand(1, 400, 3, generator=g) * 2 - 1
    pts[..., 2] = pts[..., 2].abs()
    for bin_size in (None, 0, 3):
        monkeypatch.delenv("MESHGRAPH_DEVICE_PATH", raising=False)
        m_cpu = [rasterize_meshes((verts, faces), (10, 17), blur_radius=blur, faces_per_pixel=4, bin_size=bin_size,
                                  perspective_correct=persp, clip_barycentric_coords=clip)
                 for blur, persp, clip in FLAGS_DEVICE]
        p_cpu = rasterize_points(pts, (12, 9), radius=0.2, points_per_pixel=5, bin_size=bin_size)
        monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
        m_aten = [rasterize_meshes((verts, faces), (10, 17), blur_radius=blur, faces_per_pixel=4, bin_size=bin_size,
                                   perspective_correct=persp, clip_barycentric_coords=clip)
                  for blur, persp, clip in FLAGS_DEVICE]
        p_aten = rasterize_points(pts, (12, 9), radius=0.2, points_per_pixel=5, bin_size=bin_size)
        for a, b in zip((*sum(map(list, m_cpu), []), *p_cpu), (*sum(map(list, m_aten), []), *p_aten)):
            assert torch.equal(a, b)


def test_gradients_where_the_perspective_denominator_is_clamped(device):
    """A tiny face whose depth doubles across it, and pixels within the blur radius beyond its "horizon": there the
    perspective-correct denominator S = w0 z1 z2 + w1 z0 z2 + w2 z0 z1 is negative and clamped (1e-8), the clipped
    barycentrics stay finite, and the clamp's derivative is 0. PyTorch3D v0.7.9's backward differentiates the
    clamped denominator anyway (its d/dverts reached 1.5e6 on the cow, benchmarks/bm_render_phong.py); ours must
    agree with finite differences."""
    o = 1 / 16 - 0.02  # v0; the pixel centre (1/16, 1/16) lies 0.021 beyond the hypotenuse (blur radius 0.032)
    fv = torch.tensor([[[o, o, 1.0], [o + 0.01, o, 10.0], [o, o + 0.01, 10.0]]], dtype=torch.float64, device=device)
    first, size = torch.tensor([0], device=device), torch.tensor([1], device=device)
    args = (first, size, 16, 1e-3, 1, 0, True, True, False, None, False)  # 16^2: pixel centres at +-1/16, +-3/16, ...
    p2f = rasterize_face_verts(fv, *args)[0]
    ys, xs = pixel_centers(16, 16, torch.float64)
    w0 = 1 - (xs[None, :] - o + ys[:, None] - o) / 0.01  # this right triangle's first barycentric at the centres
    s = 10 + 90 * w0  # S = 100 w0 + 10 (w1 + w2)
    assert ((p2f[0, ..., 0] >= 0) & (s.to(device) < 0)).any(), "no drawn slot with a clamped denominator"

    def f(v):
        _, zbuf, bary, dists = rasterize_face_verts(v, *args)
        return zbuf, bary, dists

    assert torch.autograd.gradcheck(f, (fv.clone().requires_grad_(True),), atol=1e-6)
    # float32: rounding must not be amplified by the clamped denominator (1 / 1e-16 in PyTorch3D's backward)
    g = torch.Generator().manual_seed(0)
    gz, gd = (torch.randn(p2f.shape, generator=g, dtype=torch.float64).to(device) for _ in range(2))
    gb = torch.randn(*p2f.shape, 3, generator=g, dtype=torch.float64).to(device)
    want = torch.ops.meshgraph.rasterize_meshes_backward(fv, p2f, gz, gb, gd, True, True)
    got = torch.ops.meshgraph.rasterize_meshes_backward(fv.float(), p2f, gz.float(), gb.float(), gd.float(), True, True)
    torch.testing.assert_close(got.double(), want, rtol=1e-3, atol=1e-3 * want.abs().max().item())
