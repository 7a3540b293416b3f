"""Batched cameras with PyTorch3D's conventions and constructors, so PyTorch3D code can swap its imports.

Conventions (PyTorch3D's):
- Row vectors: view = world @ R + T, with R (N, 3, 3) and T (N, 3); transforms are `meshgraph.transforms.Transform3d`.
- View space: +x left, +y up, +z into the screen (the camera looks along +z); z is the depth.
- NDC: +x left, +y up; the shorter image side spans [-1, 1], the longer one [-s, s] with s = long / short.
- Screen: pixels, (0, 0) is the top-left corner of the top-left pixel, pixel (y, x) has its centre at
  (x + 0.5, y + 0.5).

Every constructor argument is broadcast to a batch of N (a scalar, a sequence or a tensor with a leading 1 or N),
as PyTorch3D's TensorProperties does. The rasterizers take "raster space": NDC x, y and the view-space depth z
(`transform_points_raster`), exactly what PyTorch3D's rasterizers build internally.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ..transforms import Rotate, Transform3d, Translate
from ..transforms.transform3d import _device

_R = torch.eye(3)[None]  # (1, 3, 3)
_T = torch.zeros(1, 3)  # (1, 3)
_BROADCAST = (float, int, list, tuple, torch.Tensor, np.ndarray)


def _as_batch(value, dtype=torch.float32, device="cpu") -> torch.Tensor:
    t = value if torch.is_tensor(value) else torch.tensor(value, dtype=dtype, device=device)
    t = t.view(1) if t.dim() == 0 else t
    return t if t.device == torch.device(device) else t.to(device)


def convert_to_tensors_and_broadcast(*args, dtype: torch.dtype = torch.float32, device="cpu"):
    """Each argument (scalar, sequence, (1, ...) or (N, ...) tensor) as a tensor with the common leading N."""
    device = _device(device)
    ts = [_as_batch(a, dtype, device) for a in args]
    sizes = [t.shape[0] for t in ts]
    n = max(sizes)
    if any(s not in (1, n) for s in sizes):
        raise ValueError(f"Got non-broadcastable sizes {sizes!r}")
    return [t.expand(n, *t.shape[1:]) for t in ts]


class TensorAccessor(torch.nn.Module):
    """Reads and writes the tensor fields of a TensorProperties object at one batch index (PyTorch3D's)."""

    def __init__(self, class_object, index) -> None:
        self.__dict__["class_object"] = class_object
        self.__dict__["index"] = index

    def __setattr__(self, name: str, value) -> None:
        v = getattr(self.class_object, name)
        if not torch.is_tensor(v):
            raise AttributeError(f"Can only set values on attributes which are tensors; got {type(v)!r}")
        if not torch.is_tensor(value):
            value = torch.tensor(value, device=v.device, dtype=v.dtype, requires_grad=v.requires_grad)
        if v.dim() > 1 and value.dim() > 1 and value.shape[1:] != v.shape[1:]:
            raise ValueError(f"Expected value to have shape {v.shape!r}; got {value.shape!r}")
        if v.dim() == 0 and isinstance(self.index, slice) and len(value) != len(self.index):
            raise ValueError(f"Expected value to have len {len(self.index)!r}; got {len(value)!r}")
        self.class_object.__dict__[name][self.index] = value

    def __getattr__(self, name: str):
        if hasattr(self.class_object, name):
            return self.class_object.__dict__[name][self.index]
        return AttributeError(f"Attribute {name} not found on {type(self.class_object).__name__!r}")


class TensorProperties(torch.nn.Module):
    """Batched tensor fields (PyTorch3D's TensorProperties): keyword arguments that are numbers, sequences,
    arrays or tensors are broadcast to one leading batch size N (`len`); None, str and bool are kept as they are."""

    def __init__(self, dtype: torch.dtype = torch.float32, device="cpu", **kwargs) -> None:
        super().__init__()
        self.device = _device(device)
        self._N = 0
        batched = {}
        for k, v in kwargs.items():
            if v is None or isinstance(v, (str, bool)):
                setattr(self, k, v)
            elif isinstance(v, _BROADCAST):
                batched[k] = v
            else:
                warnings.warn(f"Arg {k} with type {type(v)!r} is not broadcastable")
        if batched:
            values = convert_to_tensors_and_broadcast(*batched.values(), dtype=dtype, device=self.device)
            for k, v in zip(batched, values):
                setattr(self, k, v)
            self._N = values[0].shape[0]

    def __len__(self) -> int:
        return self._N

    def isempty(self) -> bool:
        return self._N == 0

    def __getitem__(self, index):
        """A TensorAccessor reading / writing every tensor field at index (an int or a slice)."""
        if isinstance(index, (int, slice)):
            return TensorAccessor(class_object=self, index=index)
        raise ValueError(f"Expected index of type int or slice; got {type(index)!r}")

    def to(self, device="cpu"):
        """Moves every tensor field to `device`, in place (PyTorch3D's semantics); returns self."""
        device = _device(device)
        for k, v in list(vars(self).items()):
            if torch.is_tensor(v) and v.device != device:
                setattr(self, k, v.to(device))
        self.device = device
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device: int | None = None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def clone(self, other):
        """Copies every field of self onto `other` (tensors cloned, the rest deep-copied); returns other."""
        for k, v in vars(self).items():
            other.__dict__[k] = v.clone() if torch.is_tensor(v) else copy.deepcopy(v)
        return other

    def gather_props(self, batch_idx: torch.Tensor):
        """In place: every tensor field with more than one row becomes field[batch_idx] (batch_idx (B, ...)),
        e.g. per-mesh values spread to the packed vertices."""
        for k, v in list(vars(self).items()):
            if not torch.is_tensor(v) or v.dim() == 0 or v.shape[0] <= 1:
                continue
            if batch_idx.dim() > v.dim():
                raise ValueError(f"batch_idx cannot have more dimensions than {k}. got shape {batch_idx.shape!r} "
                                 f"and {k} has shape {v.shape!r}")
            idx = batch_idx
            if idx.shape != v.shape:
                idx = idx.view(*idx.shape, *([1] * (v.dim() - idx.dim()))).expand(-1, *v.shape[1:])
            setattr(self, k, v.gather(0, idx))
        return self


class CamerasBase(TensorProperties):
    """Shared world -> view -> projection (NDC or screen) -> NDC -> screen machinery (PyTorch3D's CamerasBase).

    Subclasses define `get_projection_transform`, `is_perspective`, `in_ndc` and `unproject_points`, and list
    their constructor fields in `_FIELDS` (used by `__getitem__` and `join_cameras_as_batch`).
    """

    _FIELDS: tuple[str, ...] = ()
    _SHARED_FIELDS: tuple[str, ...] = ()

    def clone(self) -> CamerasBase:
        """A copy of self with every tensor cloned and every other field deep-copied."""
        return super().clone(type(self)(device=self.device))

    def __getitem__(self, index) -> CamerasBase:
        """The cameras at `index` (int, list of ints, bool or long tensor), as a new camera object."""
        is_tensor_index = torch.is_tensor(index) and index.dtype in (torch.bool, torch.int64)
        if not (isinstance(index, (int, list)) or is_tensor_index) or isinstance(index, bool) or (
            isinstance(index, list) and not all(isinstance(i, int) and not isinstance(i, bool) for i in index)
        ):
            raise ValueError(f"Invalid index type, expected int, List[int] or Bool/LongTensor; got {type(index)!r}")
        if isinstance(index, int):
            index = [index]
        if torch.is_tensor(index) and index.dtype == torch.bool:
            if index.ndim != 1 or index.shape[0] != len(self):
                raise ValueError(f"Boolean index of shape {index.shape} does not match cameras")
        elif len(index) and max(index) >= len(self):
            raise IndexError(f"Index {max(index)} is out of bounds for select cameras")
        kwargs = {}
        for field in self._FIELDS:
            val = getattr(self, field, None)
            if val is None:
                continue
            name = field[1:] if field.startswith("_") else field
            if isinstance(val, (str, bool)):
                kwargs[name] = val
            elif torch.is_tensor(val):
                kwargs[name] = val[index]
            else:
                raise ValueError(f"Field {field} type is not supported for indexing")
        kwargs["device"] = self.device
        return self.__class__(**kwargs)

    # -- transforms ----------------------------------------------------------------------------------------
    def _dtype(self) -> torch.dtype:
        R = getattr(self, "R", None)
        return R.dtype if torch.is_tensor(R) and R.is_floating_point() else torch.float32

    def get_projection_transform(self, **kwargs) -> Transform3d:
        """The view -> projection-space (NDC or screen) transform."""
        raise NotImplementedError()

    def unproject_points(self, xy_depth: torch.Tensor, **kwargs) -> torch.Tensor:
        raise NotImplementedError()

    def is_perspective(self) -> bool:
        raise NotImplementedError()

    def in_ndc(self) -> bool:
        """Whether the projection lands in NDC (else in screen pixels)."""
        raise NotImplementedError()

    def get_world_to_view_transform(self, **kwargs) -> Transform3d:
        """World -> view: Rotate(R) then Translate(T). R / T in kwargs replace (and update) the stored ones."""
        self.R = kwargs.get("R", self.R)
        self.T = kwargs.get("T", self.T)
        return get_world_to_view_transform(R=self.R, T=self.T)

    def get_full_projection_transform(self, **kwargs) -> Transform3d:
        """World -> projection space (NDC or screen, as the camera is defined)."""
        self.R = kwargs.get("R", self.R)
        self.T = kwargs.get("T", self.T)
        w2v = self.get_world_to_view_transform(R=self.R, T=self.T)
        return w2v.compose(self.get_projection_transform(**kwargs))

    def get_camera_center(self, **kwargs) -> torch.Tensor:
        """(N, 3) camera centres in world space (the translation of the inverse world -> view transform)."""
        return self.get_world_to_view_transform(**kwargs).inverse().get_matrix()[:, 3, :3]

    def transform_points(self, points, eps: float | None = None, **kwargs) -> torch.Tensor:
        """World (..., P, 3) -> projection space (NDC or screen, as the camera is defined)."""
        return self.get_full_projection_transform(**kwargs).transform_points(points, eps=eps)

    def get_ndc_camera_transform(self, **kwargs) -> Transform3d:
        """Projection space -> PyTorch3D NDC (the identity for NDC cameras; a rescaling for screen ones)."""
        if self.in_ndc():
            return Transform3d(device=self.device, dtype=torch.float32)
        image_size = kwargs.get("image_size", self.get_image_size())
        return get_screen_to_ndc_transform(self, with_xyflip=False, image_size=image_size)

    def transform_points_ndc(self, points, eps: float | None = None, **kwargs) -> torch.Tensor:
        """World -> NDC (x, y in NDC, z the projection's depth)."""
        t = self.get_full_projection_transform(**kwargs)
        if not self.in_ndc():
            t = t.compose(self.get_ndc_camera_transform(**kwargs))
        return t.transform_points(points, eps=eps)

    def transform_points_screen(self, points, eps: float | None = None, with_xyflip: bool = True,
                                **kwargs) -> torch.Tensor:
        """World -> screen pixels (+x right, +y down from the top-left corner) for `image_size` (H, W) given in
        kwargs or stored on the camera."""
        ndc = self.transform_points_ndc(points, eps=eps, **kwargs)
        image_size = kwargs.get("image_size", self.get_image_size())
        return get_ndc_to_screen_transform(self, with_xyflip=with_xyflip, image_size=image_size).transform_points(
            ndc, eps=eps
        )

    def get_znear(self):
        return getattr(self, "znear", None)

    def get_image_size(self):
        """(H, W) image size given to the constructor, or None."""
        return getattr(self, "image_size", None)

    # -- meshgraph's rasterizer input ------------------------------------------------------------------
    def transform_points_view(self, points: torch.Tensor, **kwargs) -> torch.Tensor:
        """World -> view space."""
        return self.get_world_to_view_transform(**kwargs).transform_points(points)

    def view_to_raster(self, view: torch.Tensor, eps: float | None = None, **kwargs) -> torch.Tensor:
        """View space (N, P, 3) -> raster space: NDC x, y and the view depth z (what MeshRasterizer feeds
        rasterize_meshes)."""
        t = self.get_projection_transform(**kwargs).compose(self.get_ndc_camera_transform(**kwargs))
        ndc = t.transform_points(view, eps=eps)
        return torch.cat([ndc[..., :2], view[..., 2:]], -1)

    def transform_points_raster(self, points: torch.Tensor, eps: float | None = None, **kwargs) -> torch.Tensor:
        """World -> raster space: NDC x, y and the view depth z (the input of the rasterizers)."""
        view = self.get_world_to_view_transform(**kwargs).transform_points(points, eps=eps)
        return self.view_to_raster(view, eps, **kwargs)


def _matrix_transform(cam: CamerasBase, K: torch.Tensor) -> Transform3d:
    """Transform3d of a column-vector matrix K (N, 4, 4)."""
    return Transform3d(matrix=K.transpose(1, 2).contiguous(), device=cam.device)


def _projection(cam: CamerasBase, kwargs: dict, fields: tuple[str, ...]) -> Transform3d:
    """The camera's projection: K from kwargs or the camera if given (checked (N, 4, 4)), else
    cam.compute_projection_matrix of `fields` (kwargs override the stored values)."""
    K = kwargs.get("K", cam.K)
    if K is not None:
        if K.shape != (cam._N, 4, 4):
            raise ValueError(f"Expected K to have shape of ({cam._N!r}, 4, 4)")
    else:
        K = cam.compute_projection_matrix(*(kwargs.get(f, getattr(cam, f)) for f in fields))
    return _matrix_transform(cam, K)


class FoVPerspectiveCameras(CamerasBase):
    """OpenGL-style perspective camera from a field of view (PyTorch3D's FoVPerspectiveCameras).

    K = [[s / ar, 0, 0, 0], [0, s, 0, 0], [0, 0, f / (f - n), -f n / (f - n)], [0, 0, 1, 0]] with s = 1 / tan(fov / 2):
    x_ndc = x / (z tan(fov/2) ar), y_ndc = y / (z tan(fov/2)), z_ndc = f/(f-n) - f n / ((f-n) z) (0 at znear, 1 at
    zfar). `fov` is in degrees unless degrees=False; K (N, 4, 4) replaces the matrix when given.
    """

    _FIELDS = ("K", "znear", "zfar", "aspect_ratio", "fov", "R", "T", "degrees")
    _SHARED_FIELDS = ("degrees",)

    def __init__(self, znear=1.0, zfar=100.0, aspect_ratio=1.0, fov=60.0, degrees: bool = True,
                 R: torch.Tensor = _R, T: torch.Tensor = _T, K: torch.Tensor | None = None, device="cpu") -> None:
        super().__init__(device=device, znear=znear, zfar=zfar, aspect_ratio=aspect_ratio, fov=fov, R=R, T=T, K=K)
        self.degrees = degrees

    def compute_projection_matrix(self, znear, zfar, fov, aspect_ratio, degrees: bool) -> torch.Tensor:
        """The (N, 4, 4) column-vector projection matrix."""
        dtype = self._dtype()
        K = torch.zeros((self._N, 4, 4), device=self.device, dtype=dtype)
        fov = fov if torch.is_tensor(fov) else torch.tensor(fov, device=self.device)
        if degrees:
            fov = (math.pi / 180) * fov
        half_h = torch.tan(fov / 2) * znear  # max_y; min_y = -max_y
        half_w = half_h * aspect_ratio
        K[:, 0, 0] = znear / half_w
        K[:, 1, 1] = znear / half_h
        K[:, 3, 2] = 1.0
        K[:, 2, 2] = zfar / (zfar - znear)
        K[:, 2, 3] = -(zfar * znear) / (zfar - znear)
        return K

    def get_projection_transform(self, **kwargs) -> Transform3d:
        return _projection(self, kwargs, ("znear", "zfar", "fov", "aspect_ratio", "degrees"))

    def unproject_points(self, xy_depth: torch.Tensor, world_coordinates: bool = True,
                         scaled_depth_input: bool = False, **kwargs) -> torch.Tensor:
        """(x_ndc, y_ndc, depth) -> world (or view) points; depth in view units unless scaled_depth_input (then
        the projection's [0, 1] depth)."""
        to_ndc = self.get_full_projection_transform() if world_coordinates else self.get_projection_transform()
        if not scaled_depth_input:
            K = self.get_projection_transform(**kwargs.copy()).get_matrix()
            shape = [K.shape[0]] + [1] * (xy_depth.dim() - 1)
            f1, f2 = K[:, 2, 2].reshape(shape), K[:, 3, 2].reshape(shape)
            z = xy_depth[..., 2:3]
            xy_depth = torch.cat([xy_depth[..., :2], (f1 * z + f2) / z], -1)
        return to_ndc.inverse().transform_points(xy_depth)

    def is_perspective(self) -> bool:
        return True

    def in_ndc(self) -> bool:
        return True


class FoVOrthographicCameras(CamerasBase):
    """Orthographic camera on the box [min_x, max_x] x [min_y, max_y] x [znear, zfar] (PyTorch3D's).

    x_ndc = 2 sx x / (max_x - min_x) - (max_x + min_x) / (max_x - min_x) (same for y),
    z_ndc = sz z / (zfar - znear) - znear / (zfar - znear), (sx, sy, sz) = scale_xyz.
    """

    _FIELDS = ("K", "znear", "zfar", "R", "T", "max_y", "min_y", "max_x", "min_x", "scale_xyz")

    def __init__(self, znear=1.0, zfar=100.0, max_y=1.0, min_y=-1.0, max_x=1.0, min_x=-1.0,
                 scale_xyz=((1.0, 1.0, 1.0),), R: torch.Tensor = _R, T: torch.Tensor = _T,
                 K: torch.Tensor | None = None, device="cpu"):
        super().__init__(device=device, znear=znear, zfar=zfar, max_y=max_y, min_y=min_y, max_x=max_x, min_x=min_x,
                         scale_xyz=scale_xyz, R=R, T=T, K=K)

    def compute_projection_matrix(self, znear, zfar, max_x, min_x, max_y, min_y, scale_xyz) -> torch.Tensor:
        """The (N, 4, 4) column-vector projection matrix."""
        K = torch.zeros((self._N, 4, 4), dtype=self._dtype(), device=self.device)
        K[:, 0, 0] = (2.0 / (max_x - min_x)) * scale_xyz[:, 0]
        K[:, 1, 1] = (2.0 / (max_y - min_y)) * scale_xyz[:, 1]
        K[:, 0, 3] = -(max_x + min_x) / (max_x - min_x)
        K[:, 1, 3] = -(max_y + min_y) / (max_y - min_y)
        K[:, 3, 3] = 1.0
        K[:, 2, 2] = (1.0 / (zfar - znear)) * scale_xyz[:, 2]
        K[:, 2, 3] = -znear / (zfar - znear)
        return K

    def get_projection_transform(self, **kwargs) -> Transform3d:
        return _projection(self, kwargs, ("znear", "zfar", "max_x", "min_x", "max_y", "min_y", "scale_xyz"))

    def unproject_points(self, xy_depth: torch.Tensor, world_coordinates: bool = True,
                         scaled_depth_input: bool = False, **kwargs) -> torch.Tensor:
        """(x_ndc, y_ndc, depth) -> world (or view) points; depth in view units unless scaled_depth_input."""
        if world_coordinates:
            to_ndc = self.get_full_projection_transform(**kwargs.copy())
        else:
            to_ndc = self.get_projection_transform(**kwargs.copy())
        if not scaled_depth_input:
            K = self.get_projection_transform(**kwargs).get_matrix()
            shape = [K.shape[0]] + [1] * (K.dim() - 1)
            mid_z, scale_z = K[:, 3, 2].reshape(shape), K[:, 2, 2].reshape(shape)
            xy_depth = torch.cat([xy_depth[..., :2], scale_z * xy_depth[..., 2:3] + mid_z], -1)
        return to_ndc.inverse().transform_points(xy_depth)

    def is_perspective(self) -> bool:
        return False

    def in_ndc(self) -> bool:
        return True


class _IntrinsicsCameras(CamerasBase):
    """Cameras from focal lengths and principal points, in NDC units or (in_ndc=False) in pixels of image_size."""

    _FIELDS = ("K", "R", "T", "focal_length", "principal_point", "_in_ndc", "image_size")
    _SHARED_FIELDS = ("_in_ndc",)
    _orthographic = False

    def __init__(self, focal_length=1.0, principal_point=((0.0, 0.0),), R: torch.Tensor = _R,
                 T: torch.Tensor = _T, K: torch.Tensor | None = None, device="cpu", in_ndc: bool = True,
                 image_size=None) -> None:
        extra = {"image_size": image_size} if image_size is not None else {}
        super().__init__(device=device, focal_length=focal_length, principal_point=principal_point, R=R, T=T, K=K,
                         _in_ndc=in_ndc, **extra)
        if image_size is not None:
            if (self.image_size < 1).any():
                raise ValueError("Image_size provided has invalid values")
        else:
            self.image_size = None
        if self.focal_length.ndim == 1:  # (N,): the same focal length along x and y
            self.focal_length = self.focal_length[:, None]
        self.focal_length = self.focal_length.expand(-1, 2)

    def compute_projection_matrix(self, focal_length, principal_point) -> torch.Tensor:
        """The (N, 4, 4) column-vector calibration matrix."""
        f = focal_length if torch.is_tensor(focal_length) else torch.tensor(focal_length, device=self.device)
        fx, fy = (f, f) if f.ndim in (0, 1) or f.shape[1] == 1 else f.unbind(1)
        p = principal_point if torch.is_tensor(principal_point) else torch.tensor(principal_point, device=self.device)
        px, py = p.unbind(1)
        K = fx.new_zeros(self._N, 4, 4)
        K[:, 0, 0], K[:, 1, 1] = fx, fy
        if self._orthographic:
            K[:, 0, 3], K[:, 1, 3], K[:, 2, 2], K[:, 3, 3] = px, py, 1.0, 1.0
        else:
            K[:, 0, 2], K[:, 1, 2], K[:, 3, 2], K[:, 2, 3] = px, py, 1.0, 1.0
        return K

    def get_projection_transform(self, **kwargs) -> Transform3d:
        return _projection(self, kwargs, ("focal_length", "principal_point"))

    def get_principal_point(self, **kwargs) -> torch.Tensor:
        """(N, 2) principal points as the projection matrix holds them."""
        m = self.get_projection_transform(**kwargs).get_matrix()
        return m[:, 3 if self._orthographic else 2, :2]

    def get_ndc_camera_transform(self, **kwargs) -> Transform3d:
        """Projection space -> NDC: identity in NDC; for screen cameras, the principal point moved from image
        coordinates (+x right, +y down) to PyTorch3D's, then pixels rescaled to NDC (depth unchanged)."""
        if self.in_ndc():
            return Transform3d(device=self.device, dtype=torch.float32)
        fix = torch.eye(4, device=self.device, dtype=torch.float32).repeat(self._N, 1, 1)
        fix[:, :2, 3] = -2.0 * self.get_principal_point(**kwargs)
        image_size = kwargs.get("image_size", self.get_image_size())
        return _matrix_transform(self, fix).compose(
            get_screen_to_ndc_transform(self, with_xyflip=False, image_size=image_size))

    def unproject_points(self, xy_depth: torch.Tensor, world_coordinates: bool = True, from_ndc: bool = False,
                         **kwargs) -> torch.Tensor:
        """(x, y, depth) in projection space (NDC if from_ndc) -> world (or view) points."""
        t = self.get_full_projection_transform(**kwargs) if world_coordinates else self.get_projection_transform(**kwargs)
        if from_ndc:
            t = t.compose(self.get_ndc_camera_transform())
        if not self._orthographic:
            xy_depth = torch.cat([xy_depth[..., :2], 1.0 / xy_depth[..., 2:3]], -1)
        return t.inverse().transform_points(xy_depth)

    def in_ndc(self) -> bool:
        return self._in_ndc


class PerspectiveCameras(_IntrinsicsCameras):
    """Pinhole camera: x = fx X / Z + px, y = fy Y / Z + py, z = 1 / Z (PyTorch3D's PerspectiveCameras); in NDC, or
    with in_ndc=False in pixels of image_size ((H, W) per camera)."""

    def is_perspective(self) -> bool:
        return True


class OrthographicCameras(_IntrinsicsCameras):
    """Orthographic camera: x = fx X + px, y = fy Y + py, z = Z (PyTorch3D's OrthographicCameras)."""

    _orthographic = True

    def is_perspective(self) -> bool:
        return False


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated,\n        Use {new} instead.\n        {old} will be removed in future "
                  "releases.", PendingDeprecationWarning)


