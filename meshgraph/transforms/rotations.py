"""Rotation conversions, quaternion algebra and random rotations (PyTorch3D's `rotation_conversions`).

Conventions as PyTorch3D's: rotation matrices R act on column vectors (R @ v rotates v; Transform3d stores R^T for
row vectors); quaternions are (w, x, y, z), real part first; an axis-angle vector's direction is the axis and its
norm the angle (radians, counter-clockwise); Euler angles are intrinsic, R = R_a(e0) @ R_b(e1) @ R_c(e2) for the
convention "abc". Every function takes any batch shape (..., k) unless its docstring says (N, k), any float dtype,
and is differentiable with finite gradients at angle 0: the angle-dependent factors (sin t / t, (1 - cos t) / t^2,
...) are functions of the squared angle, evaluated by their Taylor series near 0 (`_sinc`, `_cosc`, `_sinc3`).
"""

import math
from typing import List, Optional, Union

import torch
import torch.nn.functional as F

Device = Union[str, torch.device]

# The public functions stay TorchScript-compatible (PyTorch3D's are): no star-args or globals, typed optionals.

# Taylor series in t^2 of the angle factors. Below t^2 = 0.1 the series (8 terms: truncation < 1e-19 relative)
# is used; above it the closed form, whose value and autograd derivative lose at most ~eps / t^2 there.


def _horner(t2: torch.Tensor, coeffs: List[float]) -> torch.Tensor:
    """sum_k coeffs[-1 - k] t2^k (coefficients highest order first) where t2 < 0.1, 0 elsewhere."""
    x = torch.where(t2 < 0.1, t2, torch.zeros_like(t2))
    out = torch.zeros_like(t2)
    for c in coeffs:
        out = out * x + c
    return out


def _sinc(t2: torch.Tensor) -> torch.Tensor:
    """sin t / t of the squared angle t2 >= 0: sum (-1)^k t^2k / (2k + 1)! near 0."""
    series = _horner(t2, [
        -7.647163731819816e-13, 1.6059043836821613e-10, -2.505210838544172e-08, 2.7557319223985893e-06,
        -0.0001984126984126984, 0.008333333333333333, -0.16666666666666666, 1.0,
    ])
    t = torch.where(t2 < 0.1, torch.ones_like(t2), t2).sqrt()
    return torch.where(t2 < 0.1, series, t.sin() / t)


def _cosc(t2: torch.Tensor) -> torch.Tensor:
    """(1 - cos t) / t^2 of the squared angle t2 >= 0: sum (-1)^k t^2k / (2k + 2)! near 0."""
    series = _horner(t2, [
        -4.779477332387385e-14, 1.1470745597729725e-11, -2.08767569878681e-09, 2.755731922398589e-07,
        -2.48015873015873e-05, 0.001388888888888889, -0.041666666666666664, 0.5,
    ])
    t = torch.where(t2 < 0.1, torch.ones_like(t2), t2).sqrt()
    h = (0.5 * t).sin() / t  # 1 - cos t = 2 sin^2(t / 2): no cancellation
    return torch.where(t2 < 0.1, series, 2.0 * h * h)


def _sinc3(t2: torch.Tensor) -> torch.Tensor:
    """(t - sin t) / t^3 of the squared angle t2 >= 0: sum (-1)^k t^2k / (2k + 3)! near 0."""
    series = _horner(t2, [
        -2.8114572543455206e-15, 7.647163731819816e-13, -1.6059043836821613e-10, 2.505210838544172e-08,
        -2.7557319223985893e-06, 0.0001984126984126984, -0.008333333333333333, 0.16666666666666666,
    ])
    t2s = torch.where(t2 < 0.1, torch.ones_like(t2), t2)
    t = t2s.sqrt()
    return torch.where(t2 < 0.1, series, (t - t.sin()) / (t2s * t))


def _hat(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 3, 3) skew-symmetric matrices [v]_x with [v]_x w = v x w."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], -1).reshape(list(v.shape[:-1]) + [3, 3])


def _rodrigues(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 3, 3): I + A [v]_x + B [v]_x^2, [v]_x^2 = v v^T - t^2 I."""
    t2 = (v * v).sum(-1)
    a = _sinc(t2)[..., None, None]
    b = _cosc(t2)[..., None, None]
    eye = torch.eye(3, dtype=v.dtype, device=v.device)
    K2 = v[..., :, None] * v[..., None, :] - t2[..., None, None] * eye
    return eye + a * _hat(v) + b * K2


def _check_matrix(matrix: torch.Tensor) -> None:
    if matrix.dim() < 2 or matrix.size(-1) != 3 or matrix.size(-2) != 3:
        raise ValueError(f"Invalid rotation matrix shape {matrix.shape}.")


def quaternion_to_matrix(quaternions: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4), real part first (need not be normalized)."""
    if quaternions.dim() == 0 or quaternions.shape[-1] != 4:
        raise ValueError(f"Invalid quaternion shape {quaternions.shape}.")
    r, i, j, k = quaternions.unbind(-1)
    s = 2.0 / (quaternions * quaternions).sum(-1)
    m = torch.stack(
        [
            1 - s * (j * j + k * k), s * (i * j - k * r), s * (i * k + j * r),
            s * (i * j + k * r), 1 - s * (i * i + k * k), s * (j * k - i * r),
            s * (i * k - j * r), s * (j * k + i * r), 1 - s * (i * i + j * j),
        ],
        -1,
    )
    return m.reshape(quaternions.shape[:-1] + (3, 3))


