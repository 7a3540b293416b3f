"""Camera conventions of other tools to and from meshgraph's cameras (PyTorch3D's `camera_conversions`).

OpenCV describes a pinhole camera by a world-to-camera rotation `R` (B, 3, 3) and translation `tvec` (B, 3) acting on
column vectors (x_cam = R x + t), and an intrinsics matrix `K` (B, 3, 3) in pixels, with +x right and +y down on the
image. meshgraph (as PyTorch3D) multiplies row vectors (x_view = x R + T), has +x left and +y up in NDC, and
measures focal length and principal point in NDC units, where the shorter image side spans [-1, 1]. So:

- the rotation is transposed and the view's x and y axes flipped (the first two columns of R and entries of T
  negated);
- with s = min(H, W) / 2 and c = (W / 2, H / 2): focal_ndc = f_px / s and principal_ndc = -(p_px - c) / s.

`image_size` is (B, 2) as (height, width), PyTorch3D's order. Pulsar's camera vector (13 numbers: position,
6D rotation, focal length, sensor width, principal point offset) is converted the same way
(`pulsar_from_opencv_projection`, `pulsar_from_cameras_projection`); meshgraph has no pulsar renderer, the vector
serves code that feeds one.
"""

from __future__ import annotations

import logging

import torch

from ..transforms import matrix_to_rotation_6d
from .cameras import PerspectiveCameras

LOGGER = logging.getLogger(__name__)

__all__ = ["cameras_from_opencv_projection", "opencv_from_cameras_projection", "pulsar_from_cameras_projection",
           "pulsar_from_opencv_projection"]


