"""spline_basis / spline_basis_backward: kernels vs the reference and vs torch_spline_conv's loops (transcribed in
_spline_oracle.py), degrees 1-3, D = 1..3, open and closed splines, E = 0, pseudo on the knots and outside [0, 1],
all four dtypes, partition of unity, gradcheck, opcheck, compile, bad input (wrapper and raw op)."""

import pytest
import torch

from meshgraph.ops import reference as ref
from meshgraph.ops import spline_basis

from _spline_oracle import spline_basis as oracle_basis

ops = torch.ops.meshgraph
SPLINES = [  # (kernel_size, is_open_spline) for D = 1, 2, 3
    ([5], [1]), ([4], [0]), ([5, 3], [1, 0]), ([3, 4], [0, 0]), ([5, 5, 5], [1, 1, 1]), ([3, 4, 5], [1, 0, 1]),
]


def make(E, ks, op, dtype=torch.float64, device="cpu", seed=0, lo=0.0, hi=1.0):
    g = torch.Generator().manual_seed(seed)
    p = lo + (hi - lo) * torch.rand(E, len(ks), generator=g, dtype=torch.float64)
    if E >= 4:  # the ends of the interval and a knot
        p[0], p[1] = 0.0, 1.0
        p[2] = 1.0 / ks[0] if op[0] == 0 else 1.0 / max(ks[0] - 1, 1)
    return (p.to(dtype).to(device), torch.tensor(ks, device=device),
            torch.tensor(op, dtype=torch.uint8, device=device))


def tol(dtype):
    return {torch.float16: dict(atol=4e-3, rtol=4e-3), torch.bfloat16: dict(atol=3e-2, rtol=3e-2),
            torch.float32: dict(atol=1e-6, rtol=1e-6), torch.float64: dict(atol=1e-13, rtol=1e-13)}[dtype]


@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("ks,op", SPLINES)
@pytest.mark.parametrize("E", [0, 1, 37])
def test_kernels_match_reference_and_torch_spline_conv(device, degree, ks, op, E):
    if any(o and k < degree for k, o in zip(ks, op)):
        pytest.skip("open spline with fewer weights than its degree")
    p, kst, opt = make(E, ks, op, device=device, seed=E + degree)
    basis, index = ops.spline_basis(p, kst, opt, degree)
    S = (degree + 1) ** len(ks)
    assert basis.shape == (E, S) and index.shape == (E, S) and index.dtype == torch.int64
    rb, ri = ref.spline_basis(p, kst, opt, degree)
    torch.testing.assert_close(basis, rb, **tol(torch.float64))
    assert torch.equal(index, ri)
    ob, oi = oracle_basis(p.cpu(), ks, op, degree)
    torch.testing.assert_close(basis, ob.to(basis.device), **tol(torch.float64))
    assert torch.equal(index, oi.to(index.device))
    g = torch.randn(E, S, dtype=torch.float64, device=device)
    torch.testing.assert_close(ops.spline_basis_backward(g, p, kst, opt, degree),
                               ref.spline_basis_backward(g, p, kst, opt, degree), **tol(torch.float64))


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_basis_is_a_partition_of_unity_with_indices_in_range(device, degree):
    p, kst, opt = make(200, [5, 4, 6], [1, 0, 1], device=device, seed=3)
    basis, index = spline_basis(p, kst, opt, degree)
    torch.testing.assert_close(basis.sum(1), torch.ones(200, dtype=torch.float64, device=device))
    assert (basis >= -1e-15).all()
    assert int(index.min()) >= 0 and int(index.max()) < 5 * 4 * 6


def test_pseudo_outside_the_unit_interval_wraps_around(device):
    """PyG accepts any pseudo (its docs ask for [0, 1]). Beyond 1 the result is torch_spline_conv's (indices wrap
    modulo kernel_size); below 0 floor keeps it periodic (torch_spline_conv truncates and indexes out of bounds)."""
    p, kst, opt = make(50, [5, 4], [1, 0], device=device, seed=4, lo=0.0, hi=3.0)
    basis, index = spline_basis(p, kst, opt, 2)
    ob, oi = oracle_basis(p.cpu(), [5, 4], [1, 0], 2)
    torch.testing.assert_close(basis, ob.to(device), **tol(torch.float64))
    assert torch.equal(index, oi.to(device))
    closed = torch.tensor([0, 0], dtype=torch.uint8, device=device)
    q = torch.rand(50, 2, dtype=torch.float64, device=device)
    b0, i0 = spline_basis(q, kst, closed, 1)
    for shift in (-2.0, -1.0, 1.0):  # a closed spline has period 1 in pseudo
        b1, i1 = spline_basis(q + shift, kst, closed, 1)
        torch.testing.assert_close(b1, b0, atol=1e-12, rtol=0)
        assert torch.equal(i1, i0)
    b, i = spline_basis(torch.full((3, 2), -0.3, dtype=torch.float64, device=device), kst, opt, 3)
    rb, ri = ref.spline_basis(torch.full((3, 2), -0.3, dtype=torch.float64, device=device), kst, opt, 3)
    torch.testing.assert_close(b, rb)
    assert torch.equal(i, ri) and int(i.min()) >= 0


