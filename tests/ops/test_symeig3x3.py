"""symeig3x3 / symeig3x3_backward: kernels vs the torch.linalg.eigh reference (accuracy in float32 and float64),
exactly and nearly repeated eigenvalues, the zero matrix, the sign rule, every float dtype, gradients (gradcheck,
gradgradcheck, eigh's autograd, the gap-safe degenerate case), opcheck, compile, bad input."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from meshgraph.ops import reference as ref
from meshgraph.ops.symeig3x3 import symeig3x3

ops = torch.ops.meshgraph


def _sym(n, dtype=torch.float64, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, 3, 3, generator=g, dtype=torch.float64)
    return (a + a.transpose(1, 2)).to(dtype).to(device)


def _rotations(n, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    q[torch.linalg.det(q) < 0, :, 0] *= -1
    return q.to(dtype)


def _from_spectrum(values, seed=0):
    R = _rotations(values.shape[0], seed, values.dtype)
    return R @ torch.diag_embed(values) @ R.transpose(1, 2)


def _align(v, like):
    """v's columns signed to agree with like's (eigenvectors are defined up to sign)."""
    s = torch.sign((v * like).sum(-2, keepdim=True))
    return v * torch.where(s == 0, 1.0, s)


def _check_decomposition(a, w, v, tol):
    eye = torch.eye(3, dtype=a.dtype, device=a.device)
    scale = a.flatten(-2).abs().amax(-1).clamp_min(1e-30)[..., None, None]
    assert ((v @ torch.diag_embed(w) @ v.transpose(-1, -2) - a).abs() / scale).max() <= tol
    assert (v.transpose(-1, -2) @ v - eye).abs().max() <= tol
    assert (w[..., 1:] >= w[..., :-1]).all()


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_matches_float64_eigh_to_a_few_eps(device, dtype, tol):
    """Eigenvalues within tol * max|A| of float64 eigh; on well-separated spectra the eigenvectors too."""
    a = _sym(20000, dtype, device=device)
    w, v = symeig3x3(a)
    assert w.dtype == v.dtype == dtype and w.shape == (20000, 3) and v.shape == (20000, 3, 3)
    we, ve = ref.symeig3x3(a.double())
    scale = a.double().flatten(1).abs().amax(1, keepdim=True)
    assert ((w.double() - we).abs() / scale).max() <= tol
    gap = (we[:, 1:] - we[:, :-1]).amin(1) / scale[:, 0]
    sep = gap > 0.05
    assert sep.sum() > 10000
    err = (_align(v.double(), ve) - ve).abs()[sep].max()
    assert err <= 20 * tol, err
    _check_decomposition(a.double(), w.double(), v.double(), 4 * tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_the_reference_including_signs(device, dtype):
    a = _sym(500, dtype, seed=3, device=device)
    w, v = symeig3x3(a)
    we, ve = ref.symeig3x3(a)
    torch.testing.assert_close(w, we, rtol=0, atol=(1e-5 if dtype == torch.float32 else 1e-12) * a.abs().max().item())
    sep = ((we[:, 1:] - we[:, :-1]).amin(1) > 0.05 * a.flatten(1).abs().amax(1))
    # the sign rule is the reference's: no alignment needed
    torch.testing.assert_close(v[sep], ve[sep], rtol=0, atol=1e-4 if dtype == torch.float32 else 1e-11)


def test_sign_rule_columns_0_1_largest_component_positive_and_a_rotation(device):
    _, v = symeig3x3(_sym(2000, device=device, seed=5))
    for j in range(2):
        c = v[..., :, j]
        assert (c.gather(-1, c.abs().argmax(-1, keepdim=True)) > 0).all()
    torch.testing.assert_close(torch.linalg.det(v), torch.ones(2000, dtype=v.dtype, device=device))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("pattern", ["zero_first", "double_low", "double_high", "triple", "near_double", "near_triple"])
def test_repeated_and_near_repeated_eigenvalues(device, dtype, pattern):
    """An orthonormal basis of each repeated eigenspace, eigenvalues exact to a few eps (PyTorch3D's test allows
    1e-3 here; the Jacobi sweeps need no tolerance for multiplicity)."""
    g = torch.Generator().manual_seed(11)
    L = torch.randn(1000, 3, generator=g, dtype=torch.float64)
    if pattern == "zero_first":
        L[:, 0] = 0
    elif pattern == "double_low":
        L[:, 1] = L[:, 0]
    elif pattern == "double_high":
        L[:, 2] = L[:, 1]
    elif pattern == "triple":
        L[:, 1] = L[:, 2] = L[:, 0]
    elif pattern == "near_double":
        L[:, 1] = L[:, 0] * (1 + 1e-9)
    else:
        L[:, 1:] = L[:, :1] * (1 + 1e-7 * torch.rand(1000, 2, generator=g, dtype=torch.float64))
    a = _from_spectrum(L).to(dtype).to(device)
    w, v = symeig3x3(a)
    eps = torch.finfo(dtype).eps
    scale = L.abs().amax(1, keepdim=True).to(device)
    assert ((w.double() - L.sort(1).values.to(device)).abs() / scale).max() <= 40 * eps
    _check_decomposition(a.double(), w.double(), v.double(), 40 * eps)
    assert torch.isfinite(w).all() and torch.isfinite(v).all()


def test_zero_identity_diagonal_and_near_diagonal(device):
    w, v = symeig3x3(torch.zeros(4, 3, 3, device=device))
    assert torch.equal(w, torch.zeros(4, 3, device=device))
    assert torch.equal(v, torch.eye(3, device=device).expand(4, 3, 3))
    w, v = symeig3x3(2.5 * torch.eye(3, dtype=torch.float64, device=device))
    assert torch.equal(w, torch.full((3,), 2.5, dtype=torch.float64, device=device))
    assert torch.equal(v, torch.eye(3, dtype=torch.float64, device=device))
    d = torch.tensor([[3.0, -1.0, 2.0]], device=device).diag_embed()
    w, v = symeig3x3(d)
    assert torch.equal(w, torch.tensor([[-1.0, 2.0, 3.0]], device=device))
    assert torch.equal(v.abs(), torch.tensor([[[0.0, 0, 1], [1, 0, 0], [0, 1, 0]]], device=device))
    # almost diagonal (PyTorch3D's degenerate-input case): noise 1e-4
    g = torch.Generator().manual_seed(2)
    near = torch.randn(512, 3, generator=g).diag_embed() + 1e-4 * _sym(512, torch.float32, seed=4)
    near = near.to(device)
    w, v = symeig3x3(near)
    _check_decomposition(near.double(), w.double(), v.double(), 2e-6)


def test_scale_invariance_tiny_and_huge_matrices(device):
    a = _sym(200, seed=8, device=device)
    w, v = symeig3x3(a)
    for s in (1e-150, 1e-30, 1e30, 1e150):
        ws, vs = symeig3x3(a * s)
        torch.testing.assert_close(ws / s, w, rtol=1e-13, atol=1e-13 * w.abs().max().item())
        torch.testing.assert_close(vs, v, rtol=0, atol=1e-12)


def test_reads_the_symmetric_part(device):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(100, 3, 3, generator=g, dtype=torch.float64).to(device)
    w, v = symeig3x3(a)
    ws, vs = symeig3x3(0.5 * (a + a.transpose(1, 2)))
    assert torch.equal(w, ws) and torch.equal(v, vs)


def test_batch_shapes_empty_expanded_and_non_contiguous(device):
    a = _sym(16, device=device)
    w, v = symeig3x3(a)
    w4, v4 = symeig3x3(a[None].expand(4, 16, 3, 3))
    assert torch.equal(w4, w.expand(4, 16, 3)) and torch.equal(v4, v.expand(4, 16, 3, 3))
    wt, vt = symeig3x3(a.transpose(1, 2).contiguous().transpose(1, 2))
    assert torch.equal(wt, w) and torch.equal(vt, v)
    w1, v1 = symeig3x3(a[3])
    assert w1.shape == (3,) and torch.equal(w1, w[3]) and torch.equal(v1, v[3])
    we, ve = symeig3x3(torch.zeros(2, 0, 3, 3, device=device))
    assert we.shape == (2, 0, 3) and ve.shape == (2, 0, 3, 3)
    values, none = symeig3x3(a, eigenvectors=False)
    assert none is None and torch.equal(values, w)


def test_nan_gives_nan(device):
    a = _sym(3, device=device)
    a[1, 0, 2] = float("nan")
    w, v = symeig3x3(a)
    assert w[1].isnan().all() and v[1].isnan().all()
    assert torch.isfinite(w[0]).all() and torch.isfinite(v[2]).all()


TOL = {torch.float16: 4e-3, torch.bfloat16: 3e-2, torch.float32: 2e-6, torch.float64: 1e-12}


@pytest.mark.parametrize("dtype", list(TOL))
def test_every_float_dtype_against_the_float64_reference(device, dtype):
    """Half types are solved in float32 and rounded once: eigenvalues and (separated) eigenvectors within one
    rounding of the output of the float64 definition on the same rounded input; the backward likewise."""
    a = _sym(400, dtype, seed=6, device=device)
    w, v = symeig3x3(a)
    assert w.dtype == v.dtype == dtype
    we, ve = ref.symeig3x3(a.double())
    s = a.double().abs().max()
    torch.testing.assert_close(w.double(), we, rtol=0, atol=TOL[dtype] * s)
    sep = ((we[:, 1:] - we[:, :-1]).amin(1) > 0.1 * a.double().flatten(1).abs().amax(1))
    torch.testing.assert_close(_align(v.double(), ve)[sep], ve[sep], rtol=0, atol=10 * TOL[dtype])
    g = torch.Generator().manual_seed(7)
    gw = torch.randn(400, 3, generator=g).to(dtype).to(device)
    gv = torch.randn(400, 3, 3, generator=g).to(dtype).to(device)
    got = ops.symeig3x3_backward(gw[sep], gv[sep], w[sep], v[sep])
    assert got.dtype == dtype
    # the reference on the same inputs (its gap threshold is the dtype's, its sums in float32 / float64)
    exp = ref.symeig3x3_backward(gw[sep], gv[sep], w[sep], v[sep]).double()
    torch.testing.assert_close(got.double(), exp, rtol=0, atol=4 * TOL[dtype] * exp.abs().max())


def test_backward_kernel_matches_the_reference(device):
    a = _sym(300, seed=9, device=device)
    w, v = symeig3x3(a)
    g = torch.Generator().manual_seed(3)
    gw = torch.randn(300, 3, generator=g, dtype=torch.float64).to(device)
    gv = torch.randn(300, 3, 3, generator=g, dtype=torch.float64).to(device)
    for args in ((gw, gv), (gw, None), (None, gv), (None, None)):
        got = ops.symeig3x3_backward(*args, w, v)
        torch.testing.assert_close(got, ref.symeig3x3_backward(*args, w, v), rtol=1e-12, atol=1e-12)
        assert torch.equal(got, got.transpose(1, 2))


def test_gradcheck_and_gradgradcheck_on_well_separated_spectra(device):
    L = torch.tensor([[-1.0, 0.5, 2.0], [0.1, 1.0, 3.5], [-3.0, -2.0, 1.5]], dtype=torch.float64)
    a = _from_spectrum(L, seed=4).to(device).requires_grad_(True)

    def both(x):
        w, v = symeig3x3(x)
        return w, v

    assert torch.autograd.gradcheck(both, (a,))
    assert torch.autograd.gradgradcheck(both, (a,))
    # a non-symmetric input: the decomposition of its symmetric part, differentiated exactly
    b = (a.detach() + 0.3 * torch.randn(3, 3, 3, dtype=torch.float64, device=device)).requires_grad_(True)
    assert torch.autograd.gradcheck(both, (b,))


def test_gradients_equal_eigh_autograd_for_sign_invariant_losses(device):
    a = _sym(64, seed=12, device=device).requires_grad_(True)
    c = torch.randn(64, 3, dtype=torch.float64, device=device)
    W = torch.randn(64, 3, 3, dtype=torch.float64, device=device)

    def loss(w, v):
        return (w * c).sum() + (v.square() * W).sum()

    loss(*symeig3x3(a)).backward()
    ours = a.grad.clone()
    a.grad = None
    loss(*torch.linalg.eigh(a)).backward()
    torch.testing.assert_close(ours, a.grad, rtol=1e-9, atol=1e-9)


def test_degenerate_gradients_are_finite_and_exact_for_basis_invariant_losses(device):
    """Repeated eigenvalues (and the zero matrix): eigh gives nan there; the gap-safe backward gives the exact
    gradient of losses that do not depend on the basis of a repeated eigenspace."""
    L = torch.tensor([[1.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    a = _from_spectrum(L, seed=2).to(device).requires_grad_(True)
    w, v = symeig3x3(a)
    # sum of eigenvalues = trace; the top eigenvector's projector v2 v2^T is basis-independent for the first matrix
    P = v[0, :, 2:] @ v[0, :, 2:].T
    (w.sum() + (P * torch.arange(9.0, dtype=P.dtype, device=device).reshape(3, 3)).sum()).backward()
    grad = a.grad
    assert torch.isfinite(grad).all()
    eye = torch.eye(3, dtype=torch.float64, device=device)
    torch.testing.assert_close(grad[1:], eye.expand(2, 3, 3))
    # the projector's gradient through eigh on the (non-degenerate for that projector) first matrix
    a2 = a.detach()[0].clone().requires_grad_(True)
    we, ve = torch.linalg.eigh(a2)
    Pe = ve[:, 2:] @ ve[:, 2:].T
    (we.sum() + (Pe * torch.arange(9.0, dtype=Pe.dtype, device=device).reshape(3, 3)).sum()).backward()
    torch.testing.assert_close(grad[0], a2.grad, rtol=1e-8, atol=1e-8)
    # any loss on the zero matrix's vectors stays finite
    z = torch.zeros(2, 3, 3, dtype=torch.float64, device=device, requires_grad=True)
    w, v = symeig3x3(z)
    (w.sum() + v.sum()).backward()
    assert torch.isfinite(z.grad).all()


def test_opcheck_and_compile(device):
    a = _sym(5, seed=1, device=device)
    torch.library.opcheck(ops.symeig3x3, (a,))
    torch.library.opcheck(ops.symeig3x3, (a.float(),))
    w, v = ops.symeig3x3(a)
    gw, gv = torch.randn_like(w), torch.randn_like(v)
    torch.library.opcheck(ops.symeig3x3_backward, (gw, gv, w, v))
    torch.library.opcheck(ops.symeig3x3_backward, (None, gv, w, v))
    fn = lambda x: symeig3x3(x)[1].square().sum() + symeig3x3(x)[0].sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(a), fn(a))
    torch._dynamo.reset()


def test_cpu_and_device_results_are_bit_identical(device):
    a = _sym(1000, seed=13)
    w, v = symeig3x3(a.to(device))
    we, ve = symeig3x3(a)
    assert torch.equal(w, we.to(device)) and torch.equal(v, ve.to(device))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=3), st.integers(0, 2**31 - 1),
       st.sampled_from(["random", "low_rank", "repeated", "diagonal"]))
def test_random_batch_shapes_and_spectra_against_the_reference(batch, seed, kind):
    """Any batch shape (empty included) and spectrum kind: the reference's eigenvalues, and a decomposition."""
    g = torch.Generator().manual_seed(seed)
    n = 1
    for b in batch:
        n *= b
    if kind == "random":
        a = _sym(n, seed=seed % 1000)
    else:
        L = torch.randn(n, 3, generator=g, dtype=torch.float64)
        if kind == "low_rank":
            L[:, :2] = 0
        elif kind == "repeated":
            L[:, 2] = L[:, 1]
        a = torch.diag_embed(L) if kind == "diagonal" else _from_spectrum(L, seed=seed % 1000)
    a = a.reshape(*batch, 3, 3)
    w, v = symeig3x3(a)
    we, _ = ref.symeig3x3(a)
    assert w.shape == (*batch, 3) and v.shape == (*batch, 3, 3)
    scale = a.flatten(-2).abs().amax(-1, keepdim=True).clamp_min(1e-300)
    assert ((w - we).abs() / scale).max() <= 1e-13 if n else w.numel() == 0
    if n:
        _check_decomposition(a, w, v, 1e-13)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 3\)"):
        symeig3x3(torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 3\)"):
        symeig3x3(torch.zeros(4, 3, 4))
    with pytest.raises(ValueError, match="inputs"):
        symeig3x3(torch.zeros(3))
    with pytest.raises(TypeError, match="inputs"):
        symeig3x3(torch.zeros(2, 3, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="inputs"):
        symeig3x3([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]])
    # the raw ops check in C++
    with pytest.raises(RuntimeError, match="input must have shape"):
        ops.symeig3x3(torch.zeros(2, 3, 2))
    with pytest.raises(RuntimeError, match="input must be float16"):
        ops.symeig3x3(torch.zeros(2, 3, 3, dtype=torch.int32))
    w, v = ops.symeig3x3(torch.eye(3).expand(2, 3, 3))
    with pytest.raises(RuntimeError, match="grad_eigenvectors must have the shape"):
        ops.symeig3x3_backward(None, v[:1], w, v)
    with pytest.raises(RuntimeError, match="grad_eigenvalues must have the shape"):
        ops.symeig3x3_backward(w[:, :2], None, w, v)
    with pytest.raises(RuntimeError, match="eigenvalues must have shape"):
        ops.symeig3x3_backward(None, None, w[:1], v)
    with pytest.raises(RuntimeError, match="same dtype"):
        ops.symeig3x3_backward(None, None, w.double(), v)
