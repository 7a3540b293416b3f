"""ball_query / ball_query_idx: exact vs brute-force reference on grid and scan paths, padding, gradients,
opcheck, compile, bad input."""

import pytest
import torch

from meshgraph.ops import ball_query
from meshgraph.ops import reference as ref


@pytest.mark.parametrize("D", [1, 2, 3, 6])
@pytest.mark.parametrize("radius", [1e-6, 0.04, 0.2, 2.0])
@pytest.mark.parametrize("K", [1, 7, 64])
def test_matches_reference(device, D, radius, K):
    g = torch.Generator().manual_seed(D * 10 + K)
    p1 = torch.rand(3, 150, D, generator=g).to(device)
    p2 = torch.rand(3, 220, D, generator=g).to(device)
    p2[0, :10] = p1[0, :10]  # exact hits (the tiny radius finds them)
    l1, l2 = torch.tensor([150, 40, 0], device=device), torch.tensor([220, 9, 30], device=device)
    idx = torch.ops.meshgraph.ball_query_idx(p1, p2, l1, l2, K, radius)
    assert torch.equal(idx, ref.ball_query_idx(p1, p2, l1, l2, K, radius))
    out = ball_query(p1, p2, l1, l2, K=K, radius=radius)
    assert torch.equal(out.idx, idx)
    valid = idx >= 0
    assert (out.dists[valid] <= radius**2 + 1e-6).all() and (out.dists[~valid] == 0).all()
    assert (out.knn[~valid] == 0).all()


def test_far_and_outside_queries(device):
    p2 = torch.rand(1, 400, 3, device=device)
    p1 = torch.tensor([[[5.0, 5, 5], [-3.0, 0.5, 0.5], [0.5, 0.5, 0.5]]], device=device)
    l1, l2 = torch.tensor([3], device=device), torch.tensor([400], device=device)
    for r in (0.1, 3.0, 10.0):
        assert torch.equal(torch.ops.meshgraph.ball_query_idx(p1, p2, l1, l2, 50, r), ref.ball_query_idx(p1, p2, l1, l2, 50, r))


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_points_exactly_on_the_sphere_and_cell_faces(device, offset):
    """Integer lattice, radius 1 and 2: neighbours at exactly the radius (inclusive) sit on cell faces of the grid,
    where the searched cell range is decided by rounding; far from the origin (offset) the rounding is coarser."""
    ax = torch.arange(9, dtype=torch.float32)
    lat = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(1, -1, 3) + offset
    lat = lat[:, torch.randperm(lat.shape[1], generator=torch.Generator().manual_seed(0))].to(device)
    l = torch.tensor([lat.shape[1]], device=device)
    for r in (1.0, 2.0):
        got = torch.ops.meshgraph.ball_query_idx(lat, lat, l, l, 40, r)
        assert torch.equal(got, ref.ball_query_idx(lat, lat, l, l, 40, r))
        assert ((got >= 0).sum(-1) >= 4).all()  # every lattice point has at least 3 axis neighbours and itself


def test_gradients_and_opcheck(device):
    g = torch.Generator().manual_seed(3)
    p1 = torch.rand(2, 30, 3, generator=g, dtype=torch.float64).to(device).requires_grad_(True)
    p2 = torch.rand(2, 40, 3, generator=g, dtype=torch.float64).to(device).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: ball_query(a, b, K=5, radius=0.3).dists, (p1, p2))
    l = torch.tensor([30, 30], device=device)
    torch.library.opcheck(torch.ops.meshgraph.ball_query_idx, (p1.detach(), p2.detach(), l, torch.tensor([40, 10], device=device), 4, 0.3))
    f = lambda a, b: ball_query(a, b, K=4, radius=0.3).dists.sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(p1.detach(), p2.detach()), f(p1.detach(), p2.detach()))
    torch._dynamo.reset()


