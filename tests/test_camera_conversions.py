"""OpenCV / pulsar camera conversions: projections equal OpenCV's pinhole formula, and the round trip is exact."""

import pytest
import torch

from meshgraph.render.camera_conversions import (cameras_from_opencv_projection, opencv_from_cameras_projection,
                                                 pulsar_from_cameras_projection, pulsar_from_opencv_projection)
from meshgraph.transforms import random_rotations


def _opencv_cameras(b, gen, dtype=torch.float64, sizes=((480, 640), (300, 200), (256, 256))):
    R = random_rotations(b, dtype=dtype)  # the global RNG: conftest seeds it per test
    tvec = torch.randn(b, 3, generator=gen, dtype=dtype) * 0.2 + torch.tensor([0.0, 0.0, 4.0], dtype=dtype)
    image_size = torch.tensor([sizes[i % len(sizes)] for i in range(b)])
    K = torch.zeros(b, 3, 3, dtype=dtype)
    K[:, 0, 0] = 80 + 60 * torch.rand(b, generator=gen, dtype=dtype)
    K[:, 1, 1] = K[:, 0, 0] * (0.9 + 0.2 * torch.rand(b, generator=gen, dtype=dtype))
    K[:, 0, 2] = image_size[:, 1] / 2 + 10 * torch.randn(b, generator=gen, dtype=dtype)
    K[:, 1, 2] = image_size[:, 0] / 2 + 10 * torch.randn(b, generator=gen, dtype=dtype)
    K[:, 2, 2] = 1
    return R, tvec, K, image_size


def _opencv_project(pts, R, tvec, K):
    cam = pts @ R.transpose(1, 2) + tvec[:, None]
    uvw = cam @ K.transpose(1, 2)
    return uvw[..., :2] / uvw[..., 2:]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_projection_matches_opencv_on_non_square_images(dtype):
    gen = torch.Generator().manual_seed(0)
    R, tvec, K, size = _opencv_cameras(6, gen, dtype)
    pts = torch.nn.functional.normalize(torch.randn(6, 500, 3, generator=gen, dtype=dtype), dim=-1)
    cams = cameras_from_opencv_projection(R, tvec, K, size)
    screen = cams.transform_points_screen(pts)[..., :2]
    tol = 1e-3 if dtype == torch.float32 else 1e-8
    torch.testing.assert_close(screen, _opencv_project(pts, R, tvec, K), atol=tol, rtol=0)
    R2, t2, K2 = opencv_from_cameras_projection(cams, size)
    torch.testing.assert_close(R2, R)
    torch.testing.assert_close(t2, tvec)
    torch.testing.assert_close(K2, K)


def test_gradients_flow_through_the_conversion():
    gen = torch.Generator().manual_seed(1)
    R, tvec, K, size = _opencv_cameras(2, gen)
    K.requires_grad_(True)
    tvec.requires_grad_(True)
    cams = cameras_from_opencv_projection(R, tvec, K, size)
    cams.transform_points_screen(torch.randn(2, 10, 3, dtype=torch.float64, generator=gen) * 0.3)[..., :2].sum().backward()
    assert K.grad.abs().sum() > 0 and tvec.grad.abs().sum() > 0


def test_pulsar_vector():
    gen = torch.Generator().manual_seed(2)
    R, tvec, K, _ = _opencv_cameras(3, gen, torch.float32)
    size = torch.tensor([[480, 640]] * 3)
    v = pulsar_from_opencv_projection(R, tvec, K, size, znear=0.5)
    assert v.shape == (3, 13)
    centre = -(R.transpose(1, 2) @ tvec[..., None])[..., 0]  # the camera centre in world coordinates
    torch.testing.assert_close(v[:, :3], centre)
    torch.testing.assert_close(v[:, 9], torch.full((3,), 0.5 - 1e-5))
    f_frac = (K[:, 0, 0] + K[:, 1, 1]) / 2 / 640
    torch.testing.assert_close(v[:, 10], v[:, 9] / f_frac)
    torch.testing.assert_close(v[:, 11], 320 - K[:, 0, 2])
    torch.testing.assert_close(v[:, 12], K[:, 1, 2] - 240)
    cams = cameras_from_opencv_projection(R, tvec, K, size)
    torch.testing.assert_close(pulsar_from_cameras_projection(cams, size), pulsar_from_opencv_projection(R, tvec, K, size), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="same height and width"):
        pulsar_from_opencv_projection(R, tvec, K, torch.tensor([[480, 640], [480, 640], [100, 100]]))


def test_bad_input_names_the_argument():
    R, tvec, K = torch.eye(3)[None], torch.zeros(1, 3), torch.eye(3)[None]
    with pytest.raises(ValueError, match="tvec"):
        cameras_from_opencv_projection(R, torch.zeros(1, 4), K, torch.tensor([[4, 4]]))
    with pytest.raises(ValueError, match="camera_matrix has batch size 2"):
        cameras_from_opencv_projection(R, tvec, torch.eye(3).expand(2, 3, 3), torch.tensor([[4, 4]]))
    with pytest.raises(ValueError, match="image_size"):
        cameras_from_opencv_projection(R, tvec, K, torch.tensor([[0, 4]]))
    with pytest.raises(TypeError, match="PerspectiveCameras"):
        opencv_from_cameras_projection(object(), torch.tensor([[4, 4]]))


def test_compat_names():
    from meshgraph.compat.pytorch3d.utils import cameras_from_opencv_projection as c

    assert c is cameras_from_opencv_projection
