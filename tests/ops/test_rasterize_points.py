"""rasterize_points / rasterize_points_backward: exact vs the brute-force reference for every bin size (tiles can
never overflow), PyTorch3D conventions, padded/list/GraphBatch inputs, gradients, opcheck, compile, bad input."""

import pytest
import torch
from _raster_ties import FLOAT_DTYPES, TOL, assert_tie_aware_selection, decision_eps

from meshgraph import GraphBatch
from meshgraph.ops import reference as ref
from meshgraph.ops.reference.render import pixel_centers
from meshgraph.render import rasterize_points


def _scene(device, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(60, 3, generator=g, dtype=dtype) * 2.4 - 1.2
    a[:, 2] = torch.rand(60, generator=g, dtype=dtype) - 0.2  # some points behind the camera (z < 0)
    a[4, 2] = a[3, 2]  # a depth tie: index order decides
    a[7] = a[8]  # a duplicate point
    b = torch.rand(40, 3, generator=g, dtype=dtype) * 2 - 1
    b[:, 2] += 1
    b[5, 0] = float("nan")  # never drawn, never a crash
    b[6, 2] = float("inf")
    return [a.to(device), torch.zeros(0, 3, dtype=dtype, device=device), b.to(device)]


def _ref(clouds, H, W, K, radius):
    packed = torch.cat(clouds)
    size = torch.tensor([c.shape[0] for c in clouds], device=packed.device)
    r = radius if isinstance(radius, torch.Tensor) else torch.full((packed.shape[0],), radius, dtype=packed.dtype, device=packed.device)
    return ref.rasterize_points(packed, size.cumsum(0) - size, size, r, H, W, K)


@pytest.mark.parametrize("hw", [(16, 16), (12, 21), (23, 9), (1, 1)])
@pytest.mark.parametrize("K", [1, 4, 200])
@pytest.mark.parametrize("bin_size", [None, 0, 1, 3, 8, 64])
def test_matches_reference(device, hw, K, bin_size):
    clouds = _scene(device)
    out = rasterize_points(clouds, hw, radius=0.3, points_per_pixel=K, bin_size=bin_size)
    expect = _ref(clouds, *hw, K, 0.3)
    for a, b in zip(out, expect):
        assert torch.equal(a, b)
    # K nearest in z: every row is sorted by depth, and -1 pads all three outputs at the same places
    idx, zbuf, dists = out
    assert torch.equal(idx < 0, zbuf == -1) and torch.equal(idx < 0, dists == -1)
    assert (zbuf[..., 1:][idx[..., 1:] >= 0] >= zbuf[..., :-1][idx[..., 1:] >= 0]).all()


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_every_float_dtype_against_the_float64_reference(device, dtype):
    """float16 / bfloat16 / float32 / float64 points (computed in float32 or float64, outputs in their dtype) against
    the float64 definition on the same rounded inputs: the selection is the reference's up to genuine near-ties
    (tie-aware), zbuf / dists at the chosen points and the gradients agree to the dtype's rounding."""
    clouds = [c.to(dtype) for c in _scene(device)]
    packed = torch.cat(clouds).double()
    P, N, H, W, K = packed.shape[0], len(clouds), 16, 19, 4
    size = torch.tensor([c.shape[0] for c in clouds], device=device)
    first = size.cumsum(0) - size
    r2 = torch.tensor(0.3, dtype=dtype).double().square()  # the wrapper rounds the radius to the points' dtype
    ys, xs = pixel_centers(H, W, torch.float64, device)
    d2 = (packed[:, 0] - xs[None, :, None]).square() + (packed[:, 1] - ys[:, None, None]).square()  # (H, W, P)
    pid = torch.arange(P, device=device)
    member = (pid >= first[:, None]) & (pid < (first + size)[:, None])  # (N, P)
    drawable = member[:, None, None] & (packed[:, 2] >= 0) & packed.isfinite().all(1)  # (N, 1, 1, P)
    eps = decision_eps(dtype)
    strict, loose = drawable & (d2 < r2 - eps), drawable & (d2 < r2 + eps)  # (N, H, W, P)
    key = packed[:, 2].nan_to_num(0.0, 0.0, 0.0).expand(N, H, W, P)
    for bin_size in (None, 0, 3):
        idx, zbuf, dists = rasterize_points(clouds, (H, W), radius=0.3, points_per_pixel=K, bin_size=bin_size)
        assert idx.dtype == torch.int64 and zbuf.dtype == dtype and dists.dtype == dtype
        assert_tie_aware_selection(idx.reshape(-1, K), key.reshape(-1, P), strict.reshape(-1, P), loose.reshape(-1, P), eps)
        valid, safe = idx >= 0, idx.clamp_min(0)
        torch.testing.assert_close(zbuf.double(), torch.where(valid, key.gather(-1, safe), -1), **TOL[dtype])
        d_at = d2.expand(N, H, W, P).gather(-1, safe)
        torch.testing.assert_close(dists.double(), torch.where(valid, d_at, -1), **TOL[dtype])
        assert valid.sum() > 100
    g = torch.Generator().manual_seed(3)
    gz, gd = (torch.randn(idx.shape, generator=g).to(dtype).to(device) for _ in range(2))
    got = torch.ops.meshgraph.rasterize_points_backward(torch.cat(clouds), idx, gz, gd)
    expect = ref.rasterize_points_backward(packed.nan_to_num(0.0, 0.0, 0.0), idx, gz.double(), gd.double())
    assert got.dtype == dtype
    torch.testing.assert_close(got.double(), expect, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * expect.abs().max())


def test_per_point_radius_and_dense_overlap(device):
    g = torch.Generator().manual_seed(1)
    p = torch.rand(500, 3, generator=g).to(device) * 2 - 1
    p[:, 2] = p[:, 2].abs()
    r = (torch.rand(500, generator=g) * 0.2 + 0.001).to(device)
    for bs in (None, 0, 4):
        out = rasterize_points(p[None], (32, 40), radius=r[None], points_per_pixel=8, bin_size=bs)
        for a, b in zip(out, _ref([p], 32, 40, 8, r)):
            assert torch.equal(a, b)


def test_pytorch3d_conventions(device):
    # A point at NDC (+0.5, +0.5) is left and up: it lands in the top-left quadrant of the image.
    p = torch.tensor([[[0.5, 0.5, 1.0]]], device=device)
    idx = rasterize_points(p, (64, 64), radius=0.05, points_per_pixel=1)[0][0, ..., 0]
    ys, xs = torch.nonzero(idx >= 0, as_tuple=True)
    assert ys.float().mean() < 32 and xs.float().mean() < 32
    assert abs(ys.float().mean().item() - 16) < 1 and abs(xs.float().mean().item() - 16) < 1
    # Non-square image: the shorter side spans [-1, 1]; x = +1.4 is still inside a 64 x 128 image (range +-2)
    p = torch.tensor([[[1.4, 0.0, 1.0]]], device=device)
    idx = rasterize_points(p, (64, 128), radius=0.05, points_per_pixel=1)[0][0, ..., 0]
    xs = torch.nonzero(idx >= 0, as_tuple=True)[1].float()
    assert xs.numel() and abs(xs.mean().item() - (2 - 1.4) / 4 * 128) < 1


def test_padded_lengths_and_graphbatch_give_packed_indices(device):
    clouds = _scene(device)
    padded = torch.zeros(3, 60, 3, device=device)
    for i, c in enumerate(clouds):
        padded[i, : c.shape[0]] = c
    padded[1, :] = 0.5  # garbage beyond lengths must be ignored
    lengths = torch.tensor([60, 0, 40], device=device)
    a = rasterize_points(padded, 20, radius=0.2, points_per_pixel=3, lengths=lengths)
    b = rasterize_points(clouds, 20, radius=0.2, points_per_pixel=3)
    gb = GraphBatch.from_pointclouds(clouds)
    c = rasterize_points(gb, 20, radius=0.2, points_per_pixel=3)
    for x, y, z in zip(a, b, c):
        assert torch.equal(x, y) and torch.equal(y, z)


def test_gradients(device):
    g = torch.Generator().manual_seed(2)
    p = (torch.rand(30, 3, generator=g, dtype=torch.float64) * 2 - 1).to(device)
    p[:, 2] += 1.5
    p.requires_grad_(True)

    def f(q):
        _, zbuf, dists = rasterize_points([q], (9, 11), radius=0.45, points_per_pixel=3)
        return zbuf * 1.7 + dists.square()

    assert torch.autograd.gradcheck(f, (p,))
    # against autograd through the reference (its zbuf and dists are gathers of the points)
    o = _ref([p], 9, 11, 3, 0.45)
    expect = torch.autograd.grad((o[1] * 1.7 + o[2].square()).sum(), p)[0]
    torch.testing.assert_close(torch.autograd.grad(f(p).sum(), p)[0], expect)
    # second order through the backward op
    idx = o[0]
    gz = torch.rand(idx.shape, dtype=torch.float64, device=device, requires_grad=True)
    gd = torch.rand(idx.shape, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda q, a, b: torch.ops.meshgraph.rasterize_points_backward(q, idx, a, b), (p, gz, gd)
    )
    torch.testing.assert_close(
        torch.ops.meshgraph.rasterize_points_backward(p.detach(), idx, gz.detach(), gd.detach()),
        ref.rasterize_points_backward(p.detach(), idx, gz.detach(), gd.detach()),
    )


def test_opcheck_and_compile(device):
    clouds = _scene(device)
    packed = torch.cat(clouds)
    size = torch.tensor([60, 0, 40], device=device)
    first = size.cumsum(0) - size
    r = torch.full((100,), 0.3, device=device)
    torch.library.opcheck(torch.ops.meshgraph.rasterize_points, (packed, first, size, r, 10, 12, 3, 0))
    idx = torch.ops.meshgraph.rasterize_points(packed, first, size, r, 10, 12, 3, 0)[0]
    torch.library.opcheck(
        torch.ops.meshgraph.rasterize_points_backward, (packed, idx, torch.rand(idx.shape, device=device), torch.rand(idx.shape, device=device))
    )
    f = lambda x: rasterize_points(x[None], 16, radius=0.2, points_per_pixel=2)[1].sum()  # noqa: E731
    x = clouds[2].nan_to_num(0.0, 0.0, 0.0)
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(x), f(x))
    torch._dynamo.reset()


