"""meshgraph.render.implicit: ray bundles, raysamplers (rays through the right pixels, at the right depths, from the
camera centres), raymarchers (PyTorch3D's expressions, its checks and warnings), HarmonicEmbedding (its formula),
ImplicitRenderer (a sphere renders as a disc, gradients reach the volumetric function), sample_pdf_python."""

import math
import warnings

import pytest
import torch

from meshgraph.render import FoVPerspectiveCameras, PerspectiveCameras, look_at_view_transform
from meshgraph.render.implicit import (
    AbsorptionOnlyRaymarcher,
    EmissionAbsorptionRaymarcher,
    GridRaysampler,
    HarmonicEmbedding,
    HeterogeneousRayBundle,
    ImplicitRenderer,
    MonteCarloRaysampler,
    MultinomialRaysampler,
    NDCGridRaysampler,
    NDCMultinomialRaysampler,
    RayBundle,
    ray_bundle_to_ray_points,
    ray_bundle_variables_to_ray_points,
    sample_pdf_python,
    validate_ray_bundle_variables,
)


def _cameras(n=2, cls=FoVPerspectiveCameras):
    R, T = look_at_view_transform(dist=torch.linspace(2.5, 3.5, n), elev=torch.linspace(0, 30, n),
                                  azim=torch.linspace(-40, 40, n))
    return cls(R=R, T=T)


def _check_rays(cameras, bundle, atol=1e-4):
    """Each ray point at length l has view depth l and projects onto the ray's xy (NDC); origins are the centres."""
    B = bundle.origins.shape[0]
    pts = ray_bundle_to_ray_points(bundle).reshape(B, -1, 3)
    view = cameras.get_world_to_view_transform().transform_points(pts)
    torch.testing.assert_close(view[..., 2], bundle.lengths.reshape(B, -1), atol=atol, rtol=1e-4)
    ndc = cameras.transform_points(pts)[..., :2].reshape(*bundle.lengths.shape, 2)
    xy = bundle.xys[..., None, :].expand_as(ndc)
    torch.testing.assert_close(ndc, xy, atol=atol, rtol=1e-4)
    centres = cameras.get_camera_center().reshape(B, *([1] * (bundle.origins.dim() - 2)), 3)
    torch.testing.assert_close(bundle.origins, centres.expand_as(bundle.origins), atol=atol, rtol=1e-4)


def test_ray_points_formula():
    o, d, l = torch.randn(2, 3, 3), torch.randn(2, 3, 3), torch.rand(2, 3, 5)
    pts = ray_bundle_variables_to_ray_points(o, d, l)
    assert pts.shape == (2, 3, 5, 3)
    torch.testing.assert_close(pts[1, 2, 4], o[1, 2] + l[1, 2, 4] * d[1, 2])
    torch.testing.assert_close(ray_bundle_to_ray_points(RayBundle(o, d, l, torch.zeros(2, 3, 2))), pts)
    torch.testing.assert_close(ray_bundle_to_ray_points(HeterogeneousRayBundle(o, d, l, torch.zeros(2, 3, 2))), pts)


def test_validate_ray_bundle_variables():
    o = torch.zeros(2, 4, 3)
    validate_ray_bundle_variables(o, o, torch.zeros(2, 4, 6))
    for args, msg in [((o, o[0], o), "same number"), ((o[0], o[0], o[0]), "at least 3"),
                      ((o, o[:, :3], torch.zeros(2, 4, 6)), "differ only"), ((o[..., :2], o[..., :2], o), "has to be 3")]:
        with pytest.raises(ValueError, match=msg):
            validate_ray_bundle_variables(*args)


@pytest.mark.parametrize("W,H", [(8, 6), (5, 9)])
def test_ndc_grid_rays_go_through_the_pixel_centres_at_their_depths(W, H):
    cams = _cameras()
    sampler = NDCMultinomialRaysampler(image_width=W, image_height=H, n_pts_per_ray=7, min_depth=1.0, max_depth=4.0)
    b = sampler(cams)
    assert isinstance(b, RayBundle)
    assert b.origins.shape == (2, H, W, 3) and b.lengths.shape == (2, H, W, 7) and b.xys.shape == (2, H, W, 2)
    rx, ry = (W / H, 1.0) if W >= H else (1.0, H / W)
    torch.testing.assert_close(b.xys[0, 0, 0], torch.tensor([rx - rx / W, ry - ry / H]))
    torch.testing.assert_close(b.xys[0, -1, -1], torch.tensor([-rx + rx / W, -ry + ry / H]))
    torch.testing.assert_close(b.lengths[0, 0, 0], torch.linspace(1.0, 4.0, 7))
    _check_rays(cams, b)


