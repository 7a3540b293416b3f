"""emission_absorption / emission_absorption_backward: kernels vs the reference and vs PyTorch3D's expression
(written out from its EmissionAbsorptionRaymarcher), every float dtype, empty and degenerate rays (P = 0, C = 0,
opaque samples, shifts past the ray's end), gradients (reference autograd, gradcheck, gradgradcheck), opcheck,
compile, and bad input in the wrapper and the raw ops."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from meshgraph.ops import reference as ref
from meshgraph.ops.emission_absorption import emission_absorption

ops = torch.ops.meshgraph
TOL = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float32: 1e-5, torch.float64: 1e-12}


def _rays(R, P, C, dtype=torch.float64, seed=0, device="cpu", binary=False):
    g = torch.Generator().manual_seed(seed)
    d = torch.rand(R, P, generator=g, dtype=torch.float64)
    if binary:
        d = (d > 0.7).double()
    f = torch.randn(R, P, C, generator=g, dtype=torch.float64)
    return d.to(device=device, dtype=dtype), f.to(device=device, dtype=dtype)


def _pytorch3d(rays_densities, rays_features, eps=1e-10, surface_thickness=1):
    """PyTorch3D's EmissionAbsorptionRaymarcher.forward body (v0.7.9), inputs (..., P, 1) and (..., P, C)."""
    d = rays_densities[..., 0]
    x = (1.0 + eps) - d
    c = torch.cumprod(x, dim=-1)
    absorption = torch.cat([torch.ones_like(c[..., :surface_thickness]), c[..., :-surface_thickness]], dim=-1)
    weights = d * absorption
    features = (weights[..., None] * rays_features).sum(dim=-2)
    opacities = 1.0 - torch.prod(1.0 - d, dim=-1, keepdim=True)
    return torch.cat((features, opacities), dim=-1)