def OpenGLPerspectiveCameras(znear=1.0, zfar=100.0, aspect_ratio=1.0, fov=60.0, degrees: bool = True,
                             R: torch.Tensor = _R, T: torch.Tensor = _T, device="cpu") -> FoVPerspectiveCameras:
    """Deprecated alias (PyTorch3D's) of FoVPerspectiveCameras."""
    _deprecated("OpenGLPerspectiveCameras", "FoVPerspectiveCameras")
    return FoVPerspectiveCameras(znear=znear, zfar=zfar, aspect_ratio=aspect_ratio, fov=fov, degrees=degrees, R=R,
                                 T=T, device=device)


def OpenGLOrthographicCameras(znear=1.0, zfar=100.0, top=1.0, bottom=-1.0, left=-1.0, right=1.0,
                              scale_xyz=((1.0, 1.0, 1.0),), R: torch.Tensor = _R, T: torch.Tensor = _T,
                              device="cpu") -> FoVOrthographicCameras:
    """Deprecated alias (PyTorch3D's) of FoVOrthographicCameras with top / bottom / left / right bounds."""
    _deprecated("OpenGLOrthographicCameras", "FoVOrthographicCameras")
    return FoVOrthographicCameras(znear=znear, zfar=zfar, max_y=top, min_y=bottom, max_x=right, min_x=left,
                                  scale_xyz=scale_xyz, R=R, T=T, device=device)


