"""composite_points / composite_points_backward: the three PyTorch3D compositors vs the reference, strided
(PyTorch3D-layout) inputs without copies, opaque points, empty pixels, background, gradients, opcheck, compile."""

import pytest
import torch

from meshgraph.ops import reference as ref
from meshgraph.ops.composite_points import (
    AlphaCompositor,
    MODES,
    NormWeightedCompositor,
    WeightedSumCompositor,
    alpha_composite,
    composite_points,
    norm_weighted_sum,
    weighted_sum,
)


def _inputs(device, dtype=torch.float32, P=40, C=7, N=2, H=5, W=6, K=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(P, C, generator=g, dtype=dtype).to(device)
    a = torch.rand(N, H, W, K, generator=g, dtype=dtype).to(device)
    idx = torch.randint(-1, P, (N, H, W, K), generator=g).to(device)
    a[0, 0, 0, 0] = 1.0  # an opaque point hides everything behind it
    a[0, 0, 1] = 0.0  # all-transparent pixel (norm_weighted's epsilon)
    idx[1, 2, 3] = -1  # empty pixel
    return f, a, idx


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_reference(device, mode, dtype):
    f, a, idx = _inputs(device, dtype)
    out = composite_points(f, a, idx, mode)
    torch.testing.assert_close(out, ref.composite_points(f, a, idx, MODES[mode]))
    go = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=dtype).to(device)
    got = torch.ops.meshgraph.composite_points_backward(go, f, a, idx, mode)
    # the all-transparent pixel's alpha gradients are ~1e3 (norm_weighted divides by its epsilon): float32 rounds
    # those relative to their size, so the float32 bound is relative 1e-5
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {}
    for x, y in zip(got, ref.composite_points_backward(go, f, a, idx, MODES[mode])):
        torch.testing.assert_close(x, y, **tol)


TOL = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("dtype", list(TOL))
def test_every_float_dtype_against_the_float64_reference(device, mode, dtype):
    """Inputs rounded to the dtype, the kernels summing in float32 (float64): forward and both gradients agree with
    the float64 definition on the same rounded inputs to one rounding of the output (relative to its scale)."""
    f, a, idx = _inputs(device, torch.float64, K=6)
    f, a = f.to(dtype), a.to(dtype)
    g = torch.Generator().manual_seed(1)
    go = torch.randn(2, 7, 5, 6, generator=g).to(dtype).to(device)
    out = composite_points(f, a, idx, mode)
    gf, ga = torch.ops.meshgraph.composite_points_backward(go, f, a, idx, mode)
    expect = ref.composite_points(f.double(), a.double(), idx, MODES[mode])
    egf, ega = ref.composite_points_backward(go.double(), f.double(), a.double(), idx, MODES[mode])
    for got, exp in ((out, expect), (gf, egf), (ga, ega)):
        assert got.dtype == dtype
        torch.testing.assert_close(got.double(), exp, rtol=TOL[dtype], atol=TOL[dtype] * exp.abs().max())


@pytest.mark.parametrize("mode", sorted(MODES))
def test_pytorch3d_layout_is_read_in_place(device, mode):
    f, a, idx = _inputs(device)
    fn = {"alpha": alpha_composite, "norm_weighted": norm_weighted_sum, "weighted_sum": weighted_sum}[mode]
    comp = {"alpha": AlphaCompositor, "norm_weighted": NormWeightedCompositor, "weighted_sum": WeightedSumCompositor}[mode]
    # PyTorch3D layout: (N, K, H, W) and (C, P), made as real tensors of that layout
    idx_p3d, a_p3d, f_p3d = idx.permute(0, 3, 1, 2).contiguous(), a.permute(0, 3, 1, 2).contiguous(), f.t().contiguous()
    expect = ref.composite_points(f, a, idx, MODES[mode])
    torch.testing.assert_close(fn(idx_p3d, a_p3d, f_p3d), expect)
    out = comp(background_color=(9.0,) * 7)(idx_p3d, a_p3d, f_p3d)
    empty = idx[..., 0] < 0
    assert (out.permute(0, 2, 3, 1)[empty] == 9).all()
    torch.testing.assert_close(out.permute(0, 2, 3, 1)[~empty], expect.permute(0, 2, 3, 1)[~empty])


def test_edge_cases(device):
    f, a, idx = _inputs(device)
    # no points at all
    out = composite_points(f[:0], a, torch.full_like(idx, -1), "alpha")
    assert out.shape == (2, 7, 5, 6) and (out == 0).all()
    # alpha = 1 first: only the first point shows
    one = torch.ones_like(a)
    idx2 = torch.randint(0, 40, idx.shape, device=device)
    out = composite_points(f, one, idx2, "alpha")
    torch.testing.assert_close(out, f[idx2[..., 0]].permute(0, 3, 1, 2))
    # C = 1 and large K
    f1, a1, i1 = _inputs(device, C=1, K=64)
    torch.testing.assert_close(composite_points(f1, a1, i1, "alpha"), ref.composite_points(f1, a1, i1, 0))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_gradients(device, mode):
    f, a, idx = _inputs(device, torch.float64, P=12, C=3, H=3, W=4, K=3)
    f.requires_grad_(True)
    a.requires_grad_(True)
    fn = lambda x, y: composite_points(x, y, idx, mode, background=0.5)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (f, a))
    assert torch.autograd.gradgradcheck(fn, (f, a))


def test_opcheck_and_compile(device):
    f, a, idx = _inputs(device)
    for m in MODES:
        torch.library.opcheck(torch.ops.meshgraph.composite_points, (f, a, idx, m))
        go = torch.randn(2, 7, 5, 6, device=device)
        torch.library.opcheck(torch.ops.meshgraph.composite_points_backward, (go, f, a, idx, m))
    fn = lambda x, y: composite_points(x, y, idx, "alpha", background=1.0).sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(f, a), fn(f, a))
    torch._dynamo.reset()


def test_bad_inputs():
    f, a, idx = _inputs("cpu")
    with pytest.raises(ValueError, match="mode"):
        composite_points(f, a, idx, "over")
    with pytest.raises(ValueError, match="alphas and idx"):
        composite_points(f, a[..., :2], idx, "alpha")
    with pytest.raises(TypeError, match="idx"):
        composite_points(f, a, idx.int(), "alpha")
    with pytest.raises(TypeError, match="features"):
        composite_points(f.long(), a, idx, "alpha")
    with pytest.raises(ValueError, match="idx"):
        composite_points(f, a, idx.clamp_max(40).index_fill(0, torch.tensor([0]), 40), "alpha")
    with pytest.raises(ValueError, match="background"):
        composite_points(f, a, idx, "alpha", background=torch.zeros(3))
