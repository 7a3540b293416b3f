"""Fisheye cameras with radial, tangential and thin-prism distortion (PyTorch3D's `FishEyeCameras`).

For a point (x, y, z) in the camera's frame, with a = x / z, b = y / z, r = |(a, b)| and th = atan(r):

    (x_r, y_r) = th (1 + k1 th^2 + k2 th^4 + ... + k6 th^12) (a, b) / r                 radial (fisheye) model
    rd^2 = x_r^2 + y_r^2
    tangential = (2 (x_r p1 + y_r p2)) (x_r, y_r) + rd^2 (p1, p2)
    thin prism = (s1 rd^2 + s2 rd^4, s3 rd^2 + s4 rd^4)
    uv = (x_r, y_r) + tangential + thin prism        ((a, b) replaces (x_r, y_r) as the base with use_radial=False)
    projection = f uv + (cu, cv), 1

`transform_points` returns (u, v, 1). `unproject_points` inverts the model by Newton's method (the tangential and
thin-prism terms jointly in 2-D, then th from rd) and returns the ray through each pixel as a camera-frame point
with z = 1; the third input coordinate (depth) is not used. As in PyTorch3D, it always inverts the radial model,
whatever `use_radial` says (PyTorch3D's tests hold it to that), and returns camera-frame points whatever
`world_coordinates` says.

Shapes follow PyTorch3D: with one camera, points (P, 3), (1, P, 3) or (M, P, 3) keep their shape; with N cameras,
(P, 3) or (1, P, 3) give (N, P, 3). The N cameras are evaluated in one batched expression (PyTorch3D loops over
them). Unlike PyTorch3D's, a pixel at the principal point unprojects to (0, 0, 1) instead of NaN, and indexing
(`cameras[i]`) keeps the focal length.
"""

from __future__ import annotations

import math

import torch

from .cameras import _R, _T, CamerasBase

__all__ = ["FishEyeCameras"]

_focal_length = torch.tensor(((1.0,),))
_principal_point = torch.tensor(((0.0, 0.0),))
_radial_params = torch.tensor(((0.0, 0.0, 0.0, 0.0, 0.0, 0.0),))
_tangential_params = torch.tensor(((0.0, 0.0),))
_thin_prism_params = torch.tensor(((0.0, 0.0, 0.0, 0.0),))