def SfMPerspectiveCameras(focal_length=1.0, principal_point=((0.0, 0.0),), R: torch.Tensor = _R,
                          T: torch.Tensor = _T, device="cpu") -> PerspectiveCameras:
    """Deprecated alias (PyTorch3D's) of PerspectiveCameras."""
    _deprecated("SfMPerspectiveCameras", "PerspectiveCameras")
    return PerspectiveCameras(focal_length=focal_length, principal_point=principal_point, R=R, T=T, device=device)


def SfMOrthographicCameras(focal_length=1.0, principal_point=((0.0, 0.0),), R: torch.Tensor = _R,
                           T: torch.Tensor = _T, device="cpu") -> OrthographicCameras:
    """Deprecated alias (PyTorch3D's) of OrthographicCameras."""
    _deprecated("SfMOrthographicCameras", "OrthographicCameras")
    return OrthographicCameras(focal_length=focal_length, principal_point=principal_point, R=R, T=T, device=device)


def get_world_to_view_transform(R: torch.Tensor = _R, T: torch.Tensor = _T) -> Transform3d:
    """World -> view for extrinsics R (N, 3, 3), T (N, 3): X_view = X_world R + T."""
    if T.shape[0] != R.shape[0]:
        raise ValueError(f"Expected R, T to have the same batch dimension; got {R.shape[0]!r}, {T.shape[0]!r}")
    if T.dim() != 2 or T.shape[1:] != (3,):
        raise ValueError(f"Expected T to have shape (N, 3); got {T.shape!r}")
    if R.dim() != 3 or R.shape[1:] != (3, 3):
        raise ValueError(f"Expected R to have shape (N, 3, 3); got {R.shape!r}")
    dtype = R.dtype if R.is_floating_point() else torch.float32
    return Rotate(R, device=R.device, dtype=dtype).compose(Translate(T, device=T.device, dtype=dtype))


