"""sample_pdf: the kernel vs the reference (random inputs, zero weights, all-zero rows, det=True, n_samples = 1,
single bins), vs PyTorch3D's sample_pdf_python and its own tests' cases, every float dtype, the generator and
uniforms arguments, opcheck, compile, and bad input in the wrapper and the raw op."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from meshgraph.ops import reference as ref
from meshgraph.ops.sample_pdf import sample_pdf
from meshgraph.render.implicit import sample_pdf_python

ops = torch.ops.meshgraph


def _pdf(shape, n_bins, dtype=torch.float32, seed=0, device="cpu", zeros=0.0):
    g = torch.Generator().manual_seed(seed)
    w = torch.rand(*shape, n_bins, generator=g, dtype=torch.float64)
    if zeros:
        w = torch.where(torch.rand(w.shape, generator=g, dtype=torch.float64) < zeros, 0.0, w)
    bins = torch.cumsum(torch.rand(*shape, n_bins + 1, generator=g, dtype=torch.float64), -1)
    return bins.to(device=device, dtype=dtype), w.to(device=device, dtype=dtype)


def _uniforms(B, S, dtype=torch.float32, seed=1, device="cpu"):
    return torch.rand(B, S, generator=torch.Generator().manual_seed(seed), dtype=dtype).to(device)


@pytest.mark.parametrize("zeros", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_matches_the_reference(device, zeros, dtype):
    bins, w = _pdf((300,), 33, dtype, device=device, zeros=zeros)
    u = _uniforms(300, 40, dtype, device=device)
    out = ops.sample_pdf(bins, w, u, 1e-5)
    expect = ref.sample_pdf(bins, w, u, 1e-5)
    # float32: partial sums in a different order (torch.cumsum) may move a quantile across a zero-weight bin
    close = (out - expect).abs() <= (1e-5 if dtype == torch.float32 else 1e-12) * bins.abs().amax()
    assert close.float().mean() >= (0.999 if dtype == torch.float32 else 1.0)
    # every sample lies in [bins_0, bins_n] of its row, and in a bin of positive weight (or its edges)
    assert (out >= bins[:, :1] - 1e-6).all() and (out <= bins[:, -1:] + 1e-6).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_every_float_dtype(device, dtype):
    bins, w = _pdf((64,), 16, dtype, device=device, seed=3)
    out = sample_pdf(bins, w, 24, det=True)
    assert out.dtype == dtype and out.shape == (64, 24)
    expect = ref.sample_pdf(bins, w, torch.linspace(0, 1, 24, device=device, dtype=ref_acc(dtype)).expand(64, 24),
                            1e-5)
    tol = {torch.float16: 2e-2, torch.bfloat16: 1.2e-1}.get(dtype, 1e-5)
    torch.testing.assert_close(out.double(), expect.double(), rtol=tol, atol=tol)


def ref_acc(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def test_det_matches_pytorch3ds_python_version(device):
    """PyTorch3D's test_simple_det: the C++ op and sample_pdf_python agree to 2e-3 for det=True."""
    for n_bins, n_samples, batch in [(7, 2, ()), (20, 33, (1, 4)), (7, 31, (31,)), (20, 32, (33,))]:
        bins, w = _pdf(batch, n_bins, seed=n_bins + n_samples, device=device)
        torch.testing.assert_close(sample_pdf(bins, w, n_samples, det=True), sample_pdf_python(bins, w, n_samples, True),
                                   atol=2e-3, rtol=0)


def test_random_draws_are_pytorch3ds(device):
    """Under one seed the quantiles are PyTorch3D's torch.rand draw (its test_rand_cpu)."""
    bins, w = _pdf((9,), 11, device=device, seed=4)
    torch.manual_seed(1)
    python = sample_pdf_python(bins, w, 17)
    torch.manual_seed(1)
    torch.testing.assert_close(sample_pdf(bins, w, 17), python, atol=2e-3, rtol=0)
    g1, g2 = torch.Generator(device).manual_seed(5), torch.Generator(device).manual_seed(5)
    assert torch.equal(sample_pdf(bins, w, 17, generator=g1), sample_pdf(bins, w, 17, generator=g2))
    u = _uniforms(9, 17, device=device)
    torch.testing.assert_close(sample_pdf(bins, w, 17, uniforms=u), ref.sample_pdf(bins, w, u, 1e-5))