def test_screen_space_cameras_unproject_from_ndc():
    R, T = look_at_view_transform(dist=3.0, azim=20.0)
    cams = PerspectiveCameras(focal_length=2.0, principal_point=((0.1, -0.05),), R=R, T=T)
    b = NDCMultinomialRaysampler(image_width=6, image_height=6, n_pts_per_ray=4, min_depth=1.0, max_depth=2.0)(cams)
    _check_rays(cams, b)


def test_sampled_rays_mask_and_overrides():
    cams = _cameras()
    sampler = NDCMultinomialRaysampler(image_width=10, image_height=8, n_pts_per_ray=5, min_depth=1.0, max_depth=3.0,
                                       n_rays_per_image=13)
    b = sampler(cams)
    assert b.origins.shape == (2, 13, 1, 3) and b.xys.shape == (2, 13, 1, 2)
    grid = sampler._xy_grid.reshape(-1, 2)
    flat = b.xys.reshape(2, 13, 2)
    hit = (flat[:, :, None] == grid[None, None]).all(-1)                            # (2, 13, H W)
    assert (hit.sum(-1) == 1).all() and (hit.sum(1) <= 1).all()                    # grid points, no repeats
    _check_rays(cams, b)
    mask = torch.zeros(2, 8, 10)
    mask[0, 2:4, 3:6] = 1   # 6 pixels
    mask[1, 5, :4] = 1      # 4 pixels: the smallest mask's count is the default
    sampler._n_rays_per_image = None
    b = sampler(cams, mask=mask, min_depth=2.0, n_pts_per_ray=3)
    assert b.xys.shape == (2, 4, 1, 2) and b.lengths.shape == (2, 4, 1, 3)
    torch.testing.assert_close(b.lengths[0, 0, 0], torch.linspace(2.0, 3.0, 3))
    idx = (b.xys.reshape(2, 4, 1, 2) == grid[None, None]).all(-1).float().argmax(-1)
    assert (mask.reshape(2, -1).gather(1, idx.reshape(2, 4)) == 1).all()


def test_n_rays_total_gives_a_heterogeneous_bundle_from_drawn_cameras():
    cams = _cameras(3)
    for sampler in (NDCMultinomialRaysampler(image_width=6, image_height=6, n_pts_per_ray=4, min_depth=1.0,
                                             max_depth=2.0, n_rays_total=11),
                    MonteCarloRaysampler(-1, 1, -1, 1, None, 4, 1.0, 2.0, n_rays_total=11)):
        b = sampler(cams)
        assert isinstance(b, HeterogeneousRayBundle)
        # PyTorch3D's shapes: (n_rays_total, 1) + the per-camera bundle's trailing spatial dims (one grid
        # column for the multinomial sampler's (n, 1) rays)
        lead = (11, 1, 1) if isinstance(sampler, MultinomialRaysampler) else (11, 1)
        assert b.origins.shape == (*lead, 3) and b.lengths.shape == (*lead, 4) and b.xys.shape == (*lead, 2)
        assert int(b.camera_counts.sum()) == 11 and len(b.camera_ids) == len(b.camera_counts)
        cam_of_ray = torch.repeat_interleave(b.camera_ids, b.camera_counts)
        centres = cams.get_camera_center()[cam_of_ray]
        torch.testing.assert_close(b.origins.reshape(11, 3), centres, atol=1e-4, rtol=1e-4)
        _check_rays(cams[cam_of_ray.tolist()], RayBundle(b.origins.reshape(11, 1, 3), b.directions.reshape(11, 1, 3),
                                                        b.lengths.reshape(11, 1, 4), b.xys.reshape(11, 1, 2)))
    with pytest.raises(ValueError, match="cannot both"):
        NDCMultinomialRaysampler(image_width=6, image_height=6, n_pts_per_ray=4, min_depth=1.0, max_depth=2.0,
                                 n_rays_total=3, n_rays_per_image=2)(cams)


