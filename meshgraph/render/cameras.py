"""Batched cameras with PyTorch3D's conventions, so PyTorch3D code can swap its imports.

Conventions (PyTorch3D's):
- Row vectors: view = world @ R + T, with R (N, 3, 3) and T (N, 3).
- View space: +x left, +y up, +z into the screen (the camera looks along +z); z is the depth.
- NDC: +x left, +y up; the shorter image side spans [-1, 1], the longer one [-s, s] with s = long / short.
- Screen: pixels, (0, 0) is the top-left corner of the top-left pixel, pixel (y, x) has its centre at
  (x + 0.5, y + 0.5).

The rasterizers take "raster space": NDC x, y and the view-space depth z (`transform_points_raster`), exactly what
PyTorch3D's rasterizers build internally.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F


def _batch(values, name: str, width: int | None, dtype=torch.float32, device=None) -> torch.Tensor:
    """A (N, width) tensor (or (N,) when width is None) from a scalar, a sequence or a tensor."""
    t = values if isinstance(values, torch.Tensor) else torch.tensor(values, dtype=dtype)
    t = t.to(device=device) if device is not None else t
    if not t.is_floating_point():
        t = t.to(dtype)
    if width is None:
        if t.dim() > 1:
            raise ValueError(f"{name} must be a scalar or (N,), got shape {tuple(t.shape)}")
        return t.reshape(-1)
    if t.dim() == 0:
        t = t.expand(width)
    if t.dim() == 1:
        t = t[None]
    if t.dim() != 2 or t.shape[1] != width:
        raise ValueError(f"{name} must be ({width},) or (N, {width}), got shape {tuple(t.shape)}")
    return t


def camera_position_from_spherical_angles(distance, elevation, azimuth, degrees: bool = True, device=None) -> torch.Tensor:
    """(N, 3) camera centres on a sphere around the origin (PyTorch3D's convention: azimuth 0 looks from +z)."""
    d, e, a = (_batch(v, n, None, device=device) for v, n in ((distance, "dist"), (elevation, "elev"), (azimuth, "azim")))
    d, e, a = torch.broadcast_tensors(d, e, a)
    if degrees:
        e, a = e * (math.pi / 180), a * (math.pi / 180)
    return torch.stack([d * torch.cos(e) * torch.sin(a), d * torch.sin(e), d * torch.cos(e) * torch.cos(a)], 1)


def look_at_rotation(camera_position, at=((0, 0, 0),), up=((0, 1, 0),), device=None) -> torch.Tensor:
    """(N, 3, 3) world-to-view rotations of cameras at `camera_position` looking at `at` with `up` upwards."""
    c = _batch(camera_position, "camera_position", 3, device=device)
    at_t = _batch(at, "at", 3, dtype=c.dtype, device=c.device)
    up_t = _batch(up, "up", 3, dtype=c.dtype, device=c.device)
    c, at_t, up_t = torch.broadcast_tensors(c, at_t, up_t)
    z = F.normalize(at_t - c, eps=1e-5)
    x = F.normalize(torch.cross(up_t, z, dim=1), eps=1e-5)
    y = F.normalize(torch.cross(z, x, dim=1), eps=1e-5)
    degenerate = torch.isclose(x, torch.zeros_like(x), atol=5e-3).all(1, keepdim=True)
    x = torch.where(degenerate, F.normalize(torch.cross(y, z, dim=1), eps=1e-5), x)
    return torch.stack([x, y, z], 1).transpose(1, 2)


def look_at_view_transform(dist=1.0, elev=0.0, azim=0.0, degrees: bool = True, eye=None, at=((0, 0, 0),),
                           up=((0, 1, 0),), device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(R (N, 3, 3), T (N, 3)) for cameras on a sphere (dist, elev, azim) around `at`, or at `eye`, looking at `at`
    (PyTorch3D's `look_at_view_transform`)."""
    if eye is not None:
        c = _batch(eye, "eye", 3, device=device)
    else:
        c = camera_position_from_spherical_angles(dist, elev, azim, degrees, device=device)
        c = c + _batch(at, "at", 3, dtype=c.dtype, device=c.device)
    R = look_at_rotation(c, at, up, device=c.device)
    T = -torch.bmm(R.transpose(1, 2), c.expand(R.shape[0], 3)[:, :, None])[:, :, 0]
    return R, T


class CamerasBase:
    """Shared world -> view -> NDC -> screen machinery; subclasses define `_project(view) -> ndc`."""

    def __init__(self, R=None, T=None, device=None, dtype=torch.float32):
        R = torch.eye(3, dtype=dtype)[None] if R is None else torch.as_tensor(R, dtype=dtype)
        T = torch.zeros(1, 3, dtype=dtype) if T is None else torch.as_tensor(T, dtype=dtype)
        if R.dim() == 2:
            R = R[None]
        if T.dim() == 1:
            T = T[None]
        if R.shape[1:] != (3, 3):
            raise ValueError(f"R must be (N, 3, 3), got {tuple(R.shape)}")
        if T.shape[1:] != (3,):
            raise ValueError(f"T must be (N, 3), got {tuple(T.shape)}")
        self.R, self.T = R.to(device) if device else R, T.to(device) if device else T
        self._params: list[str] = []

    # -- batch handling ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return max([self.R.shape[0], self.T.shape[0]] + [getattr(self, p).shape[0] for p in self._params])

    @property
    def device(self) -> torch.device:
        return self.R.device

    def to(self, device) -> CamerasBase:
        import copy

        out = copy.copy(self)
        for name in ["R", "T", *self._params]:
            setattr(out, name, getattr(self, name).to(device))
        return out

    def __getitem__(self, index) -> CamerasBase:
        import copy

        out = copy.copy(self)
        n = len(self)
        idx = torch.arange(n)[index]
        idx = idx.reshape(-1)
        for name in ["R", "T", *self._params]:
            t = getattr(self, name)
            setattr(out, name, t.expand(n, *t.shape[1:])[idx.to(t.device)])
        return out

    def _expand(self, t: torch.Tensor, n: int) -> torch.Tensor:
        if t.shape[0] == n:
            return t
        if t.shape[0] == 1:
            return t.expand(n, *t.shape[1:])
        raise ValueError(f"cameras hold a batch of {t.shape[0]} but the points have {n}")

    def _points(self, points: torch.Tensor) -> torch.Tensor:
        if not isinstance(points, torch.Tensor) or points.shape[-1] != 3 or points.dim() not in (2, 3):
            raise ValueError("points must be (P, 3) or (N, P, 3)")
        return points

    # -- transforms ----------------------------------------------------------------------------------------
    def get_world_to_view_transform(self) -> torch.Tensor:
        """(N, 4, 4) matrices M with [view, 1] = [world, 1] @ M (row vectors)."""
        n = len(self)
        M = torch.zeros(n, 4, 4, dtype=self.R.dtype, device=self.device)
        M[:, :3, :3] = self._expand(self.R, n)
        M[:, 3, :3] = self._expand(self.T, n)
        M[:, 3, 3] = 1
        return M

    def get_camera_center(self) -> torch.Tensor:
        """(N, 3) camera centres in world space: -T @ R^T."""
        n = len(self)
        R, T = self._expand(self.R, n), self._expand(self.T, n)
        return -torch.bmm(T[:, None, :], R.transpose(1, 2))[:, 0]

    def transform_points_view(self, points: torch.Tensor) -> torch.Tensor:
        """World -> view. points (N, P, 3) (or (P, 3), applied to every camera)."""
        points = self._points(points)
        pts = points[None] if points.dim() == 2 else points
        n = max(len(self), pts.shape[0])
        R = self._expand(self.R, n).to(pts.dtype)
        T = self._expand(self.T, n).to(pts.dtype)
        return torch.baddbmm(T[:, None, :], pts.expand(n, -1, -1), R)

    def transform_points_ndc(self, points: torch.Tensor, eps: float | None = None) -> torch.Tensor:
        """World -> NDC (x, y in NDC; z the camera's projected depth, as PyTorch3D's transform_points_ndc)."""
        return self._project(self.transform_points_view(points), eps)

    transform_points = transform_points_ndc

    def transform_points_raster(self, points: torch.Tensor, eps: float | None = None) -> torch.Tensor:
        """World -> raster space: NDC x, y and the view depth z (the input of the rasterizers)."""
        view = self.transform_points_view(points)
        ndc = self._project(view, eps)
        return torch.cat([ndc[..., :2], view[..., 2:]], -1)

    def view_to_raster(self, view: torch.Tensor, eps: float | None = None) -> torch.Tensor:
        """View space (N, P, 3) -> raster space: NDC x, y and the view depth z."""
        ndc = self._project(view, eps)
        return torch.cat([ndc[..., :2], view[..., 2:]], -1)

    def transform_points_screen(self, points: torch.Tensor, image_size, eps: float | None = None) -> torch.Tensor:
        """World -> screen pixels for images of image_size S or (H, W); z as in transform_points_ndc."""
        from ..ops.rasterize_points import image_hw

        H, W = image_hw(image_size)
        ndc = self.transform_points_ndc(points, eps)
        s = min(H, W) / 2.0
        return torch.stack([W / 2.0 - ndc[..., 0] * s, H / 2.0 - ndc[..., 1] * s, ndc[..., 2]], -1)

    def is_perspective(self) -> bool:
        raise NotImplementedError

    @staticmethod
    def _divide(v: torch.Tensor, z: torch.Tensor, eps: float | None) -> torch.Tensor:
        if eps is not None:
            z = torch.where(z.abs() < eps, torch.where(z < 0, -eps, eps), z)
        return v / z


class FoVPerspectiveCameras(CamerasBase):
    """OpenGL-style perspective camera from a vertical field of view (PyTorch3D's FoVPerspectiveCameras).

    x_ndc = x / (z tan(fov/2) aspect_ratio), y_ndc = y / (z tan(fov/2)), z_ndc = f/(f-n) - f n / ((f-n) z).
    """

    def __init__(self, znear=1.0, zfar=100.0, aspect_ratio=1.0, fov=60.0, degrees: bool = True, R=None, T=None,
                 device=None, dtype=torch.float32):
        super().__init__(R, T, device, dtype)
        dev = self.R.device
        self.znear, self.zfar = _batch(znear, "znear", None, dtype, dev), _batch(zfar, "zfar", None, dtype, dev)
        self.aspect_ratio = _batch(aspect_ratio, "aspect_ratio", None, dtype, dev)
        fov_t = _batch(fov, "fov", None, dtype, dev)
        self.fov = fov_t * (math.pi / 180) if degrees else fov_t
        self._params = ["znear", "zfar", "aspect_ratio", "fov"]

    def is_perspective(self) -> bool:
        return True

    def _project(self, view: torch.Tensor, eps=None) -> torch.Tensor:
        n = view.shape[0]
        tan = torch.tan(self._expand(self.fov, n) / 2).to(view.dtype)[:, None]
        ar = self._expand(self.aspect_ratio, n).to(view.dtype)[:, None]
        zn, zf = self._expand(self.znear, n).to(view.dtype)[:, None], self._expand(self.zfar, n).to(view.dtype)[:, None]
        z = view[..., 2]
        x = self._divide(view[..., 0] / (tan * ar), z, eps)
        y = self._divide(view[..., 1] / tan, z, eps)
        zndc = zf / (zf - zn) - self._divide(zf * zn / (zf - zn), z, eps)
        return torch.stack([x, y, zndc], -1)


class FoVOrthographicCameras(CamerasBase):
    """Orthographic camera on the box [min_x, max_x] x [min_y, max_y] x [znear, zfar] (PyTorch3D's)."""

    def __init__(self, znear=1.0, zfar=100.0, max_y=1.0, min_y=-1.0, max_x=1.0, min_x=-1.0, scale_xyz=((1.0, 1.0, 1.0),),
                 R=None, T=None, device=None, dtype=torch.float32):
        super().__init__(R, T, device, dtype)
        dev = self.R.device
        for name, v in (("znear", znear), ("zfar", zfar), ("max_y", max_y), ("min_y", min_y), ("max_x", max_x), ("min_x", min_x)):
            setattr(self, name, _batch(v, name, None, dtype, dev))
        self.scale_xyz = _batch(scale_xyz, "scale_xyz", 3, dtype, dev)
        self._params = ["znear", "zfar", "max_y", "min_y", "max_x", "min_x", "scale_xyz"]

    def is_perspective(self) -> bool:
        return False

    def _project(self, view: torch.Tensor, eps=None) -> torch.Tensor:
        n = view.shape[0]
        g = {p: self._expand(getattr(self, p), n).to(view.dtype) for p in self._params}
        s = g["scale_xyz"][:, None, :]
        x = 2 / (g["max_x"] - g["min_x"])[:, None] * view[..., 0] * s[..., 0] - ((g["max_x"] + g["min_x"]) / (g["max_x"] - g["min_x"]))[:, None]
        y = 2 / (g["max_y"] - g["min_y"])[:, None] * view[..., 1] * s[..., 1] - ((g["max_y"] + g["min_y"]) / (g["max_y"] - g["min_y"]))[:, None]
        zr = (g["zfar"] - g["znear"])[:, None]
        z = view[..., 2] * s[..., 2] / zr - g["znear"][:, None] / zr
        return torch.stack([x, y, z], -1)


class _IntrinsicsCameras(CamerasBase):
    """Cameras from focal lengths and principal points, in NDC units or (in_ndc=False) in pixels."""

    def __init__(self, focal_length=1.0, principal_point=((0.0, 0.0),), R=None, T=None, in_ndc: bool = True,
                 image_size=None, device=None, dtype=torch.float32):
        super().__init__(R, T, device, dtype)
        dev = self.R.device
        f = focal_length if isinstance(focal_length, torch.Tensor) else torch.tensor(focal_length, dtype=dtype)
        f = f.to(dev, dtype)
        if f.dim() == 0:
            f = f.expand(1, 2)
        elif f.dim() == 1:  # (N,): the same focal length along x and y
            f = f[:, None].expand(-1, 2)
        self.focal_length = _batch(f, "focal_length", 2, dtype, dev)
        self.principal_point = _batch(principal_point, "principal_point", 2, dtype, dev)
        self.in_ndc = in_ndc
        if not in_ndc:
            if image_size is None:
                raise ValueError("image_size is required when in_ndc=False (screen-space intrinsics)")
            hw = _batch(image_size, "image_size", 2, dtype, dev)  # (N, 2) as (H, W)
            scale = hw.min(1, keepdim=True).values / 2
            self.focal_length = self.focal_length / scale
            self.principal_point = torch.stack(
                [-(self.principal_point[:, 0] - hw[:, 1] / 2), -(self.principal_point[:, 1] - hw[:, 0] / 2)], 1
            ) / scale
        self._params = ["focal_length", "principal_point"]

    def _fp(self, view):
        n = view.shape[0]
        f = self._expand(self.focal_length, n).to(view.dtype)[:, None, :]
        p = self._expand(self.principal_point, n).to(view.dtype)[:, None, :]
        return f, p


class PerspectiveCameras(_IntrinsicsCameras):
    """Pinhole camera: x_ndc = fx x / z + px, y_ndc = fy y / z + py, z_ndc = 1 / z (PyTorch3D's
    PerspectiveCameras; with in_ndc=False, focal_length and principal_point are in pixels of image_size (H, W))."""

    def is_perspective(self) -> bool:
        return True

    def _project(self, view: torch.Tensor, eps=None) -> torch.Tensor:
        f, p = self._fp(view)
        z = view[..., 2:]
        xy = self._divide(view[..., :2] * f, z, eps) + p
        return torch.cat([xy, self._divide(torch.ones_like(z), z, eps)], -1)


class OrthographicCameras(_IntrinsicsCameras):
    """Orthographic camera: x_ndc = fx x + px, y_ndc = fy y + py, z_ndc = z (PyTorch3D's OrthographicCameras)."""

    def is_perspective(self) -> bool:
        return False

    def _project(self, view: torch.Tensor, eps=None) -> torch.Tensor:
        f, p = self._fp(view)
        return torch.cat([view[..., :2] * f + p, view[..., 2:]], -1)