class FishEyeCameras(CamerasBase):
    """Fisheye cameras (see the module docstring for the model).

    Args:
        focal_length: (N, 1) focal length f in pixels.
        principal_point: (N, 2) principal point (cu, cv) in pixels.
        radial_params: (N, k) radial coefficients k1..k6 (k <= 6).
        tangential_params: (N, 2) tangential coefficients p1, p2.
        thin_prism_params: (N, 4) thin-prism coefficients s1..s4.
        R, T: (N, 3, 3) / (N, 3) world-to-view rotation and translation, used when `world_coordinates`.
        world_coordinates: `transform_points` takes world points (else camera-frame points).
        use_radial, use_tangential, use_thin_prism: switch each distortion term.
        device: where the parameters live.
        image_size: optional (N, 2) or (H, W) image size.
    """

    _FIELDS = ("focal_length", "principal_point", "R", "T", "radial_params", "tangential_params",
               "thin_prism_params", "world_coordinates", "use_radial", "use_tangential", "use_thin_prism", "device",
               "image_size")

    def __init__(self, focal_length=_focal_length, principal_point=_principal_point, radial_params=_radial_params,
                 tangential_params=_tangential_params, thin_prism_params=_thin_prism_params, R: torch.Tensor = _R,
                 T: torch.Tensor = _T, world_coordinates: bool = False, use_radial: bool = True,
                 use_tangential: bool = True, use_thin_prism: bool = True, device="cpu", image_size=None) -> None:
        kwargs = {"image_size": image_size} if image_size is not None else {}
        super().__init__(device=device, R=R, T=T, **kwargs)
        if image_size is not None:
            if bool((self.image_size < 1).any()):
                raise ValueError("Image_size provided has invalid values")
        else:
            self.image_size = None
        params = {}
        for name, value, width in (("focal_length", focal_length, 1), ("principal_point", principal_point, 2),
                                   ("radial_params", radial_params, None), ("tangential_params", tangential_params, 2),
                                   ("thin_prism_params", thin_prism_params, 4)):
            t = torch.as_tensor(value).to(self.device)
            if t.dim() == 1:
                t = t[None]
            if t.dim() != 2 or (width is not None and t.shape[1] != width) or (width is None and not 1 <= t.shape[1] <= 6):
                want = f"(N, {width})" if width is not None else "(N, k) with 1 <= k <= 6"
                raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}")
            params[name] = t
        sizes = {t.shape[0] for t in params.values()}
        if len(sizes - {1}) > 1:
            raise ValueError(f"the camera parameters have different batch sizes {sorted(sizes)}")
        self.focal = params["focal_length"]
        self.principal_point = params["principal_point"]
        self.radial_params = params["radial_params"]
        self.tangential_params = params["tangential_params"]
        self.thin_prism_params = params["thin_prism_params"]
        self.R = self.R.to(self.device)
        self.T = self.T.to(self.device)
        self.world_coordinates = world_coordinates
        self.use_radial = use_radial
        self.use_tangential = use_tangential
        self.use_thin_prism = use_thin_prism
        self.epsilon = 1e-10
        self.num_distortion_iters = 50
        self.num_radial = self.radial_params.shape[-1]

    @property
    def focal_length(self) -> torch.Tensor:
        return self.focal

    def _batch(self) -> int:
        return max(len(self.radial_params), len(self.focal), len(self.principal_point), len(self.tangential_params),
                   len(self.thin_prism_params))

    def _params(self, ndim: int):
        """The parameters as (N, 1 x (ndim - 2), k) tensors that broadcast against (1, ..., 2) points of ndim dims."""
        n = self._batch()
        view = lambda t: t.expand(n, t.shape[1]).reshape(n, *([1] * (ndim - 2)), t.shape[1])
        return (view(self.focal), view(self.principal_point), view(self.radial_params), view(self.tangential_params),
                view(self.thin_prism_params))

    def __getitem__(self, index) -> "FishEyeCameras":
        if isinstance(index, bool) or not (isinstance(index, (int, list)) or (torch.is_tensor(index) and index.dtype in (torch.bool, torch.int64))):
            raise ValueError(f"Invalid index type, expected int, List[int] or Bool/LongTensor; got {type(index)!r}")
        if isinstance(index, int):
            index = [index]
        n = self._batch()
        pick = lambda t: t.expand(n, *t.shape[1:])[index] if t.shape[0] in (1, n) else t[index]
        kwargs = dict(focal_length=pick(self.focal), principal_point=pick(self.principal_point),
                      radial_params=pick(self.radial_params), tangential_params=pick(self.tangential_params),
                      thin_prism_params=pick(self.thin_prism_params),
                      R=self.R.expand(n, 3, 3)[index] if len(self.R) in (1, n) else self.R[index],
                      T=self.T.expand(n, 3)[index] if len(self.T) in (1, n) else self.T[index],
                      world_coordinates=self.world_coordinates, use_radial=self.use_radial,
                      use_tangential=self.use_tangential, use_thin_prism=self.use_thin_prism, device=self.device)
        if self.image_size is not None:
            kwargs["image_size"] = self.image_size[index]
        return FishEyeCameras(**kwargs)

    def clone(self) -> "FishEyeCameras":
        return super(CamerasBase, self).clone(FishEyeCameras(device=self.device))

    # ------------------------------------------------------------------ projection
    @staticmethod
    def _check_points(points: torch.Tensor, batch_size: int, what: str = "points") -> None:
        ok = points.dim() in (2, 3) and points.shape[-1] == 3
        if ok and points.dim() == 3 and points.shape[0] > 1 and batch_size > 1:
            ok = False
        if not ok:
            raise ValueError(f"Expected {what} of (P, 3) with batch_size 1 or N, or shape (M, P, 3) with batch_size 1; "
                             f"got {what} of shape {tuple(points.shape)!r} and batch_size {batch_size!r}")

    def _radial_poly(self, th: torch.Tensor, k: torch.Tensor, derivative: bool = False) -> torch.Tensor:
        """1 + sum_i k_i th^(2i) (or its derivative's factor 1 + sum_i (2i + 1) k_i th^(2i))."""
        t = th * th
        out = torch.ones_like(th)
        power = torch.ones_like(th)
        for i in range(k.shape[-1]):
            power = power * t
            coeff = k[..., i] * (2 * i + 3) if derivative else k[..., i]
            out = out + coeff * power
        return out

    def _distort(self, xr: torch.Tensor, base: torch.Tensor, p: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """uv = base + tangential(xr) + thin prism(xr)."""
        uv = base
        rd2 = (xr * xr).sum(-1, keepdim=True)
        if self.use_tangential:
            uv = uv + 2 * (xr * p).sum(-1, keepdim=True) * xr + rd2 * p
        if self.use_thin_prism:
            powers = torch.cat([rd2, rd2 * rd2], dim=-1)
            uv = uv + torch.stack([(s[..., 0:2] * powers).sum(-1), (s[..., 2:4] * powers).sum(-1)], dim=-1)
        return uv

    def transform_points(self, points, eps: float | None = None, **kwargs) -> torch.Tensor:
        """(u, v, 1) pixels of camera-frame points (world points with `world_coordinates`); see the module
        docstring for shapes."""
        if self.world_coordinates:
            points = self.get_world_to_view_transform(R=self.R, T=self.T).transform_points(points.to(self.device), eps=eps)
        else:
            points = points.to(self.device)
        n = self._batch()
        self._check_points(points, n)
        pts = points[None]
        f, pp, k, p, s = self._params(pts.dim())
        ab = pts[..., :2] / pts[..., 2:]
        r = ab.norm(dim=-1)
        th = r.atan()
        small = r.abs() < self.epsilon
        th_divr = torch.where(small, torch.ones_like(r), th / torch.where(small, torch.ones_like(r), r))
        xr = (self._radial_poly(th, k) * th_divr)[..., None] * ab
        uv = self._distort(xr, xr if self.use_radial else ab, p, s)
        proj = f * uv + pp
        out = torch.cat([proj, torch.ones_like(proj[..., :1])], dim=-1)
        return out[0] if n == 1 else out.squeeze()

    def _undistort(self, uvd: torch.Tensor, p: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """(x_r, y_r) whose distortion is uvd: Newton's method on the 2-D map (closed-form 2 x 2 inverse)."""
        if not self.use_tangential and not self.use_thin_prism:
            return uvd
        xr = uvd
        for _ in range(self.num_distortion_iters):
            est = self._distort(xr, xr, p, s)
            x, y = xr[..., 0], xr[..., 1]
            rd2 = x * x + y * y
            one = torch.ones_like(x)
            if self.use_tangential:
                j00 = one + 6 * x * p[..., 0] + 2 * y * p[..., 1]
                j01 = 2 * (x * p[..., 1] + y * p[..., 0])
                j10 = j01
                j11 = one + 6 * y * p[..., 1] + 2 * x * p[..., 0]
            else:
                j00, j01, j10, j11 = one, torch.zeros_like(x), torch.zeros_like(x), one
            if self.use_thin_prism:
                t1 = 2 * (s[..., 0] + 2 * s[..., 1] * rd2)
                t2 = 2 * (s[..., 2] + 2 * s[..., 3] * rd2)
                j00, j01 = j00 + x * t1, j01 + y * t1
                j10, j11 = j10 + x * t2, j11 + y * t2
            det = j00 * j11 - j01 * j10
            rx, ry = (uvd - est)[..., 0], (uvd - est)[..., 1]
            xr = xr + torch.stack([j11 * rx - j01 * ry, j00 * ry - j10 * rx], dim=-1) / det[..., None]
        return xr

    def _theta(self, k: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """th with th (1 + sum k_i th^(2i)) = target, by Newton's method kept inside (-pi/2, pi/2)."""
        th = target
        eps = self.epsilon
        for _ in range(self.num_distortion_iters):
            value = self._radial_poly(th, k) * th
            slope = self._radial_poly(th, k, derivative=True)
            resid = target - value
            steep = slope.abs() > eps
            nudge = torch.where(resid * slope > 0, torch.full_like(th, 10 * eps), torch.full_like(th, -10 * eps))
            th = th + torch.where(steep, resid / torch.where(steep, slope, torch.ones_like(slope)), nudge)
            th = torch.where(th.abs() >= math.pi / 2, torch.full_like(th, 0.999 * math.pi / 2), th)
        return th

    def unproject_points(self, xy_depth: torch.Tensor, world_coordinates: bool = True,
                         scaled_depth_input: bool = False, **kwargs) -> torch.Tensor:
        """Camera-frame points with z = 1 on the rays through the pixels xy_depth[..., :2] (see the module
        docstring)."""
        xy_depth = xy_depth.to(self.device)
        if xy_depth.shape[-1] < 2:
            raise ValueError(f"xy_depth must have at least 2 coordinates in its last dimension, got {tuple(xy_depth.shape)}")
        n = self._batch()
        xy = xy_depth[None, ..., 0:2]
        f, pp, k, p, s = self._params(xy.dim())
        xr = self._undistort((xy - pp) / f, p, s)
        norm = xr.norm(dim=-1)
        th = self._theta(k, norm)
        small = norm < self.epsilon
        scale = torch.where(small, torch.ones_like(norm), th.tan() / torch.where(small, torch.ones_like(norm), norm))
        xy_out = (scale[..., None] * xr).expand(*pp.shape[:1], *xr.shape[1:]) if n > 1 else scale[..., None] * xr
        out = torch.cat([xy_out, torch.ones_like(xy_out[..., :1])], dim=-1)
        return out[0] if n == 1 else out.squeeze()

    def get_projection_transform(self, **kwargs):
        raise NotImplementedError("FishEyeCameras: the fisheye projection is not a matrix; use transform_points")

    def in_ndc(self) -> bool:
        return True

    def is_perspective(self) -> bool:
        return False
