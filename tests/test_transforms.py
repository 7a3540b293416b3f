"""meshgraph.transforms: rotation conversions, quaternion algebra, SO(3) / SE(3) maps and Transform3d.

Values are checked against independent computations (scipy.spatial.transform.Rotation, torch.matrix_exp, closed
forms), round trips between every representation, stability and finite gradients at angles within 1e-7 of 0 and
pi, gradcheck in float64, half precision, and PyTorch3D's ValueErrors for bad input.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation as ScipyRotation

import meshgraph.transforms as T
from meshgraph.transforms import (
    Rotate,
    RotateAxisAngle,
    Scale,
    Transform3d,
    Translate,
    acos_linear_extrapolation,
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    euler_angles_to_matrix,
    hat,
    hat_inv,
    matrix_to_axis_angle,
    matrix_to_euler_angles,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_apply,
    quaternion_invert,
    quaternion_multiply,
    quaternion_raw_multiply,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    random_quaternions,
    random_rotation,
    random_rotations,
    rotation_6d_to_matrix,
    se3_exp_map,
    se3_log_map,
    so3_exp_map,
    so3_log_map,
    so3_relative_angle,
    so3_rotation_angle,
    standardize_quaternion,
)

CONVENTIONS = ["".join(c) for c in itertools.product("XYZ", repeat=3) if c[1] not in (c[0], c[2])]
TAIT_BRYAN = [c for c in CONVENTIONS if c[0] != c[2]]
PROPER = [c for c in CONVENTIONS if c[0] == c[2]]
FLOATS = [torch.float32, torch.float64]
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _close(a, b, dtype=torch.float64, tol=None):
    tol = TOL[dtype] if tol is None else tol
    torch.testing.assert_close(a, torch.as_tensor(b, dtype=a.dtype), atol=tol, rtol=tol)


def _axes(n, dtype):
    """n unit axes, the coordinate axes first (where a naive near-pi axis extraction divides by ~0)."""
    ax = torch.nn.functional.normalize(torch.randn(n, 3, dtype=torch.float64), dim=1)
    ax[:3] = torch.eye(3, dtype=torch.float64)
    return ax.to(dtype)


def _edge_angles(n, dtype):
    """(n, 3) axis-angle vectors with angles 0, 1e-7, pi - 1e-7, pi (and a few in between)."""
    angles = torch.tensor([0.0, 1e-7, 1e-3, 1.0, math.pi - 1e-3, math.pi - 1e-7, math.pi], dtype=torch.float64)
    angles = angles.repeat(n // len(angles) + 1)[:n]
    return (_axes(n, torch.float64) * angles[:, None]).to(dtype)


# ----------------------------------------------------------------------------------------------------------------
# Independent values (scipy)


@pytest.mark.parametrize("dtype", FLOATS)
def test_matrix_to_quaternion_and_axis_angle_match_scipy(dtype):
    R = random_rotations(64, dtype=torch.float64)
    ref = ScipyRotation.from_matrix(R.numpy())
    q_ref = ref.as_quat()[:, [3, 0, 1, 2]]
    q_ref *= np.where(q_ref[:, :1] < 0, -1.0, 1.0)
    _close(matrix_to_quaternion(R.to(dtype)), q_ref, dtype, 10 * TOL[dtype])
    for fast in (False, True):
        _close(matrix_to_axis_angle(R.to(dtype), fast=fast), ref.as_rotvec(), dtype, 10 * TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_quaternion_and_axis_angle_to_matrix_match_scipy(dtype):
    q = random_quaternions(64, dtype=torch.float64)
    ref = ScipyRotation.from_quat(q[:, [1, 2, 3, 0]].numpy())
    _close(quaternion_to_matrix(q.to(dtype)), ref.as_matrix(), dtype)
    v = torch.randn(64, 3, dtype=torch.float64) * 2
    ref = ScipyRotation.from_rotvec(v.numpy())
    for fast in (False, True):
        _close(axis_angle_to_matrix(v.to(dtype), fast=fast), ref.as_matrix(), dtype)
    _close(so3_exp_map(v.to(dtype)), ref.as_matrix(), dtype)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_euler_angles_match_scipy_intrinsic_in_all_12_conventions(convention):
    R = random_rotations(64, dtype=torch.float64)
    ref = ScipyRotation.from_matrix(R.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's gimbal-lock warning (random matrices never lock)
        _close(matrix_to_euler_angles(R, convention), ref.as_euler(convention), tol=1e-10)
    e = torch.rand(64, 3, dtype=torch.float64) * 6 - 3
    _close(euler_angles_to_matrix(e, convention), ScipyRotation.from_euler(convention, e.numpy()).as_matrix())


def test_euler_angles_are_intrinsic_products_of_axis_rotations():
    e = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    for convention in CONVENTIONS:
        expected = torch.eye(3, dtype=torch.float64)
        for letter, angle in zip(convention, e):
            expected = expected @ axis_angle_to_matrix(torch.eye(3, dtype=torch.float64)["XYZ".index(letter)] * angle)
        _close(euler_angles_to_matrix(e, convention), expected)


@pytest.mark.parametrize("dtype", FLOATS)
def test_euler_angle_ranges_tait_bryan_and_proper(dtype):
    R = random_rotations(256, dtype=dtype)
    for convention in TAIT_BRYAN:
        e = matrix_to_euler_angles(R, convention)
        assert (e[:, 1].abs() <= math.pi / 2 + 1e-6).all()
        assert (e.abs() <= math.pi + 1e-6).all()
    for convention in PROPER:
        e = matrix_to_euler_angles(R, convention)
        assert ((e[:, 1] >= 0) & (e[:, 1] <= math.pi + 1e-6)).all()
        assert (e.abs() <= math.pi + 1e-6).all()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_euler_round_trip_at_gimbal_lock_gives_the_same_rotation(convention):
    e = torch.rand(16, 3, dtype=torch.float64) * 2 - 1
    e[:, 1] = math.pi / 2 if convention[0] != convention[2] else 0.0
    R = euler_angles_to_matrix(e, convention)
    _close(euler_angles_to_matrix(matrix_to_euler_angles(R, convention), convention), R, tol=1e-7)


# ----------------------------------------------------------------------------------------------------------------
# Round trips, batched shapes


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(7,), (4, 5)])
def test_round_trips_between_every_representation_keep_batch_shapes(dtype, shape):
    R = random_rotations(math.prod(shape), dtype=dtype).reshape(*shape, 3, 3)
    tol = 100 * TOL[dtype]
    q = matrix_to_quaternion(R)
    assert q.shape == (*shape, 4)
    _close(quaternion_to_matrix(q), R, dtype, tol)
    for fast in (False, True):
        aa = matrix_to_axis_angle(R, fast=fast)
        assert aa.shape == (*shape, 3)
        _close(axis_angle_to_matrix(aa, fast=fast), R, dtype, tol)
    aa = quaternion_to_axis_angle(q)
    _close(standardize_quaternion(axis_angle_to_quaternion(aa)), q, dtype, tol)
    _close(axis_angle_to_matrix(aa), R, dtype, tol)
    d6 = matrix_to_rotation_6d(R)
    assert d6.shape == (*shape, 6)
    _close(rotation_6d_to_matrix(d6), R, dtype, tol)
    for convention in CONVENTIONS:
        e = matrix_to_euler_angles(R, convention)
        assert e.shape == (*shape, 3)
        _close(euler_angles_to_matrix(e, convention), R, dtype, tol)


def test_rotation_6d_to_matrix_orthonormalizes_any_input():
    R = rotation_6d_to_matrix(torch.randn(32, 6, dtype=torch.float64))
    _close(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(32, 3, 3))
    _close(torch.linalg.det(R), torch.ones(32, dtype=torch.float64))


@pytest.mark.parametrize("dtype", FLOATS)
def test_round_trips_are_stable_within_1e7_of_angle_0_and_pi(dtype):
    v = _edge_angles(70, dtype)
    R = axis_angle_to_matrix(v)
    R64 = axis_angle_to_matrix(v.double())
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    for fast in (False, True):
        back = axis_angle_to_matrix(matrix_to_axis_angle(R, fast=fast))
        _close(back, R64, dtype, 10 * tol)
        angle = matrix_to_axis_angle(R, fast=fast).norm(dim=-1)
        _close(angle, v.double().norm(dim=-1), dtype, 10 * tol if dtype == torch.float64 else 1e-3)
    _close(quaternion_to_matrix(matrix_to_quaternion(R)), R64, dtype, 10 * tol)
    _close(so3_exp_map(so3_log_map(R)), R64, dtype, 10 * tol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_every_conversion_has_finite_gradients_within_1e7_of_angle_0_and_pi(dtype):
    assert len(CONVENTIONS) == 12 and len(TAIT_BRYAN) == 6 and len(PROPER) == 6
    v = _edge_angles(70, dtype).requires_grad_()
    R = axis_angle_to_matrix(v)
    q = axis_angle_to_quaternion(v)
    outs = [R, q, quaternion_to_matrix(q), quaternion_to_axis_angle(q), matrix_to_quaternion(R),
            matrix_to_axis_angle(R), matrix_to_axis_angle(R, fast=True), matrix_to_rotation_6d(R),
            rotation_6d_to_matrix(matrix_to_rotation_6d(R)), so3_rotation_angle(R), so3_relative_angle(R, R.detach()),
            quaternion_apply(q, torch.ones(3, dtype=dtype))]
    for out in outs:
        (g,) = torch.autograd.grad(out.sum(), v, retain_graph=True)
        assert torch.isfinite(g).all()


def test_matrix_to_axis_angle_fast_near_pi_about_any_axis():
    # PyTorch3D 0.7.9's fast path reads the axis from the first row of R + I, which vanishes for axes
    # perpendicular to X; this one takes the best-conditioned column.
    axes = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.6, 0.8], [1.0, 0.0, 0.0]], dtype=torch.float64)
    for angle in (math.pi, math.pi - 1e-9, math.pi - 1e-4, 0.8 * math.pi):
        R = axis_angle_to_matrix(axes * angle)
        _close(axis_angle_to_matrix(matrix_to_axis_angle(R, fast=True)), R, tol=1e-9)
        _close(matrix_to_axis_angle(R, fast=True).norm(dim=-1), torch.full((3,), angle, dtype=torch.float64))


# ----------------------------------------------------------------------------------------------------------------
# Quaternion algebra


def test_quaternion_product_is_matrix_product_and_associative():
    a, b, c = (random_quaternions(16, dtype=torch.float64) for _ in range(3))
    _close(quaternion_to_matrix(quaternion_multiply(a, b)), quaternion_to_matrix(a) @ quaternion_to_matrix(b))
    _close(quaternion_raw_multiply(quaternion_raw_multiply(a, b), c), quaternion_raw_multiply(a, quaternion_raw_multiply(b, c)))
    assert (quaternion_multiply(a, b)[:, 0] >= 0).all()
    # |ab| = |a||b| for any quaternions
    x, y = torch.randn(16, 4, dtype=torch.float64), torch.randn(16, 4, dtype=torch.float64)
    _close(quaternion_raw_multiply(x, y).norm(dim=-1), x.norm(dim=-1) * y.norm(dim=-1))


def test_quaternion_invert_apply_and_standardize():
    q = random_quaternions(16, dtype=torch.float64)
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64).expand(16, 4)
    _close(quaternion_multiply(q, quaternion_invert(q)), identity)
    _close(quaternion_multiply(quaternion_invert(q), q), identity)
    p = torch.randn(16, 3, dtype=torch.float64)
    _close(quaternion_apply(q, p), (quaternion_to_matrix(q) @ p[:, :, None])[:, :, 0])
    _close(quaternion_apply(quaternion_invert(q), quaternion_apply(q, p)), p)
    _close(quaternion_to_matrix(-q), quaternion_to_matrix(q))
    _close(standardize_quaternion(-q), q)
    # broadcasting: one quaternion against a batch of points, and (N, 1, 4) against (1, M, 3)
    _close(quaternion_apply(q[:1], p), (quaternion_to_matrix(q[:1]) @ p[:, :, None])[:, :, 0])
    assert quaternion_apply(q[:, None], p[None, :5]).shape == (16, 5, 3)
    assert quaternion_raw_multiply(q[:, None], q[None, :3]).shape == (16, 3, 4)


def test_quaternion_apply_of_unnormalized_quaternion_is_q_p_q_conjugate():
    q, p = torch.randn(8, 4, dtype=torch.float64), torch.randn(8, 3, dtype=torch.float64)
    pq = torch.cat([torch.zeros(8, 1, dtype=torch.float64), p], 1)
    expected = quaternion_raw_multiply(quaternion_raw_multiply(q, pq), quaternion_invert(q))[:, 1:]
    _close(quaternion_apply(q, p), expected)


def test_axis_angle_quaternion_closed_forms():
    v = torch.randn(32, 3, dtype=torch.float64)
    t = v.norm(dim=-1, keepdim=True)
    _close(axis_angle_to_quaternion(v), torch.cat([(t / 2).cos(), (t / 2).sin() * v / t], -1))
    q = random_quaternions(32, dtype=torch.float64)
    half = torch.atan2(q[:, 1:].norm(dim=-1, keepdim=True), q[:, :1])
    _close(quaternion_to_axis_angle(q), q[:, 1:] / q[:, 1:].norm(dim=-1, keepdim=True) * 2 * half)


# ----------------------------------------------------------------------------------------------------------------
# Random rotations


def test_random_rotations_and_quaternions_shapes_dtypes_and_validity():
    R = random_rotations(100, dtype=torch.float64, device="cpu")
    assert R.shape == (100, 3, 3) and R.dtype == torch.float64 and R.device.type == "cpu"
    _close(R @ R.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(100, 3, 3))
    _close(torch.linalg.det(R), torch.ones(100, dtype=torch.float64))
    q = random_quaternions(100, torch.float32, torch.device("cpu"))
    assert q.shape == (100, 4) and q.dtype == torch.float32
    assert (q[:, 0] >= 0).all()
    _close(q.norm(dim=-1), torch.ones(100), torch.float32)
    one = random_rotation(torch.float64)
    assert one.shape == (3, 3)
    assert random_rotations(3).dtype == torch.get_default_dtype()


def test_random_rotations_are_uniform():
    # Haar measure: the rotation angle has density (1 - cos t) / pi on [0, pi], so E[cos t] = -1/2 and each
    # entry of R has mean 0 and variance 1/3.
    R = random_rotations(20000, dtype=torch.float64)
    cos = so3_rotation_angle(R, cos_angle=True)
    assert abs(cos.mean().item() + 0.5) < 0.02
    assert R.mean(0).abs().max() < 0.02
    assert (R.var(0) - 1 / 3).abs().max() < 0.02


# ----------------------------------------------------------------------------------------------------------------
# SO(3), SE(3)


@pytest.mark.parametrize("dtype", FLOATS)
def test_so3_exp_map_matches_matrix_exponential_of_hat(dtype):
    v = torch.cat([_edge_angles(14, torch.float64), torch.randn(10, 3, dtype=torch.float64) * 3])
    expected = torch.matrix_exp(hat(v))
    _close(so3_exp_map(v.to(dtype)), expected, dtype, 10 * TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_so3_log_exp_round_trip_and_finite_gradients_near_0_and_pi(dtype):
    v = _edge_angles(70, dtype).requires_grad_()
    R = so3_exp_map(v)
    log = so3_log_map(R)
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    _close(so3_exp_map(log), axis_angle_to_matrix(v.detach().double()), dtype, 10 * tol)
    angle = log.norm(dim=-1)
    inner = v.detach().norm(dim=-1) < math.pi - 1e-3  # at pi, the log's sign is not determined
    _close(log[inner], v.detach()[inner], dtype, 100 * tol)
    (grad,) = torch.autograd.grad((log.sum() + R.sum() + angle.sum()), v)
    assert torch.isfinite(grad).all()
    # d log(exp(v)) / dv = I away from pi
    (g,) = torch.autograd.grad(so3_log_map(so3_exp_map(v))[inner, 0].sum(), v)
    _close(g[inner], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).expand(int(inner.sum()), 3), dtype,
           1e-9 if dtype == torch.float64 else 1e-3)


@pytest.mark.parametrize("dtype", FLOATS)
def test_so3_rotation_angle_and_relative_angle(dtype):
    v = _edge_angles(70, dtype)
    R = so3_exp_map(v)
    angle = v.double().norm(dim=-1)
    _close(so3_rotation_angle(R, cos_angle=True), angle.cos(), dtype, 10 * TOL[dtype])
    exact = so3_rotation_angle(R, cos_bound=0.0)
    mid = (angle > 0.1) & (angle < 3.0)
    _close(exact[mid], angle[mid], dtype, 1e-4 if dtype == torch.float32 else 1e-10)
    Rg = R.clone().requires_grad_()
    (g,) = torch.autograd.grad(so3_rotation_angle(Rg).sum(), Rg)  # cos_bound keeps 0 and pi finite
    assert torch.isfinite(g).all()
    R2 = random_rotations(70, dtype=dtype)
    rel = so3_relative_angle(R, R2, cos_angle=True)
    _close(rel, so3_rotation_angle(R @ R2.transpose(1, 2), cos_angle=True), dtype)
    _close(so3_relative_angle(R2, R2), torch.zeros(70, dtype=dtype), dtype, 0.02)  # linear extrapolation at 0


@pytest.mark.parametrize("dtype", FLOATS)
def test_se3_exp_map_matches_matrix_exponential(dtype):
    x = torch.cat([torch.randn(24, 3, dtype=torch.float64), torch.cat([_edge_angles(14, torch.float64),
                   torch.randn(10, 3, dtype=torch.float64) * 2])], 1)
    # the column-vector generator [[hat(w), u], [0, 0]]; PyTorch3D's matrices are its transpose
    gen = torch.zeros(24, 4, 4, dtype=torch.float64)
    gen[:, :3, :3] = hat(x[:, 3:])
    gen[:, :3, 3] = x[:, :3]
    expected = torch.matrix_exp(gen).transpose(1, 2)
    _close(se3_exp_map(x.to(dtype)), expected, dtype, 20 * TOL[dtype])


@pytest.mark.parametrize("dtype", FLOATS)
def test_se3_log_exp_round_trip_and_finite_gradients_near_0_and_pi(dtype):
    w = _edge_angles(70, dtype)
    x = torch.cat([torch.randn(70, 3, dtype=dtype), w], 1).requires_grad_()
    M = se3_exp_map(x)
    log = se3_log_map(M)
    tol = 1e-11 if dtype == torch.float64 else 1e-5
    _close(se3_exp_map(log), M.detach(), dtype, 10 * tol)
    inner = w.norm(dim=-1) < math.pi - 1e-3
    _close(log[inner], x.detach()[inner], dtype, 100 * tol)
    (grad,) = torch.autograd.grad(log.sum() + M.sum(), x)
    assert torch.isfinite(grad).all()
    # as a Transform3d: get_se3_log
    _close(Transform3d(matrix=M.detach()).get_se3_log(), log.detach(), dtype, tol)


def test_hat_and_hat_inv():
    v = torch.randn(8, 3, dtype=torch.float64)
    h = hat(v)
    _close(h, -h.transpose(1, 2))
    w = torch.randn(8, 3, dtype=torch.float64)
    _close((h @ w[:, :, None])[:, :, 0], torch.linalg.cross(v, w, dim=-1))
    _close(hat_inv(h), v)
    with pytest.raises(ValueError, match="One of input matrices is not skew-symmetric."):
        hat_inv(torch.eye(3)[None])


def test_acos_linear_extrapolation():
    x = torch.linspace(-2, 2, 401, dtype=torch.float64)
    y = acos_linear_extrapolation(x, (-0.9, 0.8))
    inside = (x > -0.9) & (x < 0.8)
    _close(y[inside], torch.acos(x[inside]))
    hi = x >= 0.8
    _close(y[hi], math.acos(0.8) - (x[hi] - 0.8) / math.sqrt(1 - 0.64))
    lo = x <= -0.9
    _close(y[lo], math.acos(-0.9) - (x[lo] + 0.9) / math.sqrt(1 - 0.81))
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(acos_linear_extrapolation(xg).sum(), xg)
    assert torch.isfinite(g).all()
    with pytest.raises(ValueError, match="lower bound has to be smaller or equal to upper bound."):
        acos_linear_extrapolation(x, (0.5, 0.1))
    with pytest.raises(ValueError, match=r"Both lower bound and upper bound have to be within \(-1, 1\)."):
        acos_linear_extrapolation(x, (-1.0, 0.5))


# ----------------------------------------------------------------------------------------------------------------
# gradcheck (float64), half precision


def test_gradcheck_float64():
    gc = torch.autograd.gradcheck
    q = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    v = (torch.randn(5, 3, dtype=torch.float64) * 1.5).requires_grad_()
    small = (torch.randn(5, 3, dtype=torch.float64) * 1e-4).requires_grad_()
    x6 = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    p = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    e = (torch.rand(5, 3, dtype=torch.float64) - 0.5).requires_grad_()
    assert gc(quaternion_to_matrix, (q,))
    assert gc(lambda a: matrix_to_quaternion(so3_exp_map(a)), (v,))
    assert gc(lambda a: matrix_to_axis_angle(so3_exp_map(a), fast=True), (v,))
    for f in (axis_angle_to_matrix, axis_angle_to_quaternion, so3_exp_map, lambda a: so3_log_map(so3_exp_map(a))):
        assert gc(f, (v,))
        assert gc(f, (small,))
    assert gc(quaternion_to_axis_angle, (standardize_quaternion(q.detach()).requires_grad_(),))
    assert gc(quaternion_apply, (q, p))
    assert gc(quaternion_raw_multiply, (q, q.detach().flip(0).requires_grad_()))
    assert gc(rotation_6d_to_matrix, (x6,))
    assert gc(se3_exp_map, (x6,))
    assert gc(lambda a: se3_log_map(se3_exp_map(a)), (x6,))
    for convention in ("XYZ", "ZXZ", "YXZ", "YXY"):
        assert gc(lambda a, c=convention: euler_angles_to_matrix(a, c), (e,))
        assert gc(lambda a, c=convention: matrix_to_euler_angles(so3_exp_map(a), c), (v,))
    assert gc(lambda a: Transform3d(dtype=torch.float64).rotate(so3_exp_map(a)).translate(a).scale(2.0)
              .transform_points(p.detach()), (v,))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs_give_half_precision_outputs_close_to_float64(dtype):
    R64 = random_rotations(16, dtype=torch.float64)
    R = R64.to(dtype)
    tol = 2e-2 if dtype == torch.bfloat16 else 4e-3
    q = matrix_to_quaternion(R)
    assert q.dtype == dtype
    _close(q, matrix_to_quaternion(R64), dtype, tol)
    for fast in (False, True):
        _close(matrix_to_axis_angle(R, fast=fast), matrix_to_axis_angle(R64), dtype, 4 * tol)
    aa = matrix_to_axis_angle(R64)
    _close(axis_angle_to_matrix(aa.to(dtype)), R64, dtype, tol)
    _close(quaternion_to_matrix(q), R64, dtype, 2 * tol)
    _close(rotation_6d_to_matrix(matrix_to_rotation_6d(R)), R64, dtype, 2 * tol)
    _close(euler_angles_to_matrix(matrix_to_euler_angles(R, "XYZ"), "XYZ"), R64, dtype, 4 * tol)
    _close(so3_exp_map(aa.to(dtype)), R64, dtype, tol)
    x = torch.randn(16, 6, dtype=torch.float64)
    _close(se3_exp_map(x.to(dtype)), se3_exp_map(x), dtype, 8 * tol)
    assert se3_log_map(se3_exp_map(x).to(dtype)).dtype == dtype
    assert quaternion_apply(q, torch.randn(16, 3, dtype=dtype)).dtype == dtype
    pts = torch.randn(16, 5, 3, dtype=dtype)
    assert Transform3d(dtype=dtype).rotate(R).translate(1.0, 2.0, 3.0).transform_points(pts).dtype == dtype


# ----------------------------------------------------------------------------------------------------------------
# Bad input: PyTorch3D's ValueErrors and messages


@pytest.mark.parametrize("convention,message", [
    ("XY", "Convention must have 3 letters."),
    ("XYZX", "Convention must have 3 letters."),
    ("XXY", "Invalid convention XXY."),
    ("XYY", "Invalid convention XYY."),
    ("XYW", "Invalid letter W in convention string."),
    ("xyz", "Invalid letter x in convention string."),
])
def test_bad_euler_conventions(convention, message):
    with pytest.raises(ValueError, match=message):
        euler_angles_to_matrix(torch.zeros(2, 3), convention)
    with pytest.raises(ValueError, match=message):
        matrix_to_euler_angles(torch.eye(3).expand(2, 3, 3), convention)


def test_bad_shapes():
    with pytest.raises(ValueError, match="Invalid input euler angles."):
        euler_angles_to_matrix(torch.zeros(2, 4), "XYZ")
    with pytest.raises(ValueError, match="Invalid input euler angles."):
        euler_angles_to_matrix(torch.tensor(0.0), "XYZ")
    for f in (matrix_to_quaternion, matrix_to_axis_angle, matrix_to_rotation_6d,
              lambda m: matrix_to_euler_angles(m, "XYZ"), lambda m: matrix_to_axis_angle(m, fast=True)):
        with pytest.raises(ValueError, match="Invalid rotation matrix shape"):
            f(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="Points are not in 3D"):
        quaternion_apply(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="Input tensor shape has to be Nx3."):
        so3_exp_map(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="Input tensor shape has to be Nx3."):
        so3_exp_map(torch.zeros(2, 2, 3))
    for f in (so3_log_map, so3_rotation_angle, hat_inv, lambda m: so3_relative_angle(m, m)):
        with pytest.raises(ValueError, match="Input has to be a batch of 3x3 Tensors."):
            f(torch.zeros(2, 3, 4))
        with pytest.raises(ValueError, match="Input has to be a batch of 3x3 Tensors."):
            f(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="Input vectors have to be 3-dimensional."):
        hat(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"Expected input to be of shape \(N, 6\)."):
        se3_exp_map(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"Input tensor shape has to be \(N, 4, 4\)."):
        se3_log_map(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"should be 0"):
        se3_log_map(torch.ones(2, 4, 4))
    with pytest.raises(ValueError, match=r"A matrix has trace outside valid range \[-1-eps,3\+eps\]."):
        so3_rotation_angle(2 * torch.eye(3)[None])
    for f, x in ((quaternion_to_matrix, torch.zeros(2, 3)), (rotation_6d_to_matrix, torch.zeros(2, 5)),
                 (axis_angle_to_matrix, torch.zeros(2, 4))):
        with pytest.raises(ValueError):
            f(x)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_public_functions_are_torchscript_compatible():
    names = ["axis_angle_to_matrix", "axis_angle_to_quaternion", "euler_angles_to_matrix", "matrix_to_axis_angle",
             "matrix_to_euler_angles", "matrix_to_quaternion", "matrix_to_rotation_6d", "quaternion_apply",
             "quaternion_multiply", "quaternion_to_matrix", "quaternion_to_axis_angle", "random_quaternions",
             "random_rotation", "random_rotations", "rotation_6d_to_matrix", "so3_exp_map", "so3_log_map",
             "se3_exp_map", "se3_log_map"]
    R = random_rotations(4, dtype=torch.float64)
    scripted = torch.jit.script(T.matrix_to_axis_angle)
    _close(scripted(R, True), matrix_to_axis_angle(R))
    for name in names:
        torch.jit.script(getattr(T, name))


# ----------------------------------------------------------------------------------------------------------------
# Transform3d


def _points(n=2, p=5, dtype=torch.float64):
    return torch.randn(n, p, 3, dtype=dtype)


def test_transform3d_builders_compose_in_row_vector_order():
    R = random_rotations(2, dtype=torch.float64)
    t = Transform3d(dtype=torch.float64).scale(2.0, 3.0, 4.0).rotate(R).translate(1.0, -2.0, 0.5)
    x = _points()
    expected = (x * torch.tensor([2.0, 3.0, 4.0], dtype=torch.float64)) @ R + torch.tensor([1.0, -2.0, 0.5],
                                                                                            dtype=torch.float64)
    _close(t.transform_points(x), expected)
    same = Scale(2.0, 3.0, 4.0, dtype=torch.float64).compose(Rotate(R, dtype=torch.float64),
                                                             Translate(1.0, -2.0, 0.5, dtype=torch.float64))
    _close(same.get_matrix(), t.get_matrix())
    assert len(t) == 2
    M = t.get_matrix()
    _close(M[:, :3, 3], torch.zeros(2, 3, dtype=torch.float64))
    _close(M[:, 3, :3], torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64).expand(2, 3))


def test_transform3d_inverse_both_ways_and_of_each_subclass():
    R = random_rotations(3, dtype=torch.float64)
    t = Transform3d(dtype=torch.float64).rotate(R).translate(torch.randn(3, 3, dtype=torch.float64)).scale(
        torch.rand(3, dtype=torch.float64) + 0.5)
    eye = torch.eye(4, dtype=torch.float64).expand(3, 4, 4)
    for invert_composed in (False, True):
        _close(t.compose(t.inverse(invert_composed)).get_matrix(), eye, tol=1e-10)
    for s in (Translate(torch.randn(3, 3, dtype=torch.float64), dtype=torch.float64),
              Scale(torch.rand(3, 3, dtype=torch.float64) + 0.5, dtype=torch.float64),
              Rotate(R, dtype=torch.float64), RotateAxisAngle(torch.randn(3), "Z", dtype=torch.float64)):
        _close(s.inverse().get_matrix(), torch.inverse(s.get_matrix()), tol=1e-10)


def test_transform3d_broadcasting_and_stack():
    t1 = Translate(1.0, 2.0, 3.0, dtype=torch.float64)
    tN = Rotate(random_rotations(4, dtype=torch.float64), dtype=torch.float64)
    P = torch.randn(6, 3, dtype=torch.float64)
    assert t1.transform_points(P).shape == (6, 3)
    assert t1.transform_points(P[None]).shape == (1, 6, 3)
    assert t1.transform_points(P[None].expand(3, 6, 3)).shape == (3, 6, 3)
    assert tN.transform_points(P).shape == (4, 6, 3)
    assert len(t1.compose(tN)) == 4
    s = t1.stack(tN, t1)
    assert len(s) == 6
    x = torch.randn(6, 6, 3, dtype=torch.float64)
    expected = torch.cat([t1.transform_points(x[:1]), tN.transform_points(x[1:5]), t1.transform_points(x[5:])])
    _close(s.transform_points(x), expected)
    with pytest.raises(ValueError):
        tN.compose(Rotate(random_rotations(3, dtype=torch.float64), dtype=torch.float64)).get_matrix()


def test_transform_points_eps_and_normals():
    M = torch.eye(4, dtype=torch.float64).repeat(1, 1, 1)
    M[0, :, 3] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)  # w = x: zero at x = 0
    t = Transform3d(matrix=M)
    x = torch.tensor([[[0.0, 1.0, 2.0], [-1e-9, 1.0, 1.0], [2.0, 2.0, 2.0]]], dtype=torch.float64)
    out = t.transform_points(x, eps=1e-4)
    _close(out[0, 0], torch.tensor([0.0, 1e4, 2e4], dtype=torch.float64))  # w = 0 -> +eps
    _close(out[0, 1], torch.tensor([1e-5, -1e4, -1e4], dtype=torch.float64))  # w = -1e-9 -> -eps
    _close(out[0, 2], torch.ones(3, dtype=torch.float64))
    R = random_rotations(2, dtype=torch.float64)
    t = Transform3d(dtype=torch.float64).scale(2.0, 1.0, 0.5).rotate(R).translate(3.0, 0.0, 0.0)
    n = _points()
    A = t.get_matrix()[:, :3, :3]
    _close(t.transform_normals(n), n @ torch.inverse(A).transpose(1, 2))
    with pytest.raises(ValueError, match="Expected points to have dim = 2 or dim = 3"):
        t.transform_points(torch.zeros(3))
    with pytest.raises(ValueError, match="Expected normals to have dim = 2 or dim = 3"):
        t.transform_normals(torch.zeros(3))


def test_normals_remain_perpendicular_to_surfaces():
    t = Transform3d(dtype=torch.float64).scale(2.0, 1.0, 0.5).rotate(random_rotations(1, dtype=torch.float64)[0])
    a, b = torch.randn(7, 3, dtype=torch.float64), torch.randn(7, 3, dtype=torch.float64)
    n = torch.linalg.cross(a, b, dim=-1)
    ta = t.transform_points(a) - t.transform_points(torch.zeros_like(a))
    tb = t.transform_points(b) - t.transform_points(torch.zeros_like(b))
    tn = t.transform_normals(n)
    _close((tn * ta).sum(-1), torch.zeros(7, dtype=torch.float64), tol=1e-10)
    _close((tn * tb).sum(-1), torch.zeros(7, dtype=torch.float64), tol=1e-10)


def test_subclasses_inputs_and_getitem():
    xyz = torch.randn(4, 3, dtype=torch.float64)
    _close(Translate(xyz, dtype=torch.float64).get_matrix()[:, 3, :3], xyz)
    _close(Translate(xyz[:, 0], xyz[:, 1], 2.0, dtype=torch.float64).get_matrix()[:, 3, 2], torch.full((4,), 2.0,
                                                                                                        dtype=torch.float64))
    _close(Scale(torch.tensor([1.0, 2.0]), dtype=torch.float64).get_matrix().diagonal(dim1=1, dim2=2),
           torch.tensor([[1.0, 1, 1, 1], [2, 2, 2, 1]], dtype=torch.float64))
    with pytest.raises(ValueError, match="non-broadcastable"):
        Translate(torch.zeros(2), torch.zeros(3), 0.0)
    with pytest.raises(ValueError, match="Expected y and z to be None"):
        Translate(xyz, xyz[:, 1], xyz[:, 2])
    with pytest.raises(ValueError, match="R must have shape"):
        Rotate(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="Expected axis to be one of"):
        RotateAxisAngle(30.0, axis="W")
    _close(RotateAxisAngle(90.0, "Z", dtype=torch.float64).transform_points(torch.tensor([[1.0, 0, 0]],
                                                                                            dtype=torch.float64)),
           torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64))  # counter-clockwise
    _close(RotateAxisAngle(math.pi / 2, "X", degrees=False, dtype=torch.float64).get_matrix()[0, :3, :3],
           axis_angle_to_matrix(torch.tensor([math.pi / 2, 0, 0], dtype=torch.float64)).T)
    for t in (Transform3d(matrix=torch.randn(5, 4, 4)), Translate(torch.randn(5, 3)), Scale(torch.randn(5, 3)),
              Rotate(random_rotations(5)), RotateAxisAngle(torch.randn(5), "Y")):
        for index in (1, -1, slice(1, 3), [0, 4], torch.tensor([True, False, True, False, False]),
                      torch.tensor([3, 1])):
            sel = t[index]
            assert isinstance(sel, Transform3d)
            _close(sel.get_matrix(), t.get_matrix()[[index] if isinstance(index, int) else index], torch.float32)
        with pytest.raises(IndexError):
            t[5]


def test_to_clone_and_device_dtype():
    t = Transform3d().rotate(random_rotations(2)).translate(1.0, 2.0, 3.0)
    assert t.to("cpu") is t
    c = t.to("cpu", copy=True)
    assert c is not t and c._matrix is not t._matrix
    d = t.to("cpu", dtype=torch.float64)
    assert d.dtype == torch.float64 and d.get_matrix().dtype == torch.float64 and t.dtype == torch.float32
    _close(d.get_matrix(), t.get_matrix().double(), torch.float32)
    k = t.clone()
    k._matrix += 1
    assert not torch.equal(k.get_matrix(), t.get_matrix())
    assert t.cpu() is t
    if torch.cuda.is_available():
        g = t.cuda()
        assert g.device.type == "cuda"
        torch.testing.assert_close(g.get_matrix(), t.get_matrix().to(g.device))


def test_rotate_checks_rotation_matrices_only_when_asked(monkeypatch):
    monkeypatch.setenv("PYTORCH3D_CHECK_ROTATION_MATRICES", "1")
    with pytest.warns(UserWarning, match="R is not a valid rotation matrix"):
        Rotate(2 * torch.eye(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Rotate(random_rotations(3))
    monkeypatch.setenv("PYTORCH3D_CHECK_ROTATION_MATRICES", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Rotate(2 * torch.eye(3))


def test_get_se3_log_rejects_non_euclidean_transforms():
    M = torch.eye(4).repeat(2, 1, 1)
    M[:, 0, 3] = 1.0  # a projective last column
    with pytest.raises(ValueError):
        Transform3d(matrix=M).get_se3_log()


def test_compat_namespace_is_meshgraph_transforms():
    from meshgraph.compat.pytorch3d import transforms as P3
    from meshgraph.compat.pytorch3d.transforms import math as p3_math
    from meshgraph.compat.pytorch3d.transforms import rotation_conversions, se3, so3, transform3d

    assert P3.so3_exp_map is so3_exp_map and P3.Transform3d is Transform3d
    assert rotation_conversions.matrix_to_euler_angles is matrix_to_euler_angles
    assert so3.hat is hat and so3.hat_inv is hat_inv and se3.se3_log_map is se3_log_map
    assert transform3d.RotateAxisAngle is RotateAxisAngle
    assert p3_math.acos_linear_extrapolation is acos_linear_extrapolation
    with pytest.warns(PendingDeprecationWarning):
        _close(P3.so3_exponential_map(torch.zeros(1, 3)), torch.eye(3)[None], torch.float32)


def test_transform_points_affine_fast_path_equals_the_homogeneous_divide():
    """Translate / Rotate / Scale compositions skip the divide by w = 1; the same matrices given as a plain
    Transform3d(matrix=...) take the general [p, 1] @ M / w path: equal results and gradients, batched and
    broadcast, and eps > 1 (which would clamp w) takes the general path."""
    from meshgraph.transforms import Rotate, Scale, Transform3d, Translate, random_rotations

    g = torch.Generator().manual_seed(0)
    R = random_rotations(4, dtype=torch.float64)
    s = torch.rand(4, 3, generator=g, dtype=torch.float64) + 0.5
    t = torch.randn(4, 3, generator=g, dtype=torch.float64)
    fast = Scale(s, dtype=torch.float64).compose(Rotate(R, dtype=torch.float64), Translate(t, dtype=torch.float64))
    assert fast._is_affine() and fast.inverse()._is_affine()
    slow = Transform3d(matrix=fast.get_matrix())
    assert not slow._is_affine() and not fast.compose(slow)._is_affine()
    for shape in [(4, 50, 3), (1, 50, 3), (50, 3)]:
        p = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
        a, b = fast.transform_points(p), slow.transform_points(p)
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(torch.autograd.grad(a.sum(), p)[0], torch.autograd.grad(b.sum(), p)[0])
    p = torch.randn(4, 50, 3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(fast.transform_points(p, eps=2.0), slow.transform_points(p, eps=2.0))
    torch.testing.assert_close(fast.transform_points(p, eps=2.0), slow.transform_points(p) / 2.0)
    torch.testing.assert_close(fast.inverse().transform_points(fast.transform_points(p)), p)


def test_assigning_matrix_drops_the_affine_fast_path():
    """PyTorch3D's own tests set `_matrix` on an identity Transform3d (a perspective projection): the result must
    then be divided by w like any caller-given matrix, so points at w ~ 0 blow up without eps and stay finite with
    it. Translate / Rotate / Scale, .to() and .clone() keep the fast path."""
    from meshgraph.transforms import Transform3d, Translate

    t = Transform3d()
    assert t._is_affine()
    t._matrix = torch.tensor([[[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]])
    assert not t._is_affine()
    p = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1e-5], [-1.0, 0.0, 1e-5]]).view(1, 3, 3)
    assert not torch.isfinite(t.transform_points(p).sum())
    assert torch.isfinite(t.transform_points(p, eps=1e-4).sum())
    moved = Translate(torch.ones(2, 3)).rotate_axis_angle(30, "X")
    assert moved._is_affine() and moved.clone()._is_affine()
    assert moved.to("cpu", dtype=torch.float64)._is_affine() and moved.inverse()._is_affine()