def test_monte_carlo_rays_stratified_sampling_and_unit_directions():
    cams = _cameras()
    sampler = MonteCarloRaysampler(-0.5, 0.7, -0.2, 0.9, 50, 16, 1.0, 5.0, stratified_sampling=True)
    b = sampler(cams)
    assert b.origins.shape == (2, 50, 3) and b.lengths.shape == (2, 50, 16)
    assert (b.xys[..., 0] >= -0.5).all() and (b.xys[..., 0] <= 0.7).all()
    assert (b.xys[..., 1] >= -0.2).all() and (b.xys[..., 1] <= 0.9).all()
    centres = torch.linspace(1.0, 5.0, 16)
    half = (centres[1] - centres[0]) / 2
    assert ((b.lengths - centres).abs() <= half + 1e-6).all()
    assert (b.lengths.diff(dim=-1) >= 0).all() and not torch.allclose(b.lengths, centres.expand_as(b.lengths))
    _check_rays(cams, b)
    det = sampler(cams, stratified_sampling=False)
    torch.testing.assert_close(det.lengths, centres.expand_as(det.lengths))
    unit = MonteCarloRaysampler(-1, 1, -1, 1, 20, 4, 1.0, 2.0, unit_directions=True)(cams)
    torch.testing.assert_close(unit.directions.norm(dim=-1), torch.ones(2, 20))
    with pytest.raises(ValueError, match="Exactly one"):
        MonteCarloRaysampler(-1, 1, -1, 1, None, 4, 1.0, 2.0)(cams)


def test_deprecated_grid_raysamplers():
    with pytest.warns(PendingDeprecationWarning):
        s = GridRaysampler(-1, 1, -1, 1, 4, 3, 5, 1.0, 2.0)
    assert type(s) is MultinomialRaysampler and s._xy_grid.shape == (3, 4, 2)
    with pytest.warns(PendingDeprecationWarning):
        s = NDCGridRaysampler(4, 3, 5, 1.0, 2.0)
    assert type(s) is NDCMultinomialRaysampler


def _pytorch3d_ea(d, f, eps=1e-10, shift=1):
    d = d[..., 0]
    c = torch.cumprod((1.0 + eps) - d, dim=-1)
    w = d * torch.cat([torch.ones_like(c[..., :shift]), c[..., :-shift]], dim=-1)
    return torch.cat(((w[..., None] * f).sum(-2), 1.0 - torch.prod(1.0 - d, -1, keepdim=True)), -1)


def test_raymarchers_match_pytorch3ds_expressions_and_gradients():
    g = torch.Generator().manual_seed(0)
    d = torch.rand(3, 4, 10, 1, generator=g, dtype=torch.float64, requires_grad=True)
    f = torch.randn(3, 4, 10, 6, generator=g, dtype=torch.float64, requires_grad=True)
    out = EmissionAbsorptionRaymarcher(surface_thickness=2)(rays_densities=d, rays_features=f, rays_z=None)
    expect = _pytorch3d_ea(d, f, shift=2)
    torch.testing.assert_close(out, expect)
    gd, gf = torch.autograd.grad(out.square().sum(), (d, f))
    ed, ef = torch.autograd.grad(expect.square().sum(), (d, f))
    torch.testing.assert_close(gd, ed)
    torch.testing.assert_close(gf, ef)
    opa = AbsorptionOnlyRaymarcher()(rays_densities=d)
    torch.testing.assert_close(opa, expect[..., -1:])


