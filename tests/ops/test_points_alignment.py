"""corresponding_points_alignment / iterative_closest_point: recovery of known similarity transforms, variable
lengths against per-cloud solves, weights, reflections, dtypes, bad input."""

import warnings

import pytest
import torch

from meshgraph.ops.points_alignment import (
    SimilarityTransform,
    corresponding_points_alignment,
    iterative_closest_point,
)
from meshgraph.structures import Pointclouds


def _random_rotation(n, dtype=torch.float64, reflect=False):
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, dtype=dtype))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    det = torch.det(q)
    q[:, :, 2] *= det[:, None]  # det +1
    if reflect:
        q[:, :, 2] *= -1
    return q


def _transform(X, R, T, s):
    return s[:, None, None] * X @ R + T[:, None]


@pytest.mark.parametrize("estimate_scale", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_alignment_recovers_known_transform(estimate_scale, dtype):
    N, P = 4, 50
    X = torch.randn(N, P, 3, dtype=dtype)
    R = _random_rotation(N, dtype)
    T = torch.randn(N, 3, dtype=dtype)
    s = torch.rand(N, dtype=dtype) + 0.5 if estimate_scale else torch.ones(N, dtype=dtype)
    Y = _transform(X, R, T, s)
    out = corresponding_points_alignment(X, Y, estimate_scale=estimate_scale)
    assert isinstance(out, SimilarityTransform)
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(out.R, R, atol=tol, rtol=0)
    torch.testing.assert_close(out.T, T, atol=tol, rtol=0)
    torch.testing.assert_close(out.s, s, atol=tol, rtol=0)
    assert torch.allclose(torch.det(out.R), torch.ones(N, dtype=dtype), atol=tol)


def test_alignment_reflection_only_when_allowed():
    X = torch.randn(3, 30, 3, dtype=torch.float64)
    R = _random_rotation(3, reflect=True)
    Y = X @ R
    free = corresponding_points_alignment(X, Y, allow_reflection=True)
    torch.testing.assert_close(free.R, R)
    proper = corresponding_points_alignment(X, Y, allow_reflection=False)
    torch.testing.assert_close(torch.det(proper.R), torch.ones(3, dtype=torch.float64))
    # the proper rotation fits worse than the exact reflection
    err = ((X @ proper.R + proper.T[:, None] - Y) ** 2).sum()
    assert err > 1e-3


def test_alignment_is_least_squares_optimal_with_noise():
    # the estimate beats small perturbations of itself (first-order optimality of the weighted objective)
    X = torch.randn(2, 40, 3, dtype=torch.float64)
    Y = X @ _random_rotation(2) + 0.05 * torch.randn(2, 40, 3, dtype=torch.float64) + 1.0
    R, T, s = corresponding_points_alignment(X, Y, estimate_scale=True)

    def cost(R_, T_, s_):
        return ((_transform(X, R_, T_, s_) - Y) ** 2).sum((1, 2))

    best = cost(R, T, s)
    for _ in range(10):
        w = 1e-3 * torch.randn(2, 3, dtype=torch.float64)
        K = torch.zeros(2, 3, 3, dtype=torch.float64)
        K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = w[:, 0], w[:, 1], w[:, 2]
        dR = torch.linalg.matrix_exp(K - K.transpose(1, 2))
        assert (cost(R @ dR, T + 1e-3 * torch.randn(2, 3, dtype=torch.float64), s * (1 + 1e-3)) >= best).all()


def test_alignment_variable_lengths_match_per_cloud_solves():
    lengths = [7, 20, 13]
    xs = [torch.randn(n, 3, dtype=torch.float64) for n in lengths]
    ys = [x @ _random_rotation(1)[0] + torch.randn(3, dtype=torch.float64) + 0.01 * torch.randn_like(x) for x in xs]
    out = corresponding_points_alignment(Pointclouds(xs), Pointclouds(ys), estimate_scale=True)
    for i, (x, y) in enumerate(zip(xs, ys)):
        one = corresponding_points_alignment(x[None], y[None], estimate_scale=True)
        torch.testing.assert_close(out.R[i], one.R[0])
        torch.testing.assert_close(out.T[i], one.T[0])
        torch.testing.assert_close(out.s[i], one.s[0])


def test_alignment_weights_list_equals_padded_and_zero_weight_ignores_points():
    X = torch.randn(2, 12, 3, dtype=torch.float64)
    Y = X @ _random_rotation(2) + 0.3
    Y[:, -3:] += 5.0  # outliers
    w = torch.ones(2, 12, dtype=torch.float64)
    w[:, -3:] = 0
    padded = corresponding_points_alignment(X, Y, weights=w)
    listed = corresponding_points_alignment(X, Y, weights=list(w))
    clean = corresponding_points_alignment(X[:, :-3], Y[:, :-3])
    for a, b in zip(padded, listed):
        torch.testing.assert_close(a, b)
    for a, b in zip(padded, clean):
        torch.testing.assert_close(a, b)


def test_alignment_half_types_solved_in_float32():
    X = torch.randn(2, 30, 3)
    R = _random_rotation(2, torch.float32)
    for dt in (torch.float16, torch.bfloat16):
        out = corresponding_points_alignment(X.to(dt), (X @ R).to(dt))
        assert out.R.dtype == dt
        torch.testing.assert_close(out.R.float(), R, atol=3e-2, rtol=0)


def test_alignment_gradient_flows():
    X = torch.randn(1, 10, 3, dtype=torch.float64, requires_grad=True)
    Y = (X.detach() @ _random_rotation(1) + 0.1 * torch.randn(1, 10, 3, dtype=torch.float64)).requires_grad_()
    R, T, s = corresponding_points_alignment(X, Y, estimate_scale=True)
    (R.sum() + T.sum() + s.sum()).backward()
    assert torch.isfinite(X.grad).all() and X.grad.abs().sum() > 0 and torch.isfinite(Y.grad).all()


def test_alignment_warns_on_too_few_points():
    X = torch.randn(1, 3, 3)
    with pytest.warns(UserWarning, match="unique rotation"):
        corresponding_points_alignment(X, X)


def test_alignment_bad_input():
    X = torch.randn(2, 10, 3)
    with pytest.raises(ValueError, match="same number of batches"):
        corresponding_points_alignment(X, torch.randn(2, 9, 3))
    with pytest.raises(ValueError, match="weights"):
        corresponding_points_alignment(X, X, weights=torch.ones(2, 9))
    with pytest.raises(ValueError, match="number of weights"):
        corresponding_points_alignment(X, X, weights=[torch.ones(10), torch.ones(8)])
    with pytest.raises(ValueError, match="Pointclouds objects or tensors"):
        corresponding_points_alignment([1, 2], X)
    with pytest.raises(ValueError, match="X must be"):
        corresponding_points_alignment(torch.randn(10, 3), torch.randn(10, 3))
    with pytest.raises(TypeError, match="floating"):
        corresponding_points_alignment(X.long(), X.long())


@pytest.mark.parametrize("estimate_scale", [False, True])
def test_icp_converges_from_a_small_perturbation(estimate_scale):
    N, P = 3, 200
    Y = torch.randn(N, P, 3, dtype=torch.float64)
    # X is Y moved by a small known transform; ICP recovers its inverse
    K = 0.05 * torch.randn(N, 3, 3, dtype=torch.float64)
    R = torch.linalg.matrix_exp(K - K.transpose(1, 2))
    s = torch.full((N,), 1.05 if estimate_scale else 1.0, dtype=torch.float64)
    T = 0.02 * torch.randn(N, 3, dtype=torch.float64)
    X = _transform(Y, R, T, s)
    sol = iterative_closest_point(X, Y, estimate_scale=estimate_scale, max_iterations=50)
    assert sol.converged
    torch.testing.assert_close(sol.Xt, Y, atol=1e-6, rtol=0)
    assert (sol.rmse < 1e-6).all()
    assert len(sol.t_history) >= 1 and isinstance(sol.t_history[-1], SimilarityTransform)
    torch.testing.assert_close(sol.RTs.R, sol.t_history[-1].R)


def test_icp_pointclouds_variable_lengths_and_init_transform():
    lengths = [30, 55]
    ys = [torch.randn(n, 3, dtype=torch.float64) for n in lengths]
    xs = [y[: n - 5] + 0.01 for y, n in zip(ys, lengths)]  # X a shifted subset of Y
    sol = iterative_closest_point(Pointclouds(xs), Pointclouds(ys), max_iterations=30)
    assert isinstance(sol.Xt, Pointclouds)
    for i, (x, y) in enumerate(zip(xs, ys)):
        one = iterative_closest_point(x[None], y[None], max_iterations=30)
        torch.testing.assert_close(sol.Xt.points_list()[i], one.Xt[0], atol=1e-6, rtol=0)
    # starting from the solution: one iteration, unchanged
    init = sol.RTs
    again = iterative_closest_point(Pointclouds(xs), Pointclouds(ys), init_transform=init, max_iterations=3)
    torch.testing.assert_close(again.RTs.T, init.T, atol=1e-8, rtol=0)


def test_icp_bad_input_and_verbose(capsys):
    X = torch.randn(2, 10, 3)
    with pytest.raises(ValueError, match="same number of batches"):
        iterative_closest_point(X, torch.randn(3, 10, 3))
    with pytest.raises(ValueError, match="init_transform"):
        iterative_closest_point(X, X, init_transform=SimilarityTransform(torch.eye(3), torch.zeros(3), torch.ones(1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sol = iterative_closest_point(X, X, max_iterations=2, verbose=True)
    assert "ICP iteration 0" in capsys.readouterr().out
    assert sol.converged is True or sol.converged is False