def test_bad_inputs():
    p = torch.rand(1, 5, 3)
    with pytest.raises(ValueError, match="radius"):
        ball_query(p, p, radius=-1.0)
    with pytest.raises(ValueError, match="radius"):
        ball_query(p, p, radius=0.0)
    bad = p.clone()
    bad[0, 2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        ball_query(bad, p)
    with pytest.raises(ValueError, match="K"):
        ball_query(p, p, K=0)
    with pytest.raises(ValueError, match="lengths2"):
        ball_query(p, p, lengths2=torch.tensor([6]))


def test_strict_radius_drops_boundary_points_and_refills_their_slots(device):
    """inclusive=False (PyTorch3D's d^2 < r^2): on an integer lattice with radius 1 the axis neighbours sit exactly
    on the sphere; the strict query gives each point only itself, and with K smaller than the inclusive hit count
    the slots boundary points took are refilled by the next strict hits in index order."""
    ax = torch.arange(4, dtype=torch.float32)
    lat = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(1, -1, 3).to(device)
    strict = ball_query(lat, lat, K=5, radius=1.0, inclusive=False)
    assert (strict.idx[0, :, 0] == torch.arange(64, device=device)).all() and (strict.idx[0, :, 1:] == -1).all()
    # radius sqrt(2): inclusive hits the 12 diagonal neighbours too; strict keeps self + 6 axis neighbours
    r = 2.0**0.5
    full = ref.ball_query_idx(lat, lat, torch.tensor([64]), torch.tensor([64]), 64, r)
    d2 = ((lat[0][:, None] - lat[0][None]) ** 2).sum(-1)
    expected = torch.full((64, 3), -1, dtype=torch.int64)
    for i in range(64):
        inside = [j for j in full[0, i].tolist() if j >= 0 and d2[i, j] < r * r]
        expected[i, : min(3, len(inside))] = torch.tensor(inside[:3])
    got = ball_query(lat, lat, K=3, radius=r, inclusive=False)
    assert torch.equal(got.idx[0], expected.to(got.idx.device))
    assert (got.dists[got.idx >= 0] < r * r).all()


FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def assert_ball_tie_aware(p1, p2, l1, l2, K, radius, idx, tol):
    """idx for inputs of any float dtype against float64 distances of the same values, tie-aware: points within
    `tol` of the sphere may fall either side (float32 accumulation), every other point must be decided as in
    float64. Each row holds distinct ascending hits, all within radius (+ tol), and misses no point surely inside
    except after a full row's last hit (the first K in index order); padded queries hold -1 only."""
    q, p = p1.double(), p2.double()
    N, P1, _ = q.shape
    P2 = p.shape[1]
    dev = idx.device
    d2 = (q[:, :, None, :] - p[:, None, :, :]).square().sum(-1)  # (N, P1, P2)
    j = torch.arange(P2, device=dev)
    in_cloud = j[None, None, :] < l2.to(dev)[:, None, None]
    q_ok = torch.arange(P1, device=dev)[None, :] < l1.to(dev)[:, None]
    assert (idx[~q_ok] == -1).all()
    hit = idx >= 0
    # hits first, ascending and distinct, -1 after them
    assert (hit[..., 1:] <= hit[..., :-1]).all()
    assert ((idx[..., 1:] > idx[..., :-1]) | ~hit[..., 1:]).all()
    assert (idx < l2.to(dev)[:, None, None]).all()
    H = torch.zeros(N, P1, P2 + 1, dtype=torch.bool, device=dev)
    H.scatter_(2, torch.where(hit, idx, P2), True)
    H = H[..., :P2]
    r2 = radius * radius
    assert (d2[H] <= r2 + tol).all(), "a hit outside the ball"
    sure = (d2 < r2 - tol) & in_cloud & q_ok[..., None]
    full = hit.all(-1, keepdim=True)
    last = idx.max(-1, keepdim=True).values
    missed = sure & ~H & ~(full & (j[None, None, :] > last))
    assert not missed.any(), "a point surely inside the ball is missing"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("D", [2, 3, 6])
@pytest.mark.parametrize("K,radius", [(5, 0.15), (64, 0.3), (8, 3.0)])
def test_all_float_dtypes_against_float64_reference(device, dtype, D, K, radius):
    """Every float dtype on the grid (D <= 3) and scan paths (D > 3, and balls wider than the cloud), distances
    accumulated in float32 or wider; dists keep the input dtype."""
    g = torch.Generator().manual_seed(D * 7 + K)
    p1 = torch.rand(2, 100, D, generator=g, dtype=torch.float64).to(dtype).to(device)
    p2 = torch.rand(2, 300, D, generator=g, dtype=torch.float64).to(dtype).to(device)
    l1, l2 = torch.tensor([100, 23], device=device), torch.tensor([300, 41], device=device)
    idx = torch.ops.meshgraph.ball_query_idx(p1, p2, l1, l2, K, radius)
    tol = 0.0 if dtype == torch.float64 else 1e-5
    assert_ball_tie_aware(p1, p2, l1, l2, K, radius, idx, tol)
    if dtype == torch.float64:
        assert torch.equal(idx, ref.ball_query_idx(p1, p2, l1, l2, K, radius))
    out = ball_query(p1, p2, l1, l2, K=K, radius=radius)
    assert torch.equal(out.idx, idx) and out.dists.dtype == dtype and out.knn.dtype == dtype
    nn = torch.stack([p2[n].double()[idx[n].clamp(min=0)] for n in range(2)])
    expect = (p1.double()[:, :, None] - nn).square().sum(-1) * (idx >= 0)
    rtol = {torch.float16: 2e-3, torch.bfloat16: 1e-2, torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    torch.testing.assert_close(out.dists.double(), expect, rtol=rtol, atol=rtol * 1e-2)