def test_raymarcher_checks_and_density_warning():
    ea = EmissionAbsorptionRaymarcher()
    d, f = torch.rand(4, 5, 1), torch.rand(4, 5, 3)
    with pytest.raises(ValueError, match="rays_densities has to be"):
        ea([0.5], f)
    with pytest.raises(ValueError, match="rays_features has to be"):
        ea(d, None)
    with pytest.raises(ValueError, match="last dimension of rays_densities"):
        ea(d[..., 0], f)
    with pytest.raises(ValueError, match="first to previous"):
        ea(d, f[:, :4])
    with pytest.warns(UserWarning, match="outside of valid"):
        ea(d * 3, f)
    with pytest.warns(UserWarning, match="outside of valid"):
        AbsorptionOnlyRaymarcher()(d - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ea(d, f)


@pytest.mark.parametrize("logspace,append", [(True, True), (False, False)])
def test_harmonic_embedding_formula(logspace, append):
    emb = HarmonicEmbedding(n_harmonic_functions=4, omega_0=0.5, logspace=logspace, append_input=append)
    x = torch.randn(5, 7, 3)
    freqs = 0.5 * (2.0 ** torch.arange(4.0) if logspace else torch.linspace(1.0, 8.0, 4))
    t = x[..., None] * freqs                                            # (..., dim, N)
    expect = torch.cat([t.sin().flatten(-2), t.cos().flatten(-2)] + ([x] if append else []), -1)
    out = emb(x)
    assert out.shape == (5, 7, emb.get_output_dim()) and emb.get_output_dim() == 3 * (8 + int(append))
    torch.testing.assert_close(out, expect, atol=1e-5, rtol=1e-5)
    cov = torch.rand(5, 7, 3)
    damp = torch.exp(-0.5 * cov[..., None] * freqs**2)
    expect = torch.cat([(t.sin() * damp).flatten(-2), (t.cos() * damp).flatten(-2)] + ([x] if append else []), -1)
    torch.testing.assert_close(emb(x, diag_cov=cov), expect, atol=1e-5, rtol=1e-5)
    assert HarmonicEmbedding.get_output_dim_static(2, 6, True) == 26
    assert emb.state_dict() == {}  # non-persistent buffers, as PyTorch3D


def _sphere(radius=0.8, sharp=30.0):
    def fn(ray_bundle, **kwargs):
        pts = ray_bundle_to_ray_points(ray_bundle)
        dens = torch.sigmoid(sharp * (radius - pts.norm(dim=-1, keepdim=True)))
        feats = torch.nn.functional.normalize(pts, dim=-1) * 0.5 + 0.5
        return dens, feats

    return fn


def test_implicit_renderer_renders_a_sphere_as_a_disc():
    R, T = look_at_view_transform(dist=3.0)
    cams = FoVPerspectiveCameras(R=R, T=T)
    sampler = NDCMultinomialRaysampler(image_width=16, image_height=16, n_pts_per_ray=64, min_depth=1.5,
                                       max_depth=4.5)
    images, bundle = ImplicitRenderer(sampler, EmissionAbsorptionRaymarcher())(cams, _sphere())
    assert images.shape == (1, 16, 16, 4) and isinstance(bundle, RayBundle)
    alpha = images[0, ..., 3]
    # the disc's projected radius: sin(half angle) = 0.8 / 3 under fov 60 degrees
    r_ndc = math.tan(math.asin(0.8 / 3)) / math.tan(math.radians(30))
    rr = bundle.xys[0].norm(dim=-1)
    assert (alpha[rr < r_ndc - 0.15] > 0.99).all() and (alpha[rr > r_ndc + 0.15] < 0.01).all()
    colour = images[0, ..., :3][rr < 0.2]
    # the front of the sphere faces the camera at +z: normal (0, 0, 1) -> colour (0.5, 0.5, 1)
    torch.testing.assert_close(colour.mean(0), torch.tensor([0.5, 0.5, 1.0]), atol=0.05, rtol=0)


def test_implicit_renderer_gradients_reach_the_function_and_checks():
    R, T = look_at_view_transform(dist=3.0)
    cams = FoVPerspectiveCameras(R=R, T=T)
    radius = torch.tensor(0.7, requires_grad=True)
    sampler = MonteCarloRaysampler(-0.3, 0.3, -0.3, 0.3, 32, 32, 1.5, 4.5)
    images, _ = ImplicitRenderer(sampler, AbsorptionOnlyRaymarcher())(cams, _sphere(radius, 5.0))
    images.sum().backward()
    assert radius.grad > 0  # a larger sphere absorbs more
    with pytest.raises(ValueError, match="raysampler"):
        ImplicitRenderer(None, EmissionAbsorptionRaymarcher())
    with pytest.raises(ValueError, match="raymarcher"):
        ImplicitRenderer(sampler, 3)
    with pytest.raises(ValueError, match="volumetric_function"):
        ImplicitRenderer(sampler, EmissionAbsorptionRaymarcher())(cams, None)


def test_sample_pdf_python_inverts_the_cdf():
    bins = torch.tensor([[0.0, 1.0, 3.0]])
    w = torch.tensor([[1.0, 3.0]])
    out = sample_pdf_python(bins, w, 5, det=True, eps=1e-9)
    torch.testing.assert_close(out, torch.tensor([[0.0, 1.0, 5 / 3, 7 / 3, 3.0]]), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="Negative"):
        sample_pdf_python(bins, -w, 4)