@pytest.mark.parametrize("shift", [1, 2, 5])
@pytest.mark.parametrize("eps", [1e-10, 1e-3])
def test_matches_pytorch3ds_expression(device, shift, eps):
    d, f = _rays(64, 17, 5, device=device)
    out, opa = emission_absorption(d[..., None], f, eps, shift)
    torch.testing.assert_close(torch.cat([out, opa], -1), _pytorch3d(d[..., None], f, eps, shift), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_every_float_dtype_against_the_float64_reference(device, dtype):
    d, f = _rays(200, 33, 7, dtype=dtype, device=device, seed=1)
    out, opa = ops.emission_absorption(d, f, 1e-10, 1)
    assert out.dtype == opa.dtype == dtype and out.shape == (200, 7) and opa.shape == (200,)
    eo, ea = ref.emission_absorption(d.double(), f.double(), 1e-10, 1)
    tol = TOL[dtype]
    scale = f.double().abs().amax().item()
    torch.testing.assert_close(out.double(), eo, rtol=tol, atol=tol * scale * 4)
    torch.testing.assert_close(opa.double(), ea, rtol=tol, atol=tol)
    # the backward too: float32 accumulation for the half types
    g, go = torch.randn_like(out), torch.randn_like(opa)
    gd, gf = ops.emission_absorption_backward(g, go, d, f, 1e-10, 1)
    ed, ef = ref.emission_absorption_backward(g.double(), go.double(), d.double(), f.double(), 1e-10, 1)
    assert gd.dtype == gf.dtype == dtype
    torch.testing.assert_close(gd.double(), ed, rtol=tol, atol=tol * ed.abs().amax().item() * 4)
    torch.testing.assert_close(gf.double(), ef, rtol=tol, atol=tol * ef.abs().amax().item() * 2)


def test_binary_densities_render_the_first_occupied_sample(device):
    """PyTorch3D's test: densities 0 before a surface and 1 from it on give exactly its features."""
    R, P = 50, 12
    z = torch.arange(P, dtype=torch.float64, device=device).expand(R, P)
    depth = torch.randint(1, P + 2, (R,), device=device).double()
    d = (z >= depth[:, None]).double()
    f = torch.rand(R, P, 3, dtype=torch.float64, device=device)
    out, opa = emission_absorption(d, f)
    expect = (f * ((z - depth[:, None]).abs() <= 1e-4)[..., None]).sum(1)
    torch.testing.assert_close(out, expect)
    torch.testing.assert_close(opa[:, 0], (depth < P).double())


@pytest.mark.parametrize("R,P,C", [(0, 5, 3), (4, 0, 3), (4, 6, 0), (0, 0, 0), (3, 1, 2), (5, 7, 1)])
def test_empty_and_tiny_shapes(device, R, P, C):
    d, f = _rays(R, P, C, device=device, seed=2)
    out, opa = ops.emission_absorption(d, f, 1e-10, 1)
    eo, ea = ref.emission_absorption(d, f, 1e-10, 1)
    assert out.shape == (R, C) and opa.shape == (R,)
    torch.testing.assert_close(out, eo)
    torch.testing.assert_close(opa, ea)
    g, go = torch.randn_like(out), torch.randn_like(opa)
    gd, gf = ops.emission_absorption_backward(g, go, d, f, 1e-10, 1)
    ed, ef = ref.emission_absorption_backward(g, go, d, f, 1e-10, 1)
    assert gd.shape == (R, P) and gf.shape == (R, P, C)
    torch.testing.assert_close(gd, ed)
    torch.testing.assert_close(gf, ef)


@pytest.mark.parametrize("shift", [1, 2, 3, 9, 50, 2**62])
def test_backward_matches_reference_autograd_for_every_shift(device, shift):
    d, f = _rays(40, 9, 4, device=device, seed=3)
    d[0, 3] = 1.0  # an opaque sample: its gradient must not divide by 1 - d
    d[1, :] = 1.0
    g = torch.randn(40, 4, dtype=torch.float64, device=device)
    go = torch.randn(40, dtype=torch.float64, device=device)
    gd, gf = ops.emission_absorption_backward(g, go, d, f, 1e-3, shift)
    ed, ef = ref.emission_absorption_backward(g, go, d, f, 1e-3, shift)
    assert torch.isfinite(gd).all()
    torch.testing.assert_close(gd, ed, rtol=1e-11, atol=1e-11)
    torch.testing.assert_close(gf, ef, rtol=1e-12, atol=1e-12)


def test_gradcheck_and_gradgradcheck(device):
    d, f = _rays(6, 7, 3, device=device, seed=4)
    d = d.clamp(0.05, 0.95).requires_grad_(True)
    f = f.requires_grad_(True)
    for shift in (1, 3):
        fn = lambda a, b: emission_absorption(a, b, 1e-3, shift)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (d, f))
        assert torch.autograd.gradgradcheck(fn, (d, f))
    # absorption only: the opacity's gradient alone
    assert torch.autograd.gradcheck(lambda a: emission_absorption(a[..., None], None)[1], (d,))


def test_only_one_output_used_gets_the_other_gradient_as_zero(device):
    d, f = _rays(8, 5, 2, device=device, seed=5)
    d.requires_grad_(True)
    emission_absorption(d, f)[1].sum().backward()
    expect = torch.autograd.grad(ref.emission_absorption(d, f, 1e-10, 1)[1].sum(), d)[0]
    torch.testing.assert_close(d.grad, expect)


def test_batch_shapes_non_contiguous_and_mixed_dtype_inputs(device):
    d, f = _rays(24, 6, 4, device=device, seed=6)
    out, opa = emission_absorption(d.reshape(2, 3, 4, 6, 1), f.reshape(2, 3, 4, 6, 4))
    eo, ea = ref.emission_absorption(d, f, 1e-10, 1)
    torch.testing.assert_close(out, eo.reshape(2, 3, 4, 4))
    torch.testing.assert_close(opa, ea.reshape(2, 3, 4, 1))
    ft = f.transpose(0, 1).contiguous().transpose(0, 1)  # non-contiguous
    torch.testing.assert_close(ops.emission_absorption(d, ft, 1e-10, 1)[0], eo)
    out32, _ = emission_absorption(d.float(), f)  # float32 densities, float64 features: promoted
    assert out32.dtype == torch.float64


def test_opcheck_and_compile(device):
    d, f = _rays(5, 6, 3, device=device, seed=7)
    torch.library.opcheck(ops.emission_absorption, (d, f, 1e-10, 2))
    torch.library.opcheck(ops.emission_absorption, (d.float(), f.float(), 1e-3, 1))
    g, go = torch.randn(5, 3, dtype=d.dtype, device=device), torch.randn(5, dtype=d.dtype, device=device)
    torch.library.opcheck(ops.emission_absorption_backward, (g, go, d, f, 1e-10, 1))
    fn = lambda a, b: emission_absorption(a, b)[0].square().sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(d, f), fn(d, f))
    torch._dynamo.reset()