def get_ndc_to_screen_transform(cameras, with_xyflip: bool = False, image_size=None) -> Transform3d:
    """PyTorch3D NDC -> screen pixels for image_size ((H, W) per camera); with_xyflip flips x and y (to +x right,
    +y down)."""
    if image_size is None:
        raise ValueError("For NDC to screen conversion, image_size=(height, width) needs to be specified.")
    hw = image_size if torch.is_tensor(image_size) else torch.tensor(image_size, device=cameras.device)
    hw = hw.view(-1, 2)
    height, width = hw.unbind(1)
    K = torch.zeros((cameras._N, 4, 4), device=cameras.device, dtype=torch.float32)
    scale = hw.min(dim=1).values / 2.0
    K[:, 0, 0] = K[:, 1, 1] = scale
    K[:, 0, 3] = -width / 2.0
    K[:, 1, 3] = -height / 2.0
    K[:, 2, 2] = K[:, 3, 3] = 1.0
    t = _matrix_transform(cameras, K)
    if with_xyflip:
        flip = torch.diag(torch.tensor([-1.0, -1.0, 1.0, 1.0], device=cameras.device))
        t = t.compose(_matrix_transform(cameras, flip.view(1, 4, 4).expand(cameras._N, -1, -1)))
    return t


def get_screen_to_ndc_transform(cameras, with_xyflip: bool = False, image_size=None) -> Transform3d:
    """Screen pixels -> PyTorch3D NDC (the inverse of get_ndc_to_screen_transform)."""
    return get_ndc_to_screen_transform(cameras, with_xyflip=with_xyflip, image_size=image_size).inverse()