def _check(name: str, t, shape: tuple, batch: int | None = None) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(t).__name__}")
    if t.dim() != len(shape) or any(s is not None and d != s for d, s in zip(t.shape, shape)):
        want = "(" + ", ".join("B" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
    if batch is not None and t.shape[0] != batch:
        raise ValueError(f"{name} has batch size {t.shape[0]}, expected {batch} (the batch of R)")


def _ndc_scale(image_size: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(s, c): s = min(H, W) / 2 per camera, expanded to (B, 2); c = (W, H) / 2."""
    wh = image_size.to(like).flip(dims=(1,))
    if bool((wh <= 0).any()):
        raise ValueError("image_size: heights and widths must be positive")
    s = (wh.min(dim=1, keepdim=True).values / 2.0).expand(-1, 2)
    return s, wh / 2.0


def _flip_xy(R_rows: torch.Tensor, T: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Negate the view's x and y axes: the first two columns of R (row-vector form) and entries of T."""
    sign = torch.tensor([-1.0, -1.0, 1.0], dtype=R_rows.dtype, device=R_rows.device)
    return R_rows * sign, T * sign


def cameras_from_opencv_projection(R: torch.Tensor, tvec: torch.Tensor, camera_matrix: torch.Tensor,
                                   image_size: torch.Tensor) -> PerspectiveCameras:
    """PerspectiveCameras (NDC intrinsics) equal to OpenCV's cameras.

    Args:
        R: (B, 3, 3) world-to-camera rotations (column-vector convention).
        tvec: (B, 3) translations.
        camera_matrix: (B, 3, 3) intrinsics K in pixels ([[fx, 0, px], [0, fy, py], [0, 0, 1]]).
        image_size: (B, 2) (height, width) in pixels.
    Returns: PerspectiveCameras with R, T, focal_length, principal_point and image_size, on R's device.
    """
    _check("R", R, (None, 3, 3))
    b = R.shape[0]
    _check("tvec", tvec, (None, 3), b)
    _check("camera_matrix", camera_matrix, (None, 3, 3), b)
    _check("image_size", image_size, (None, 2), b)
    s, c = _ndc_scale(image_size, R)
    focal = torch.stack([camera_matrix[:, 0, 0], camera_matrix[:, 1, 1]], dim=-1) / s
    principal = (c - camera_matrix[:, :2, 2]) / s
    R_rows, T = _flip_xy(R.transpose(1, 2), tvec)
    return PerspectiveCameras(R=R_rows, T=T, focal_length=focal, principal_point=principal, image_size=image_size,
                              device=R.device)


def opencv_from_cameras_projection(cameras: PerspectiveCameras, image_size: torch.Tensor
                                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The inverse of `cameras_from_opencv_projection`: (R (B, 3, 3), tvec (B, 3), camera_matrix (B, 3, 3)) of
    PerspectiveCameras whose intrinsics are in NDC, for images of `image_size` (B, 2) (height, width)."""
    if not isinstance(cameras, PerspectiveCameras):
        raise TypeError(f"cameras must be PerspectiveCameras, got {type(cameras).__name__}")
    R_rows, T = _flip_xy(cameras.R, cameras.T)
    R = R_rows.transpose(1, 2)
    _check("image_size", image_size, (None, 2), R.shape[0])
    s, c = _ndc_scale(image_size, R)
    focal = cameras.focal_length.to(R).expand(R.shape[0], 2) * s
    principal = c - cameras.principal_point.to(R).expand(R.shape[0], 2) * s
    K = torch.zeros_like(R)
    K[:, 0, 0], K[:, 1, 1] = focal[:, 0], focal[:, 1]
    K[:, :2, 2] = principal
    K[:, 2, 2] = 1.0
    return R, T, K


def pulsar_from_opencv_projection(R: torch.Tensor, tvec: torch.Tensor, camera_matrix: torch.Tensor,
                                  image_size: torch.Tensor, znear: float = 0.1) -> torch.Tensor:
    """Pulsar's (B, 13) camera vectors [position (3), 6D rotation (6), focal length, sensor width, principal point
    offset (2)] of OpenCV cameras. Pulsar has one focal length: fx and fy are averaged (a warning when they differ
    by more than 1 %). Every image of the batch must have the same size. tvec may be (B, 3) or (B, 3, 1)."""
    _check("R", R, (None, 3, 3))
    b = R.shape[0]
    if isinstance(tvec, torch.Tensor) and tvec.dim() == 3:
        _check("tvec", tvec, (None, 3, 1), b)
        tvec = tvec[..., 0]
    _check("tvec", tvec, (None, 3), b)
    _check("camera_matrix", camera_matrix, (None, 3, 3), b)
    _check("image_size", image_size, (None, 2), b)
    wh = image_size.to(R).flip(dims=(1,))
    if bool((wh <= 0).any()):
        raise ValueError("image_size: heights and widths must be positive")
    if bool((wh != wh[:1]).any()):
        raise ValueError("image_size: every image of the batch must have the same height and width for pulsar")
    w, h = wh[0, 0], wh[0, 1]
    fx, fy = camera_matrix[:, 0, 0:1], camera_matrix[:, 1, 1:2]
    ratio = fx / fy
    if bool(((ratio > 1.01) | (ratio < 0.99)).any()):
        LOGGER.warning("pulsar_from_opencv_projection: pulsar has a single focal length; fx and fy differ by more "
                       "than 1 %% and are averaged, which may introduce a noticeable error")
    f_px = (fx + fy) / 2 / w  # focal length as a fraction of the image width
    focal = torch.full((b, 1), znear - 1e-5, dtype=torch.float32, device=R.device)
    sensor_width = focal / f_px
    cx = w / 2 - camera_matrix[:, 0, 2:3]
    cy = camera_matrix[:, 1, 2:3] - h / 2
    R_t = R.transpose(1, 2)
    position = -(R_t @ tvec[..., None])[..., 0]
    return torch.cat([position, matrix_to_rotation_6d(R_t), focal, sensor_width, cx, cy], dim=1)


def pulsar_from_cameras_projection(cameras: PerspectiveCameras, image_size: torch.Tensor) -> torch.Tensor:
    """Pulsar's (B, 13) camera vectors of PerspectiveCameras (through the OpenCV form, znear 0.1 as PyTorch3D)."""
    R, tvec, K = opencv_from_cameras_projection(cameras, image_size)
    return pulsar_from_opencv_projection(R, tvec, K, image_size)