def test_single_bin_no_gap_zero_rows_and_one_sample(device):
    bins = (torch.arange(2.0) + 17).expand(5, 2).to(device)
    out = sample_pdf(bins, torch.ones(5, 1, device=device), 100, det=True)
    torch.testing.assert_close(out, torch.linspace(17, 18, 100, device=device).expand(5, -1), atol=1e-4, rtol=0)
    # PyTorch3D's test_rand_nogap: all the mass in a zero-width bin
    out = sample_pdf(torch.tensor([0.0, 10, 10, 25], device=device), torch.tensor([0.0, 10, 0], device=device), 8)
    torch.testing.assert_close(out, torch.full((8,), 10.0, device=device))
    # an all-zero row: every quantile lands on a bin edge (the kernel's empty-bin rule), finite
    bins, _ = _pdf((4,), 6, device=device)
    out = sample_pdf(bins, torch.zeros(4, 6, device=device), 9)
    assert torch.isfinite(out).all()
    # n_samples = 1 and 0, empty batches
    bins, w = _pdf((7,), 5, device=device)
    assert sample_pdf(bins, w, 1).shape == (7, 1)
    torch.testing.assert_close(sample_pdf(bins, w, 1, det=True), bins[:, :1] + 0 * w[:, :1], atol=1e-6, rtol=0)
    assert sample_pdf(bins, w, 0).shape == (7, 0)
    assert sample_pdf(bins[:0], w[:0], 4).shape == (0, 4)


def test_all_zero_rows_against_the_reference(device):
    bins, _ = _pdf((4,), 6, device=device)
    w = torch.zeros(4, 6, device=device)
    u = _uniforms(4, 9, device=device)
    torch.testing.assert_close(ops.sample_pdf(bins, w, u, 1e-5), ref.sample_pdf(bins, w, u, 1e-5), atol=0, rtol=0)


def test_quantiles_outside_the_unit_interval_stay_in_bounds(device):
    bins, w = _pdf((3,), 4, device=device)
    u = torch.tensor([[-1.0, 2.0, float("nan"), 1e30]] * 3, device=device)
    out = ops.sample_pdf(bins, w, u, 1e-5)
    torch.testing.assert_close(out, ref.sample_pdf(bins, w, u, 1e-5), equal_nan=True)
    assert torch.isfinite(out[:, [0, 1, 3]]).all()
    # past the end: the last edge; below 0: extrapolated inside the first bin's line (no clamping, as PyTorch3D)
    torch.testing.assert_close(out[:, [1, 3]], bins[:, -1:].expand(3, 2))
    assert (out[:, 0] < bins[:, 0]).all()


def test_batch_shapes_and_non_contiguous_inputs(device):
    bins, w = _pdf((2, 3, 4), 8, device=device)
    u = _uniforms(24, 5, device=device).reshape(2, 3, 4, 5)
    out = sample_pdf(bins, w, 5, uniforms=u)
    assert out.shape == (2, 3, 4, 5)
    expect = ref.sample_pdf(bins.reshape(24, 9), w.reshape(24, 8), u.reshape(24, 5), 1e-5).reshape(2, 3, 4, 5)
    torch.testing.assert_close(out, expect)
    wt = w.reshape(24, 8).t().contiguous().t()
    torch.testing.assert_close(ops.sample_pdf(bins.reshape(24, 9), wt, u.reshape(24, 5), 1e-5), expect.reshape(24, 5))


@pytest.mark.parametrize("n_bins", [1, 2, 8, 9, 64, 65, 129, 300])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bin_counts_around_the_search_blocks(device, n_bins, dtype):
    """The CPU kernel counts partial sums in blocks of 8 (a count over up to 16 blocks, a binary search over more):
    bin counts at and around the block sizes, with zero-weight runs, equal the reference (the lower_bound)."""
    bins, w = _pdf((40,), n_bins, dtype, seed=n_bins, device=device, zeros=0.4)
    u = torch.cat([_uniforms(40, 50, dtype, device=device), torch.linspace(0, 1, 14, dtype=dtype, device=device)
                   .expand(40, 14)], 1)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    out = ops.sample_pdf(bins, w, u, 1e-5)
    expect = ref.sample_pdf(bins, w, u, 1e-5)
    close = (out - expect).abs() <= tol * bins.abs().amax()
    assert close.float().mean() >= (0.999 if dtype == torch.float32 else 1.0)