def try_get_projection_transform(cameras, cameras_kwargs: dict):
    """cameras.get_projection_transform(**cameras_kwargs), or None for cameras that have none."""
    try:
        return cameras.get_projection_transform(**cameras_kwargs)
    except NotImplementedError:
        return None


def camera_position_from_spherical_angles(distance, elevation, azimuth, degrees: bool = True,
                                          device="cpu") -> torch.Tensor:
    """(N, 3) camera centres on a sphere around the origin (azimuth 0 looks from +z, elevation from the xz-plane)."""
    dist, elev, azim = convert_to_tensors_and_broadcast(distance, elevation, azimuth, device=device)
    if degrees:
        elev = math.pi / 180.0 * elev
        azim = math.pi / 180.0 * azim
    pos = torch.stack([dist * elev.cos() * azim.sin(), dist * elev.sin(), dist * elev.cos() * azim.cos()], 1)
    return pos.view(-1, 3)


def look_at_rotation(camera_position, at=((0, 0, 0),), up=((0, 1, 0),), device="cpu") -> torch.Tensor:
    """(N, 3, 3) world-to-view rotations of cameras at `camera_position` looking at `at` with `up` upwards."""
    camera_position, at, up = convert_to_tensors_and_broadcast(camera_position, at, up, device=device)
    for t, n in ((camera_position, "camera_position"), (at, "at"), (up, "up")):
        if t.shape[-1] != 3:
            raise ValueError(f"Expected arg {n} to have shape (N, 3); got {t.shape!r}")
    z = F.normalize(at - camera_position, eps=1e-5)
    x = F.normalize(torch.cross(up, z, dim=1), eps=1e-5)
    y = F.normalize(torch.cross(z, x, dim=1), eps=1e-5)
    degenerate = torch.isclose(x, torch.tensor(0.0, device=x.device), atol=5e-3).all(dim=1, keepdim=True)
    if degenerate.any():  # up parallel to the viewing direction: take x from y and z
        x = torch.where(degenerate, F.normalize(torch.cross(y, z, dim=1), eps=1e-5), x)
    return torch.stack([x, y, z], 1).transpose(1, 2)