def _sqrt_positive(x: torch.Tensor) -> torch.Tensor:
    """sqrt(max(x, 0)) with a zero (not infinite) gradient where x <= 0."""
    pos = x > 0
    return torch.where(pos, torch.where(pos, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Quaternions (..., 4), real part first and non-negative, of rotation matrices (..., 3, 3).

    Each of |w|, |x|, |y|, |z| follows from the diagonal; the quaternion is read off the row of the outer product
    q q^T (from the off-diagonal sums and differences) whose diagonal entry is largest, so it is well conditioned
    at every angle, 0 and pi included."""
    _check_matrix(matrix)
    m = matrix.reshape(matrix.shape[:-2] + (9,))
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.unbind(-1)
    four_q2 = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1
    )
    q_abs = _sqrt_positive(four_q2)  # 2 |q_i|
    # Row i holds 4 q_i q (with q_i >= 0 for the picked row).
    rows = torch.stack(
        [
            torch.stack([q_abs[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, q_abs[..., 1] ** 2, m10 + m01, m02 + m20], -1),
            torch.stack([m02 - m20, m10 + m01, q_abs[..., 2] ** 2, m12 + m21], -1),
            torch.stack([m10 - m01, m20 + m02, m21 + m12, q_abs[..., 3] ** 2], -1),
        ],
        -2,
    )
    # The floor only keeps rows that are never picked finite; the picked one has 2 |q_i| >= 1.
    candidates = rows / (2.0 * q_abs[..., None].clamp_min(0.1))
    best = q_abs.argmax(-1, keepdim=True)[..., None].expand(list(q_abs.shape[:-1]) + [1, 4])
    return standardize_quaternion(candidates.gather(-2, best).squeeze(-2))


def _axis_angle_rotation(axis: str, angle: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations by `angle` (any shape, radians) about the axis "X", "Y" or "Z"."""
    c, s = angle.cos(), angle.sin()
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == "X":
        flat = (one, zero, zero, zero, c, -s, zero, s, c)
    elif axis == "Y":
        flat = (c, zero, s, zero, one, zero, -s, zero, c)
    elif axis == "Z":
        flat = (c, -s, zero, s, c, zero, zero, zero, one)
    else:
        raise ValueError("letter must be either X, Y or Z.")
    return torch.stack(flat, -1).reshape(angle.shape + (3, 3))


def _check_convention(convention: str) -> None:
    if len(convention) != 3:
        raise ValueError("Convention must have 3 letters.")
    if convention[1] in (convention[0], convention[2]):
        raise ValueError(f"Invalid convention {convention}.")
    for letter in convention:
        if letter not in ("X", "Y", "Z"):
            raise ValueError(f"Invalid letter {letter} in convention string.")


def _index_from_letter(letter: str) -> int:
    if letter == "X":
        return 0
    if letter == "Y":
        return 1
    if letter == "Z":
        return 2
    raise ValueError("letter must be either X, Y or Z.")


def euler_angles_to_matrix(euler_angles: torch.Tensor, convention: str) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of Euler angles (..., 3) in radians; `convention` is three letters from
    X, Y, Z with the middle one differing from its neighbours (Tait-Bryan "XYZ" or proper "ZXZ"), intrinsic:
    R = R_c0(e0) @ R_c1(e1) @ R_c2(e2)."""
    if euler_angles.dim() == 0 or euler_angles.shape[-1] != 3:
        raise ValueError("Invalid input euler angles.")
    _check_convention(convention)
    r = [_axis_angle_rotation(c, e) for c, e in zip(convention, euler_angles.unbind(-1))]
    return torch.matmul(torch.matmul(r[0], r[1]), r[2])


def _eps(dtype: torch.dtype) -> float:
    """Machine epsilon of a float dtype (TorchScript has no torch.finfo)."""
    if dtype == torch.float64:
        return 2.220446049250313e-16
    if dtype == torch.float32:
        return 1.1920928955078125e-07
    if dtype == torch.bfloat16:
        return 0.0078125
    return 0.0009765625


def matrix_to_euler_angles(matrix: torch.Tensor, convention: str) -> torch.Tensor:
    """Euler angles (..., 3) in radians of rotation matrices (..., 3, 3) (inverse of `euler_angles_to_matrix`):
    the middle angle in [-pi/2, pi/2] (Tait-Bryan) or [0, pi] (proper), the others in (-pi, pi].

    PyTorch3D's angles, except at gimbal lock (|cos| of the Tait-Bryan middle angle, or |sin| of the proper one,
    below eps), where only the first angle plus or minus the last is determined and PyTorch3D's two atan2 calls
    read rounding noise (for proper conventions, angles that do not give back the matrix): there the last angle
    is 0 and the first is read from the middle axis' column."""
    _check_convention(convention)
    _check_matrix(matrix)
    i, j, k = _index_from_letter(convention[0]), _index_from_letter(convention[1]), _index_from_letter(convention[2])
    m = 3 - i - j if i == k else k  # the axis the convention does not name twice
    s = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 when (i, j, m) is a cyclic order of (X, Y, Z)
    R = matrix
    if i != k:  # Tait-Bryan
        a_y, a_x = -s * R[..., j, k], R[..., k, k]
        middle = torch.asin((s * R[..., i, k]).clamp(-1.0, 1.0))
        c_y, c_x = -s * R[..., i, j], R[..., i, i]
    else:  # proper Euler
        a_y, a_x = R[..., j, i], -s * R[..., m, i]
        middle = torch.acos(R[..., i, i].clamp(-1.0, 1.0))
        c_y, c_x = R[..., i, j], s * R[..., i, m]
    # c_x^2 + c_y^2 = (cos or sin of the middle angle)^2: locked below eps^2. Above it the atan2 arguments are
    # noisy but consistent (the angles give back the matrix); the reconstruction from column j would be off by
    # |cos| (or |sin|), more than that noise.
    eps = _eps(R.dtype)
    locked = c_x * c_x + c_y * c_y < eps * eps
    zero, one = torch.zeros_like(c_x), torch.ones_like(c_x)
    first = torch.atan2(torch.where(locked, zero, a_y), torch.where(locked, one, a_x))
    last = torch.atan2(torch.where(locked, zero, c_y), torch.where(locked, one, c_x))
    # Locked, R = R_i(first) R_j(middle) with R_j(middle) e_j = e_j: column j is R_i(first) e_j.
    first_locked = torch.atan2(torch.where(locked, s * R[..., m, j], zero), torch.where(locked, R[..., j, j], one))
    return torch.stack([torch.where(locked, first_locked, first), middle, last], -1)


def random_quaternions(n: int, dtype: Optional[torch.dtype] = None, device: Optional[Device] = None) -> torch.Tensor:
    """(n, 4) unit quaternions with non-negative real part, uniform over rotations (normalized Gaussians)."""
    if isinstance(device, str):
        device = torch.device(device)
    q = torch.randn((n, 4), dtype=dtype, device=device)
    norm = torch.linalg.vector_norm(q, dim=1)
    return q / torch.where(q[:, 0] < 0, -norm, norm)[:, None]


def random_rotations(n: int, dtype: Optional[torch.dtype] = None, device: Optional[Device] = None) -> torch.Tensor:
    """(n, 3, 3) rotation matrices drawn uniformly from SO(3)."""
    return quaternion_to_matrix(random_quaternions(n, dtype=dtype, device=device))


def random_rotation(dtype: Optional[torch.dtype] = None, device: Optional[Device] = None) -> torch.Tensor:
    """One (3, 3) rotation matrix drawn uniformly from SO(3)."""
    return random_rotations(1, dtype, device)[0]


def standardize_quaternion(quaternions: torch.Tensor) -> torch.Tensor:
    """The same rotations (..., 4) with a non-negative real part (q and -q are one rotation)."""
    return torch.where(quaternions[..., 0:1] < 0, -quaternions, quaternions)


def quaternion_raw_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton products a * b of quaternions (..., 4), broadcast as torch does."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def quaternion_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The rotation a after b as a quaternion with non-negative real part (standardized a * b)."""
    return standardize_quaternion(quaternion_raw_multiply(a, b))


def quaternion_invert(quaternion: torch.Tensor) -> torch.Tensor:
    """Conjugates (w, -x, -y, -z): the inverse rotations of unit quaternions (..., 4)."""
    return torch.cat([quaternion[..., :1], -quaternion[..., 1:]], -1)


def quaternion_apply(quaternion: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Points (..., 3) rotated by quaternions (..., 4): the vector part of q p q^* (broadcast as torch does)."""
    if point.size(-1) != 3:
        raise ValueError(f"Points are not in 3D, {point.shape}.")
    w, u = quaternion[..., :1], quaternion[..., 1:]
    # q p q^* = (w^2 - |u|^2) p + 2 (u . p) u + 2 w (u x p), for any (not only unit) q.
    ux, uy, uz = u.unbind(-1)
    px, py, pz = point.unbind(-1)
    uxp = torch.stack([uy * pz - uz * py, uz * px - ux * pz, ux * py - uy * px], -1)
    return (w * w - (u * u).sum(-1, keepdim=True)) * point + 2 * (u * point).sum(-1, keepdim=True) * u + 2 * w * uxp


def axis_angle_to_matrix(axis_angle: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of axis-angle vectors (..., 3).

    Always Rodrigues' formula with series near angle 0. PyTorch3D's default (`fast=False`) goes through
    quaternions and its `fast=True` is Rodrigues: the same matrices up to rounding, so `fast` changes nothing."""
    if axis_angle.dim() == 0 or axis_angle.shape[-1] != 3:
        raise ValueError(f"Invalid axis-angle shape {axis_angle.shape}.")
    return _rodrigues(axis_angle)


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (..., 4) (cos(t/2), sin(t/2) n) of axis-angle vectors t n (..., 3)."""
    half2 = 0.25 * (axis_angle * axis_angle).sum(-1, keepdim=True)  # (t / 2)^2
    w = 1 - half2 * _cosc(half2)  # cos(t / 2)
    return torch.cat([w, 0.5 * _sinc(half2) * axis_angle], -1)


def quaternion_to_axis_angle(quaternions: torch.Tensor) -> torch.Tensor:
    """Axis-angle vectors (..., 3) of quaternions (..., 4) (real part first): angle 2 atan2(|v|, w), so angles
    above pi for a negative real part (PyTorch3D's result; standardize first for angles in [0, pi])."""
    v = quaternions[..., 1:]
    half = torch.atan2(torch.linalg.vector_norm(v, dim=-1, keepdim=True), quaternions[..., :1])
    return v / (0.5 * _sinc(half * half))  # v * t / sin(t / 2)


def matrix_to_axis_angle(matrix: torch.Tensor, fast: bool = False) -> torch.Tensor:
    """Axis-angle vectors (..., 3), angle in [0, pi], of rotation matrices (..., 3, 3).

    fast=False goes through `matrix_to_quaternion`; fast=True reads the angle from the trace and the axis from the
    skew part (from the symmetric part near pi, where the skew part vanishes), without quaternions."""
    _check_matrix(matrix)
    if not fast:
        return quaternion_to_axis_angle(matrix_to_quaternion(matrix))
    R = matrix
    omega = torch.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    trace = R[..., 0, 0] + R[..., 1, 1] + R[..., 2, 2]
    angle = torch.atan2(torch.linalg.vector_norm(omega, dim=-1), trace - 1)  # omega = 2 sin(t) n
    near_pi = angle > 0.75 * math.pi
    a = _sinc(angle * angle)
    from_skew = omega / (2 * torch.where(near_pi, torch.ones_like(a), a))[..., None]
    # Near pi: (R + R^T) / 2 - cos(t) I = (1 - cos t) n n^T; take its column with the largest diagonal entry.
    cos = torch.where(near_pi, angle.cos(), -torch.ones_like(angle))
    S = 0.5 * (R + R.transpose(-1, -2)) - cos[..., None, None] * torch.eye(3, dtype=R.dtype, device=R.device)
    diag = S.diagonal(dim1=-2, dim2=-1)
    k = diag.argmax(-1, keepdim=True)
    col = S.gather(-1, k[..., None, :].expand(list(S.shape[:-1]) + [1])).squeeze(-1)
    dk = diag.gather(-1, k)  # >= (1 - cos t) / 3 > 0 (and >= 2 / 3 in the unused branch, where cos = -1)
    n = col / (dk * (1 - cos)[..., None]).sqrt()
    n = torch.where((n * omega).sum(-1, keepdim=True) < 0, -n, n)
    return torch.where(near_pi[..., None], angle[..., None] * n, from_skew)


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of the 6D representation (..., 6) of Zhou et al. (CVPR 2019): the two rows
    are Gram-Schmidt orthonormalized and completed by their cross product (the matrix's rows)."""
    if d6.dim() == 0 or d6.shape[-1] != 6:
        raise ValueError(f"Invalid 6D rotation shape {d6.shape}.")
    b1 = F.normalize(d6[..., :3], dim=-1)
    a2 = d6[..., 3:]
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    return torch.stack([b1, b2, torch.linalg.cross(b1, b2, dim=-1)], -2)


def matrix_to_rotation_6d(matrix: torch.Tensor) -> torch.Tensor:
    """The 6D representation (..., 6) of rotation matrices (..., 3, 3): their first two rows (not unique)."""
    _check_matrix(matrix)
    return matrix[..., :2, :].clone().reshape(matrix.shape[:-2] + (6,))
