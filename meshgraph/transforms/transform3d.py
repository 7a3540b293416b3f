"""Transform3d: a batch of N 4x4 transforms acting on row vectors ([p, 1] @ M), composed lazily (PyTorch3D's
class, same methods and broadcasting: a batch of 1 broadcasts against N)."""

from __future__ import annotations

import math
import os
import warnings

import torch

from .rotations import _axis_angle_rotation
from .se3 import se3_log_map


def _device(device, like=None) -> torch.device:
    if device is not None:
        d = torch.device(device)
        if d.type == "cuda" and d.index is None and torch.cuda.is_available():
            d = torch.device("cuda", torch.cuda.current_device())
        return d
    return like.device if isinstance(like, torch.Tensor) else torch.device("cpu")


def _bmm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a (P, K) or (M, P, K) @ b (N, K, K), broadcasting a batch of 1 against the other."""
    if a.dim() == 2:
        a = a[None]
    if a.dtype != b.dtype:  # float64 cameras or points meet float32 helper transforms: compute in the wider type
        dtype = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(dtype), b.to(dtype)
    if a.shape[0] != b.shape[0]:
        if a.shape[0] != 1 and b.shape[0] != 1:
            raise ValueError(f"Expected batch dim for bmm to be equal or 1; got {tuple(a.shape)}, {tuple(b.shape)}")
        n = max(a.shape[0], b.shape[0])
        a, b = a.expand(n, -1, -1), b.expand(n, -1, -1)
    return a.bmm(b)


def _affine_points(p: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """p (M, P, 3) through affine m (N, 4, 4) (last column (0, 0, 0, 1)): p @ m[:3, :3] + m[3, :3] in one baddbmm,
    with no homogeneous column to append and no division by w = 1 (half the memory traffic of [p, 1] @ m / w)."""
    if p.dtype != m.dtype:
        dtype = torch.promote_types(p.dtype, m.dtype)
        p, m = p.to(dtype), m.to(dtype)
    if p.shape[0] != m.shape[0]:
        if p.shape[0] != 1 and m.shape[0] != 1:
            raise ValueError(f"Expected batch dim for bmm to be equal or 1; got {tuple(p.shape)}, {tuple(m.shape)}")
        n = max(p.shape[0], m.shape[0])
        p, m = p.expand(n, -1, -1), m.expand(n, -1, -1)
    return torch.baddbmm(m[:, 3:, :3], p, m[:, :3, :3])


class Transform3d:
    """A batch of 3D transforms. `matrix` (N, 4, 4) or (4, 4) in the row-vector convention (translation in the
    last row); None is the identity (batch of 1) of `dtype` on `device`."""

    def __init__(self, dtype: torch.dtype = torch.float32, device="cpu", matrix: torch.Tensor | None = None) -> None:
        if matrix is None:
            device = _device(device)
            self._matrix = torch.eye(4, dtype=dtype, device=device).view(1, 4, 4)
        else:
            if matrix.ndim not in (2, 3):
                raise ValueError('"matrix" has to be a 2- or a 3-dimensional tensor.')
            if matrix.shape[-2:] != (4, 4):
                raise ValueError('"matrix" has to be a tensor of shape (minibatch, 4, 4) or (4, 4).')
            dtype, device = matrix.dtype, matrix.device
            self._matrix = matrix.view(-1, 4, 4)
        self._transforms: list[Transform3d] = []
        # whether _matrix is affine by construction (identity, Translate, Scale, Rotate and their inverses): then
        # transform_points skips the homogeneous divide; a matrix given by the caller is never assumed affine
        self._affine = matrix is None
        self._lu = None
        self.device = torch.device(device)
        self.dtype = dtype

    def __len__(self) -> int:
        return self.get_matrix().shape[0]

    def __getitem__(self, index) -> Transform3d:
        """The selected transforms (int, slice, list, bool or long tensor), as a plain Transform3d."""
        if isinstance(index, int):
            index = [index]
        return self.__class__(matrix=self.get_matrix()[index])

    def compose(self, *others: Transform3d) -> Transform3d:
        """self, then each of `others` in turn (points go through self first)."""
        for other in others:
            if not isinstance(other, Transform3d):
                raise ValueError(f"Only possible to compose Transform3d objects; got {type(other)}")
        out = Transform3d(dtype=self.dtype, device=self.device)
        out._matrix = self._matrix.clone()
        out._affine = self._affine
        out._transforms = self._transforms + list(others)
        return out

    @property
    def _matrix(self) -> torch.Tensor:
        return self._mat

    @_matrix.setter
    def _matrix(self, m: torch.Tensor) -> None:
        # Assigning _matrix from outside (PyTorch3D's own tests set a projection this way) makes no claim that it is
        # affine, so transform_points goes back to the homogeneous divide. The constructors and the subclasses,
        # which know their matrices are affine, write _mat directly.
        self._mat = m
        self._affine = False

    def _is_affine(self) -> bool:
        return self._affine and all(t._is_affine() for t in self._transforms)

    def get_matrix(self) -> torch.Tensor:
        """(N, 4, 4): the composed matrix (batches of 1 broadcast)."""
        m = self._matrix.clone()
        for other in self._transforms:
            m = _bmm(m, other.get_matrix())
        return m

    def get_se3_log(self, eps: float = 1e-4, cos_bound: float = 1e-4) -> torch.Tensor:
        """(N, 6) SE(3) logs [log_translation | log_rotation] of the composed matrices (`se3_log_map`); a
        matrix whose last column is not (0, 0, 0, *) is a ValueError."""
        return se3_log_map(self.get_matrix(), eps, cos_bound)

    def _get_matrix_inverse(self) -> torch.Tensor:
        return torch.inverse(self._matrix)

    def inverse(self, invert_composed: bool = False) -> Transform3d:
        """The inverse transform; invert_composed=True inverts the composed matrix at once, otherwise each stored
        transform is inverted (cheaply for Translate / Rotate / Scale) and the order reversed."""
        out = Transform3d(dtype=self.dtype, device=self.device)
        if invert_composed:
            out._matrix = torch.inverse(self.get_matrix())
            out._affine = self._is_affine()
            return out
        own = self._get_matrix_inverse()
        if self._transforms:
            last = Transform3d(dtype=self.dtype, device=self.device)
            last._matrix, last._affine = own, self._affine
            out._transforms = [t.inverse() for t in reversed(self._transforms)] + [last]
        else:
            out._matrix, out._affine = own, self._affine
        return out

    def stack(self, *others: Transform3d) -> Transform3d:
        """The batches of self and `others` concatenated."""
        out = Transform3d(dtype=self.dtype, device=self.device)
        out._matrix = torch.cat([t.get_matrix() for t in (self, *others)], 0)
        out._affine = all(t._is_affine() for t in (self, *others))
        return out

    def transform_points(self, points: torch.Tensor, eps: float | None = None) -> torch.Tensor:
        """(P, 3) or (N, P, 3) points -> transformed points, divided by the homogeneous coordinate w (with eps:
        |w| clamped below at eps, keeping its sign, w = 0 -> +eps). (P, 3) stays (P, 3) for a batch of 1."""
        if points.dim() not in (2, 3):
            raise ValueError(f"Expected points to have dim = 2 or dim = 3: got shape {tuple(points.shape)}")
        p = points[None] if points.dim() == 2 else points
        if self._is_affine() and (eps is None or eps <= 1.0):  # w = 1: the clamp to eps would not change it
            out = _affine_points(p, self.get_matrix())
            return out.reshape(points.shape) if out.shape[0] == 1 and points.dim() == 2 else out
        ones = torch.ones(*p.shape[:2], 1, dtype=points.dtype, device=points.device)
        out = _bmm(torch.cat([p, ones], 2), self.get_matrix())
        w = out[..., 3:]
        if eps is not None:
            w = (w.sign() + (w == 0).type_as(w)) * w.abs().clamp(eps)
        out = out[..., :3] / w
        if out.shape[0] == 1 and points.dim() == 2:
            out = out.reshape(points.shape)
        return out

    def transform_normals(self, normals: torch.Tensor) -> torch.Tensor:
        """(P, 3) or (N, P, 3) normals -> normals @ (M_3x3^T)^-1 (not renormalized)."""
        if normals.dim() not in (2, 3):
            raise ValueError(f"Expected normals to have dim = 2 or dim = 3: got shape {tuple(normals.shape)}")
        m = self.get_matrix()[:, :3, :3]
        out = _bmm(normals, m.transpose(1, 2).inverse())
        if out.shape[0] == 1 and normals.dim() == 2:
            out = out.reshape(normals.shape)
        return out

    def translate(self, *args, **kwargs) -> Transform3d:
        return self.compose(Translate(*args, device=self.device, dtype=self.dtype, **kwargs))

    def scale(self, *args, **kwargs) -> Transform3d:
        return self.compose(Scale(*args, device=self.device, dtype=self.dtype, **kwargs))

    def rotate(self, *args, **kwargs) -> Transform3d:
        return self.compose(Rotate(*args, device=self.device, dtype=self.dtype, **kwargs))

    def rotate_axis_angle(self, *args, **kwargs) -> Transform3d:
        return self.compose(RotateAxisAngle(*args, device=self.device, dtype=self.dtype, **kwargs))

    def clone(self) -> Transform3d:
        """A deep copy (every stored tensor cloned)."""
        out = Transform3d(dtype=self.dtype, device=self.device)
        out._matrix = self._matrix.clone()
        out._affine = self._affine
        out._transforms = [t.clone() for t in self._transforms]
        out._lu = None if self._lu is None else [t.clone() for t in self._lu]
        return out

    def to(self, device, copy: bool = False, dtype: torch.dtype | None = None) -> Transform3d:
        """self when already on `device` with `dtype` (unless copy), else a converted copy."""
        device = _device(device)
        dtype = self.dtype if dtype is None else dtype
        same = self.device == device and self.dtype == dtype
        if same and not copy:
            return self
        out = self.clone()
        if same:
            return out
        out.device, out.dtype = device, dtype
        out._mat = out._mat.to(device=device, dtype=dtype)
        out._transforms = [t.to(device, copy=copy, dtype=dtype) for t in out._transforms]
        return out

    def cpu(self) -> Transform3d:
        return self.to("cpu")

    def cuda(self) -> Transform3d:
        return self.to("cuda")


def _coord(c, dtype, device) -> torch.Tensor:
    c = c if torch.is_tensor(c) else torch.tensor(c, dtype=dtype, device=device)
    c = c.view(1) if c.dim() == 0 else c
    return c.to(device=device, dtype=dtype)


def _xyz(x, y, z, dtype, device, name: str, singleton: bool = False) -> torch.Tensor:
    """(N, 3) from an (N, 3) tensor or from x, y, z scalars / (N,) tensors broadcast together."""
    device = _device(device, x)
    if torch.is_tensor(x) and x.dim() == 2:
        if x.shape[1] != 3:
            raise ValueError(f"Expected tensor of shape (N, 3); got {tuple(x.shape)} (in {name})")
        if y is not None or z is not None:
            raise ValueError(f"Expected y and z to be None (in {name})")
        return x.to(device=device, dtype=dtype)
    if singleton and y is None and z is None:
        y = z = x
    cs = [_coord(c, dtype, device) for c in (x, y, z)]
    n = max(c.shape[0] for c in cs)
    if any(c.shape[0] not in (1, n) for c in cs):
        raise ValueError(f"Got non-broadcastable sizes {[c.shape[0] for c in cs]} (in {name})")
    return torch.stack([c.expand(n) for c in cs], 1)


class Translate(Transform3d):
    """Translations: Translate(xyz (N, 3)) or Translate(x, y, z) (scalars or (N,) tensors, broadcast)."""

    def __init__(self, x, y=None, z=None, dtype: torch.dtype = torch.float32, device=None) -> None:
        xyz = _xyz(x, y, z, dtype, device, "Translate")
        super().__init__(device=xyz.device, dtype=dtype)
        m = torch.eye(4, dtype=dtype, device=xyz.device).repeat(xyz.shape[0], 1, 1)
        m[:, 3, :3] = xyz
        self._mat = m  # affine by construction

    def _get_matrix_inverse(self) -> torch.Tensor:
        sign = self._matrix.new_ones(1, 4, 4)
        sign[0, 3, :3] = -1.0
        return self._matrix * sign

    def __getitem__(self, index) -> Transform3d:
        if isinstance(index, int):
            index = [index]
        return Translate(self.get_matrix()[index, 3, :3])


class Scale(Transform3d):
    """Axis scalings: Scale(s) (uniform: scalar or (N,)), Scale(xyz (N, 3)) or Scale(x, y, z)."""

    def __init__(self, x, y=None, z=None, dtype: torch.dtype = torch.float32, device=None) -> None:
        xyz = _xyz(x, y, z, dtype, device, "scale", singleton=True)
        super().__init__(device=xyz.device, dtype=dtype)
        m = torch.eye(4, dtype=dtype, device=xyz.device).repeat(xyz.shape[0], 1, 1)
        m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = xyz.unbind(1)
        self._mat = m  # affine by construction

    def _get_matrix_inverse(self) -> torch.Tensor:
        return torch.diag_embed(1.0 / torch.diagonal(self._matrix, dim1=1, dim2=2))

    def __getitem__(self, index) -> Transform3d:
        if isinstance(index, int):
            index = [index]
        m = self.get_matrix()[index]
        return Scale(m[:, 0, 0], m[:, 1, 1], m[:, 2, 2])


class Rotate(Transform3d):
    """Rotations by R (3, 3) or (N, 3, 3), applied to row vectors (p @ R)."""

    def __init__(self, R: torch.Tensor, dtype: torch.dtype = torch.float32, device=None,
                 orthogonal_tol: float = 1e-5) -> None:
        device = _device(device, R)
        super().__init__(device=device, dtype=dtype)
        if R.dim() == 2:
            R = R[None]
        if R.shape[-2:] != (3, 3):
            raise ValueError(f"R must have shape (3, 3) or (N, 3, 3); got {tuple(R.shape)}")
        R = R.to(device=device, dtype=dtype)
        if os.environ.get("PYTORCH3D_CHECK_ROTATION_MATRICES", "0") == "1":
            _check_valid_rotation_matrix(R, tol=orthogonal_tol)  # opt-in, as in PyTorch3D: it syncs the device
        m = torch.eye(4, dtype=dtype, device=device).repeat(R.shape[0], 1, 1)
        m[:, :3, :3] = R
        self._mat = m  # affine by construction

    def _get_matrix_inverse(self) -> torch.Tensor:
        return self._matrix.permute(0, 2, 1).contiguous()

    def __getitem__(self, index) -> Transform3d:
        if isinstance(index, int):
            index = [index]
        return Rotate(self.get_matrix()[index, :3, :3])


class RotateAxisAngle(Rotate):
    """Rotations by `angle` (scalar or (N,)) about the X, Y or Z axis (right-handed, counter-clockwise)."""

    def __init__(self, angle, axis: str = "X", degrees: bool = True, dtype: torch.dtype = torch.float32,
                 device=None) -> None:
        axis = axis.upper()
        if axis not in ("X", "Y", "Z"):
            raise ValueError(f"Expected axis to be one of ['X', 'Y', 'Z']; got {axis}")
        if torch.is_tensor(angle) and angle.dim() > 1:
            raise ValueError(f"Expected tensor of shape (N,); got {tuple(angle.shape)} (in RotateAxisAngle)")
        a = _coord(angle, dtype, _device(device, angle))
        a = a / 180.0 * math.pi if degrees else a
        R = _axis_angle_rotation(axis, a)  # column-vector rotation; row vectors need R^T
        super().__init__(R.transpose(1, 2), dtype=dtype, device=a.device)


@torch.no_grad()
def _check_valid_rotation_matrix(R: torch.Tensor, tol: float = 1e-7) -> None:
    """Warn unless every (N, 3, 3) R has R R^T = I (within tol) and det R = 1."""
    eye = torch.eye(3, dtype=R.dtype, device=R.device).expand_as(R)
    orthogonal = torch.allclose(R.bmm(R.transpose(1, 2)), eye, atol=tol)
    det = torch.linalg.det(R.to(torch.promote_types(R.dtype, torch.float32)))  # no half-precision det
    if not (orthogonal and torch.allclose(det, torch.ones_like(det))):
        warnings.warn("R is not a valid rotation matrix")
