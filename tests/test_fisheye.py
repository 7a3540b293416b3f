"""FishEyeCameras: the distortion model's closed form, the Newton inverse, batching, gradients and bad input."""

import math

import pytest
import torch

from meshgraph.render.cameras import PerspectiveCameras
from meshgraph.render.fisheye import FishEyeCameras
from meshgraph.transforms import random_rotations


def _random_cameras(n, gen, dtype=torch.float64, **flags):
    return FishEyeCameras(
        focal_length=200 + 100 * torch.rand(n, 1, generator=gen, dtype=dtype),
        principal_point=torch.tensor([[320.0, 240.0]], dtype=dtype) + 5 * torch.randn(n, 2, generator=gen, dtype=dtype),
        radial_params=0.05 * torch.randn(n, 6, generator=gen, dtype=dtype) / torch.arange(1, 7, dtype=dtype) ** 2,
        tangential_params=1e-3 * torch.randn(n, 2, generator=gen, dtype=dtype),
        thin_prism_params=1e-3 * torch.randn(n, 4, generator=gen, dtype=dtype), **flags)


def _closed_form(cam, i, pts):
    """The model of the module docstring, written out per camera and point."""
    f, (cu, cv) = float(cam.focal[i, 0]), cam.principal_point[i].tolist()
    k, (p1, p2), s = cam.radial_params[i].tolist(), cam.tangential_params[i].tolist(), cam.thin_prism_params[i].tolist()
    out = []
    for x, y, z in pts.tolist():
        a, b = x / z, y / z
        r = math.hypot(a, b)
        th = math.atan(r)
        poly = 1 + sum(kk * th ** (2 * (j + 1)) for j, kk in enumerate(k))
        xr, yr = (poly * th / r * a, poly * th / r * b) if r > 0 else (a, b)
        rd2 = xr * xr + yr * yr
        u = xr + 2 * (xr * p1 + yr * p2) * xr + rd2 * p1 + s[0] * rd2 + s[1] * rd2 * rd2
        v = yr + 2 * (xr * p1 + yr * p2) * yr + rd2 * p2 + s[2] * rd2 + s[3] * rd2 * rd2
        out.append([f * u + cu, f * v + cv, 1.0])
    return torch.tensor(out, dtype=torch.float64)


def test_projection_is_the_closed_form_for_a_batch_of_cameras():
    gen = torch.Generator().manual_seed(0)
    cams = _random_cameras(3, gen)
    pts = torch.cat([torch.randn(40, 2, generator=gen, dtype=torch.float64), 0.5 + torch.rand(40, 1, generator=gen, dtype=torch.float64)], 1)
    out = cams.transform_points(pts)
    assert out.shape == (3, 40, 3)
    for i in range(3):
        torch.testing.assert_close(out[i], _closed_form(cams, i, pts))
        torch.testing.assert_close(cams[i].transform_points(pts), out[i])


@pytest.mark.parametrize("n", [1, 4])
def test_unproject_inverts_the_projection(n):
    gen = torch.Generator().manual_seed(n)
    cams = _random_cameras(n, gen)
    pts = torch.cat([0.8 * torch.randn(60, 2, generator=gen, dtype=torch.float64), 1 + torch.rand(60, 1, generator=gen, dtype=torch.float64)], 1)
    pts[0] = torch.tensor([0.0, 0.0, 2.0])  # the optical axis: the principal point, (0, 0, 1), not NaN
    uv = cams.transform_points(pts)
    back = cams.unproject_points(uv if n == 1 else uv[0])
    expected = pts / pts[:, 2:]
    if n == 1:
        torch.testing.assert_close(back, expected, atol=1e-7, rtol=1e-7)
    else:
        torch.testing.assert_close(back[0], expected, atol=1e-7, rtol=1e-7)


def test_without_distortion_it_is_the_pinhole_camera_and_world_points_go_through_R_T():
    gen = torch.Generator().manual_seed(2)
    R, T = random_rotations(1, dtype=torch.float64), torch.tensor([[0.1, -0.2, 5.0]], dtype=torch.float64)
    focal, pp = torch.tensor([[150.0]], dtype=torch.float64), torch.tensor([[30.0, 40.0]], dtype=torch.float64)
    fish = FishEyeCameras(focal_length=focal, principal_point=pp, R=R, T=T, world_coordinates=True, use_radial=False,
                          use_tangential=False, use_thin_prism=False)
    pin = PerspectiveCameras(focal_length=focal, principal_point=pp, R=R, T=T)
    pts = torch.randn(25, 3, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(fish.transform_points(pts)[:, :2], pin.transform_points(pts).reshape(25, 3)[:, :2])


def test_gradients_reach_points_and_distortion_parameters():
    gen = torch.Generator().manual_seed(3)
    base = _random_cameras(1, gen)
    pts = torch.cat([0.5 * torch.randn(8, 2, generator=gen, dtype=torch.float64), 1 + torch.rand(8, 1, generator=gen, dtype=torch.float64)], 1)

    def project(points, radial, tangential, prism):
        cam = FishEyeCameras(focal_length=base.focal, principal_point=base.principal_point, radial_params=radial,
                             tangential_params=tangential, thin_prism_params=prism)
        return cam.transform_points(points)[..., :2]

    args = [t.detach().clone().requires_grad_(True) for t in (pts, base.radial_params, base.tangential_params, base.thin_prism_params)]
    assert torch.autograd.gradcheck(project, args)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="radial_params"):
        FishEyeCameras(radial_params=torch.zeros(1, 7))
    with pytest.raises(ValueError, match="tangential_params"):
        FishEyeCameras(tangential_params=torch.zeros(1, 3))
    with pytest.raises(ValueError, match="batch sizes"):
        FishEyeCameras(focal_length=torch.ones(2, 1), principal_point=torch.zeros(3, 2))
    cams = FishEyeCameras(focal_length=torch.ones(2, 1))
    with pytest.raises(ValueError, match="Expected points"):
        cams.transform_points(torch.rand(3, 3, 1))
    with pytest.raises(ValueError, match="Expected points"):
        cams.transform_points(torch.rand(2, 4, 3))  # M > 1 point batches need one camera
    with pytest.raises(NotImplementedError, match="not a matrix"):
        cams.get_projection_transform()


def test_compat_module_path():
    from meshgraph.compat.pytorch3d.renderer.fisheyecameras import FishEyeCameras as C

    assert C is FishEyeCameras