def test_non_finite_pseudo_keeps_indices_valid(device):
    p = torch.tensor([[float("nan"), 0.5], [float("inf"), 0.2], [1e30, -1e30]], dtype=torch.float64, device=device)
    _, index = spline_basis(p, [5, 5], True, 1)
    assert int(index.min()) >= 0 and int(index.max()) < 25


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_dtypes_accumulate_in_float32_or_wider(device, dtype):
    p, kst, opt = make(64, [5, 3, 4], [1, 0, 1], device=device, seed=5)
    p = p.to(dtype)
    pr = p.detach().double().clone().requires_grad_(True)
    pl = p.detach().clone().requires_grad_(True)
    basis, index = spline_basis(pl, kst, opt, 2)
    assert basis.dtype == dtype
    rb, ri = ref.spline_basis(pr, kst, opt, 2)
    torch.testing.assert_close(basis.double(), rb, **tol(dtype))
    assert torch.equal(index, ri)
    g = torch.randn(64, 27, dtype=torch.float64, device=device)
    basis.backward(g.to(dtype))
    rb.backward(g.to(dtype).double())
    scale = pr.grad.abs().max().item() + 1
    torch.testing.assert_close(pl.grad.double() / scale, pr.grad / scale, **tol(dtype))


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_gradcheck(device, degree):
    p, kst, opt = make(12, [4, 5], [0, 1], device=device, seed=6)
    p = (p * 0.98 + 0.01).requires_grad_(True)  # away from the ends (degree 1 has kinks on the knots)
    assert torch.autograd.gradcheck(lambda q: spline_basis(q, kst, opt, degree)[0], (p,))


def test_opcheck(device):
    p, kst, opt = make(10, [5, 3], [1, 0], device=device, seed=7)
    p.requires_grad_(True)
    torch.library.opcheck(ops.spline_basis, (p, kst, opt, 1))
    g = torch.randn(10, 16, dtype=torch.float64, device=device)
    torch.library.opcheck(ops.spline_basis_backward, (g, p.detach(), kst, opt.bool(), 3))
    torch.library.opcheck(ops.spline_basis, (p[:0], kst, opt, 2))


def test_compile_fullgraph(device):
    p, kst, opt = make(20, [5, 5], [1, 1], dtype=torch.float32, device=device, seed=8)
    f = lambda q: ops.spline_basis(q, kst, opt, 2)[0] * 2  # noqa: E731
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(p), ref.spline_basis(p, kst, opt, 2)[0] * 2)
    torch._dynamo.reset()


def test_per_dimension_arguments_repeat_scalars():
    p = torch.rand(9, 3, dtype=torch.float64)
    a = spline_basis(p, 4, False, 2)
    b = spline_basis(p, [4, 4, 4], [False] * 3, 2)
    c = spline_basis(p, torch.tensor([4, 4, 4]), torch.zeros(3, dtype=torch.bool), 2)
    for x, y in ((a, b), (a, c)):
        assert torch.equal(x[0], y[0]) and torch.equal(x[1], y[1])
    one = spline_basis(p[:, 0], 5, True, 1)  # (E,) pseudo: one dimension
    assert one[0].shape == (9, 2)


def test_wrapper_rejects_bad_input():
    p = torch.rand(6, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="degree must be 1, 2 or 3"):
        spline_basis(p, 5, True, 4)
    with pytest.raises(ValueError, match="degree must be 1, 2 or 3"):
        spline_basis(p, 5, True, 0)
    with pytest.raises(TypeError, match="degree must be an int"):
        spline_basis(p, 5, True, 1.0)
    with pytest.raises(ValueError, match="kernel_size must have 2 entries"):
        spline_basis(p, [5, 5, 5], True, 1)
    with pytest.raises(ValueError, match="kernel_size must have 2 entries"):
        spline_basis(p, torch.tensor([5]), True, 1)
    with pytest.raises(TypeError, match="kernel_size must hold integers"):
        spline_basis(p, torch.tensor([5.0, 5.0]), True, 1)
    with pytest.raises(ValueError, match=r"kernel_size\[1\] must be >= 1"):
        spline_basis(p, [5, 0], False, 1)
    with pytest.raises(ValueError, match=r"kernel_size\[0\] must be >= 3 for an open spline of degree 3"):
        spline_basis(p, [2, 5], True, 3)
    with pytest.raises(ValueError, match="is_open_spline must have 2 entries"):
        spline_basis(p, 5, [True], 1)
    with pytest.raises(ValueError, match="pseudo must be 1 or 2-D"):
        spline_basis(p[None], 5, True, 1)
    with pytest.raises(TypeError, match="pseudo must have dtype"):
        spline_basis(p.long(), 5, True, 1)


def test_raw_op_rejects_bad_input():
    p = torch.rand(6, 2, dtype=torch.float64)
    ks, op = torch.tensor([5, 5]), torch.ones(2, dtype=torch.uint8)

    def raises(match, *args, fn=ops.spline_basis):
        with pytest.raises(RuntimeError, match=match):
            fn(*args)

    raises("degree must be 1, 2 or 3", p, ks, op, 4)
    raises("kernel_size must have shape", p, ks[:1], op, 1)
    raises("kernel_size must be Long", p, ks.int(), op, 1)
    raises("is_open_spline must be uint8 or bool", p, ks, op.long(), 1)
    raises("is_open_spline must have shape", p, ks, op[:1], 1)
    raises("pseudo must be 2-D", p[0], ks[:1], op[:1], 1)
    raises("pseudo must be float16", p.long(), ks, op, 1)
    raises("grad_basis must have shape", torch.rand(6, 3, dtype=torch.float64), p, ks, op, 1,
           fn=ops.spline_basis_backward)
    raises("same dtype", torch.rand(6, 4), p, ks, op, 1, fn=ops.spline_basis_backward)
    # Kernel sizes below 1 are not read on the host by the raw op: treated as 1, indices stay in range.
    _, index = ops.spline_basis(p, torch.tensor([0, -3]), op, 1)
    assert int(index.max()) == 0 and int(index.min()) == 0