def test_rows_with_decreasing_partial_sums_take_the_binary_search(device):
    """Weights in (-eps, 0) (accepted by the raw op and the wrapper) make partial sums decrease: such rows keep
    lower_bound's answer on an unsorted range, the reference's searchsorted (the same bisection)."""
    bins, w = _pdf((50,), 20, torch.float64, seed=5, device=device)
    w = torch.where(torch.rand(w.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
                    .to(device) < 0.3, -1e-6, w)
    u = _uniforms(50, 33, torch.float64, device=device)
    torch.testing.assert_close(ops.sample_pdf(bins, w, u, 1e-5), ref.sample_pdf(bins, w, u, 1e-5), rtol=1e-12,
                               atol=1e-12)


def test_expanded_uniform_rows_equal_contiguous_ones(device):
    """det=True hands the kernel one row of quantiles expanded over the batch (row stride 0)."""
    bins, w = _pdf((30,), 16, device=device)
    u = torch.linspace(0, 1, 12, device=device).expand(30, 12)
    assert u.stride(0) == 0
    assert torch.equal(ops.sample_pdf(bins, w, u, 1e-5), ops.sample_pdf(bins, w, u.contiguous(), 1e-5))
    t = _uniforms(12, 30, device=device).t()  # samples of a row strided: copied first
    assert torch.equal(ops.sample_pdf(bins, w, t, 1e-5), ops.sample_pdf(bins, w, t.contiguous(), 1e-5))


def test_opcheck_and_compile(device):
    bins, w = _pdf((6,), 5, device=device)
    u = _uniforms(6, 7, device=device)
    torch.library.opcheck(ops.sample_pdf, (bins, w, u, 1e-5))
    torch.library.opcheck(ops.sample_pdf, (bins.double(), w.double(), u.double(), 1e-3))
    fn = lambda b, ww, uu: sample_pdf(b, ww, 7, uniforms=uu) * 2  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(bins, w, u), fn(bins, w, u))
    torch._dynamo.reset()


def test_cpu_and_device_results_are_bit_identical(device):
    bins, w = _pdf((500,), 64, seed=9, zeros=0.3)
    u = _uniforms(500, 128)
    out = ops.sample_pdf(bins.to(device), w.to(device), u.to(device), 1e-5)
    assert torch.equal(out, ops.sample_pdf(bins, w, u, 1e-5).to(device))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 5), st.integers(1, 20), st.integers(0, 9), st.integers(0, 2**31 - 1),
       st.sampled_from([0.0, 0.5, 1.0]), st.booleans())
def test_random_sizes_against_the_reference(B, n_bins, S, seed, zeros, det):
    bins, w = _pdf((B,), n_bins, torch.float64, seed=seed % 1000, zeros=zeros)
    u = (torch.linspace(0, 1, S, dtype=torch.float64).expand(B, S) if det else _uniforms(B, S, torch.float64, seed))
    torch.testing.assert_close(ops.sample_pdf(bins, w, u, 1e-5), ref.sample_pdf(bins, w, u, 1e-5), rtol=1e-12,
                               atol=1e-12)


def test_bad_inputs():
    bins, w = _pdf((4,), 5)
    with pytest.raises(ValueError, match="Inconsistent shapes"):
        sample_pdf(bins[:, :5], w, 3)
    with pytest.raises(ValueError, match="Inconsistent shapes"):
        sample_pdf(bins[:3], w, 3)
    with pytest.raises(ValueError, match="Negative weights"):
        sample_pdf(bins, w - 1, 3)
    with pytest.raises(ValueError, match="at least one bin"):
        sample_pdf(bins[:, :1], w[:, :0], 3)
    with pytest.raises(ValueError, match="n_samples"):
        sample_pdf(bins, w, -1)
    with pytest.raises(TypeError, match="n_samples"):
        sample_pdf(bins, w, 2.5)
    with pytest.raises(TypeError, match="bins"):
        sample_pdf(bins.long(), w, 3)
    with pytest.raises(NotImplementedError, match="differentiability"):
        sample_pdf(bins, w.requires_grad_(True), 3)
    with pytest.raises(ValueError, match="uniforms"):
        sample_pdf(bins, w.detach(), 3, uniforms=torch.rand(4, 2))
    w = w.detach()
    u = _uniforms(4, 3)
    # the raw op checks in C++
    with pytest.raises(RuntimeError, match="bins must be"):
        ops.sample_pdf(bins[:, :5], w, u, 1e-5)
    with pytest.raises(RuntimeError, match="weights must be"):
        ops.sample_pdf(bins[:, :1], w[:, :0], u, 1e-5)
    with pytest.raises(RuntimeError, match="uniforms must be"):
        ops.sample_pdf(bins, w, u[:3], 1e-5)
    with pytest.raises(RuntimeError, match="uniforms must be Float"):
        ops.sample_pdf(bins, w, u.double(), 1e-5)
    with pytest.raises(RuntimeError, match="same dtype"):
        ops.sample_pdf(bins, w.double(), u, 1e-5)
    with pytest.raises(RuntimeError, match="float16, bfloat16"):
        ops.sample_pdf(bins.int(), w.int(), u, 1e-5)