def look_at_view_transform(dist=1.0, elev=0.0, azim=0.0, degrees: bool = True, eye=None, at=((0, 0, 0),),
                           up=((0, 1, 0),), device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(R (N, 3, 3), T (N, 3)) for cameras on a sphere (dist, elev, azim) around `at`, or at `eye`, looking at
    `at` (PyTorch3D's `look_at_view_transform`)."""
    if eye is not None:
        eye, at, up = convert_to_tensors_and_broadcast(eye, at, up, device=device)
        C = eye
    else:
        dist, elev, azim, at, up = convert_to_tensors_and_broadcast(dist, elev, azim, at, up, device=device)
        C = camera_position_from_spherical_angles(dist, elev, azim, degrees=degrees, device=device) + at
    R = look_at_rotation(C, at, up, device=device)
    T = -torch.bmm(R.transpose(1, 2), C[:, :, None])[:, :, 0]
    return R, T


def join_cameras_as_batch(cameras_list) -> CamerasBase:
    """One camera object holding the batches of every camera in the list (same type, device and shared fields)."""
    c0 = cameras_list[0]
    if not all(isinstance(c, CamerasBase) for c in cameras_list):
        raise ValueError("cameras in cameras_list must inherit from CamerasBase")
    if not all(type(c) is type(c0) for c in cameras_list[1:]):
        raise ValueError("All cameras must be of the same type")
    if not all(c.device == c0.device for c in cameras_list[1:]):
        raise ValueError("All cameras in the batch must be on the same device")
    kwargs = {"device": c0.device}
    for field in c0._FIELDS:
        present = [getattr(c, field) is not None for c in cameras_list]
        if not any(present):
            continue
        if not all(present):
            raise ValueError(f"Attribute {field} is inconsistently present")
        values = [getattr(c, field) for c in cameras_list]
        if field in c0._SHARED_FIELDS:
            if not all(v == values[0] for v in values):
                raise ValueError(f"Attribute {field} is not constant across inputs")
            kwargs[field[1:] if field.startswith("_") else field] = values[0]
        elif torch.is_tensor(values[0]):
            kwargs[field] = torch.cat(values, 0)
        else:
            raise ValueError(f"Field {field} type is not supported for batching")
    return c0.__class__(**kwargs)


def rotate_on_spot(R: torch.Tensor, T: torch.Tensor, rotation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Extrinsics (R', T') of cameras turned by `rotation` (in their own view frame) about their own centres."""
    R = R[None] if R.ndim == 2 else R
    T = T[None] if T.ndim == 1 else T
    rotation = rotation[None] if rotation.ndim == 2 else rotation
    if R.ndim != 3 or R.shape[1:] != (3, 3):
        raise ValueError("Invalid R")
    if T.ndim != 2 or T.shape[1] != 3:
        raise ValueError("Invalid T")
    if rotation.ndim != 3 or rotation.shape[1:] != (3, 3):
        raise ValueError("Invalid rotation")
    new_R = R @ rotation.transpose(1, 2)
    new_T = torch.matmul(new_R.transpose(1, 2), torch.bmm(R, T[:, :, None]))[:, :, 0]
    return new_R, new_T


def camera_to_eye_at_up(world_to_view_transform: Transform3d) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(eye, at, up) (each (N, 3)) of a world -> view transform: the camera centre, a point one unit ahead, and
    the world direction of the view's +y."""
    to_world = world_to_view_transform.inverse()
    pts = torch.tensor([[0, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=torch.float32, device=to_world.device)
    eye, at, up_eye = to_world.transform_points(pts).reshape(-1, 3, 3).unbind(1)
    return eye, at, up_eye - eye


def ndc_to_grid_sample_coords(xy_ndc: torch.Tensor, image_size_hw) -> torch.Tensor:
    """PyTorch3D NDC (..., 2) (+x left, +y up, shorter side in [-1, 1]) -> torch.nn.functional.grid_sample
    coordinates (+x right, +y down, each side in [-1, 1]) for an image of (H, W)."""
    if len(image_size_hw) != 2 or any(s <= 0 for s in image_size_hw):
        raise ValueError("'image_size_hw' has to be a 2-tuple of positive integers")
    aspect = min(image_size_hw) / max(image_size_hw)
    xy = -xy_ndc
    if image_size_hw[0] >= image_size_hw[1]:
        xy[..., 1] *= aspect
    else:
        xy[..., 0] *= aspect
    return xy


def ndc_grid_sample(input: torch.Tensor, grid_ndc: torch.Tensor, *, align_corners: bool = False,
                    **grid_sample_kwargs) -> torch.Tensor:
    """Sample images input (B, C, H, W) at PyTorch3D NDC locations grid_ndc (B, ..., 2) -> (B, C, ...)."""
    batch, *spatial, pt_dim = grid_ndc.shape
    if batch != input.shape[0]:
        raise ValueError("'input' and 'grid_ndc' have to have the same batch size.")
    if input.ndim != 4:
        raise ValueError("'input' has to be a 4-dimensional Tensor.")
    if pt_dim != 2:
        raise ValueError("The last dimension of 'grid_ndc' has to be == 2.")
    grid = ndc_to_grid_sample_coords(grid_ndc.reshape(batch, -1, 1, 2), input.shape[2:])
    out = F.grid_sample(input, grid, align_corners=align_corners, **grid_sample_kwargs)
    return out.reshape([batch, input.shape[1], *spatial])