def test_bad_inputs():
    p = torch.rand(1, 5, 3)
    with pytest.raises(ValueError, match="image_size"):
        rasterize_points(p, 0)
    with pytest.raises(ValueError, match="image_size"):
        rasterize_points(p, (4, -2))
    with pytest.raises(ValueError, match="radius"):
        rasterize_points(p, 8, radius=0.0)
    with pytest.raises(ValueError, match="radius"):
        rasterize_points(p, 8, radius=torch.rand(4))
    with pytest.raises(ValueError, match="points_per_pixel"):
        rasterize_points(p, 8, points_per_pixel=0)
    with pytest.raises(ValueError, match="bin_size"):
        rasterize_points(p, 8, bin_size=-3)
    with pytest.raises(TypeError, match="points"):
        rasterize_points(p.long(), 8)
    with pytest.raises(ValueError, match="points"):
        rasterize_points(torch.rand(1, 5, 2), 8)
    with pytest.raises(ValueError, match="lengths"):
        rasterize_points(p, 8, lengths=torch.tensor([7]))
    # no points at all: empty outputs, not a crash
    idx, zbuf, dists = rasterize_points(torch.zeros(2, 0, 3), (3, 4), points_per_pixel=2)
    assert idx.shape == (2, 3, 4, 2) and (idx == -1).all()