def test_cpu_and_device_results_are_bit_identical(device):
    d, f = _rays(300, 40, 9, dtype=torch.float32, seed=8)
    out, opa = ops.emission_absorption(d.to(device), f.to(device), 1e-10, 1)
    eo, ea = ops.emission_absorption(d, f, 1e-10, 1)
    assert torch.equal(out, eo.to(device)) and torch.equal(opa, ea.to(device))
    g, go = torch.randn_like(eo), torch.randn_like(ea)
    gd, gf = ops.emission_absorption_backward(g.to(device), go.to(device), d.to(device), f.to(device), 1e-10, 1)
    ed, ef = ops.emission_absorption_backward(g, go, d, f, 1e-10, 1)
    assert torch.equal(gd, ed.to(device)) and torch.equal(gf, ef.to(device))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 6), st.integers(0, 12), st.integers(0, 5), st.integers(1, 14), st.integers(0, 2**31 - 1),
       st.booleans())
def test_random_sizes_against_the_reference(R, P, C, shift, seed, binary):
    d, f = _rays(R, P, C, seed=seed, binary=binary)
    out, opa = ops.emission_absorption(d, f, 1e-10, shift)
    eo, ea = ref.emission_absorption(d, f, 1e-10, shift)
    torch.testing.assert_close(out, eo, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(opa, ea, rtol=1e-12, atol=1e-12)
    g, go = torch.randn_like(out), torch.randn_like(opa)
    gd, gf = ops.emission_absorption_backward(g, go, d, f, 1e-10, shift)
    ed, ef = ref.emission_absorption_backward(g, go, d, f, 1e-10, shift)
    torch.testing.assert_close(gd, ed, rtol=1e-11, atol=1e-11)
    torch.testing.assert_close(gf, ef, rtol=1e-12, atol=1e-12)


def test_bad_inputs():
    d, f = _rays(4, 5, 3)
    with pytest.raises(ValueError, match="densities must be"):
        emission_absorption(d[:, :4], f)
    with pytest.raises(TypeError, match="densities"):
        emission_absorption(d.long(), f)
    with pytest.raises(TypeError, match="features"):
        emission_absorption(d, f.int())
    with pytest.raises(ValueError, match="surface_thickness"):
        emission_absorption(d, f, surface_thickness=0)
    with pytest.raises(TypeError, match="surface_thickness"):
        emission_absorption(d, f, surface_thickness=1.5)
    with pytest.raises(TypeError, match="densities"):
        emission_absorption([[0.5]], f)
    with pytest.raises(ValueError, match="without features"):
        emission_absorption(d, None)
    # the raw ops check in C++
    with pytest.raises(RuntimeError, match="densities must be"):
        ops.emission_absorption(d[..., None], f, 1e-10, 1)
    with pytest.raises(RuntimeError, match="features must be"):
        ops.emission_absorption(d, f[:, :4], 1e-10, 1)
    with pytest.raises(RuntimeError, match="dtype of densities"):
        ops.emission_absorption(d, f.float(), 1e-10, 1)
    with pytest.raises(RuntimeError, match="float16, bfloat16"):
        ops.emission_absorption(d.long(), f.long(), 1e-10, 1)
    with pytest.raises(RuntimeError, match="surface_thickness"):
        ops.emission_absorption(d, f, 1e-10, 0)
    g, go = torch.zeros(4, 3, dtype=d.dtype), torch.zeros(4, dtype=d.dtype)
    with pytest.raises(RuntimeError, match="grad_features must have shape"):
        ops.emission_absorption_backward(g[:, :2], go, d, f, 1e-10, 1)
    with pytest.raises(RuntimeError, match="grad_opacities must have shape"):
        ops.emission_absorption_backward(g, go[:3], d, f, 1e-10, 1)
    with pytest.raises(RuntimeError, match="grad_opacities must be float16"):
        ops.emission_absorption_backward(g, go.long(), d, f, 1e-10, 1)
