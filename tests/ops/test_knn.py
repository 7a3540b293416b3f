"""knn_points / knn_gather / knn_points_idx: exact vs brute-force reference (grid path D <= 3 and scan path),
padding, gradients, opcheck, compile, bad input."""

import pytest
import torch

from meshgraph.ops import knn_gather, knn_points
from meshgraph.ops import reference as ref


def clouds(N, P1, P2, D, seed=0, device="cpu", dtype=torch.float32, kind="uniform"):
    g = torch.Generator().manual_seed(seed)
    p1 = torch.rand(N, P1, D, generator=g, dtype=torch.float64)
    p2 = torch.rand(N, P2, D, generator=g, dtype=torch.float64)
    if kind == "clustered":  # dense blobs and far outliers: uneven grid occupancy
        p2 = p2 * 0.01 + (torch.rand(N, 1, D, generator=g, dtype=torch.float64) * 5)
        p2[:, :3] = torch.tensor(100.0, dtype=torch.float64)
        p1 = p1 * 6 - 0.5
    return p1.to(dtype).to(device), p2.to(dtype).to(device)


@pytest.mark.parametrize("D", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("K", [1, 5, 40])
@pytest.mark.parametrize("norm", [1, 2])
def test_matches_brute_force(device, D, K, norm):
    p1, p2 = clouds(3, 120, 90, D, seed=D * 100 + K, device=device)
    l1 = torch.tensor([120, 7, 0], device=device)
    l2 = torch.tensor([90, 3, 20], device=device)
    d, i = torch.ops.meshgraph.knn_points_idx(p1, p2, l1, l2, K, norm)
    rd, ri = ref.knn_points_idx(p1, p2, l1, l2, K, norm)
    torch.testing.assert_close(d, rd, rtol=1e-5, atol=1e-6)
    assert torch.equal(i, ri)
    out = knn_points(p1, p2, l1, l2, norm=norm, K=K)
    torch.testing.assert_close(out.dists, rd, rtol=1e-5, atol=1e-6)
    assert torch.equal(out.idx, ri)


@pytest.mark.parametrize("kind", ["uniform", "clustered"])
def test_grid_is_exact_on_uneven_and_outside_queries(device, kind):
    p1, p2 = clouds(2, 400, 500, 3, seed=7, device=device, kind=kind)
    l = torch.tensor([400, 400], device=device)
    l2 = torch.tensor([500, 500], device=device)
    for K in (1, 16, 300):
        d, i = torch.ops.meshgraph.knn_points_idx(p1, p2, l, l2, K, 2)
        rd, ri = ref.knn_points_idx(p1, p2, l, l2, K, 2)
        torch.testing.assert_close(d, rd)
        assert torch.equal(i, ri)


@pytest.mark.parametrize("norm", [1, 2])
def test_lattice_ties_and_surface_clouds(device, norm):
    """Exact ties everywhere (integer lattice: many neighbours at one distance, broken by index) and points on a
    sphere (a surface fills few grid cells: the grid refines its cells), for K in the cell-block search range and
    beyond it."""
    ax = torch.arange(8, dtype=torch.float32)
    lattice = torch.stack(torch.meshgrid(ax, ax, ax, indexing="ij"), -1).reshape(1, -1, 3)
    g = torch.Generator().manual_seed(3)
    lattice = lattice[:, torch.randperm(lattice.shape[1], generator=g)]
    sphere = torch.nn.functional.normalize(torch.randn(1, lattice.shape[1], 3, generator=g), dim=2)
    for p2 in (lattice, sphere):
        p2 = p2.to(device)
        p1 = torch.cat([p2[:, :300], p2[:, :50] * 1.5 + 0.25], 1)  # self queries and some off the cloud
        l1, l2 = torch.tensor([p1.shape[1]], device=device), torch.tensor([p2.shape[1]], device=device)
        for K in (1, 8, 27, 250, 400):
            d, i = torch.ops.meshgraph.knn_points_idx(p1, p2, l1, l2, K, norm)
            rd, ri = ref.knn_points_idx(p1, p2, l1, l2, K, norm)
            torch.testing.assert_close(d, rd)
            assert torch.equal(i, ri)


def test_duplicate_points_and_flat_clouds(device):
    p2 = torch.zeros(1, 50, 3, device=device)
    p2[0, 25:, 0] = 1.0  # two stacks of identical points on a line
    p1 = torch.rand(1, 10, 3, device=device)
    l1, l2 = torch.tensor([10], device=device), torch.tensor([50], device=device)
    d, i = torch.ops.meshgraph.knn_points_idx(p1, p2, l1, l2, 30, 2)
    rd, ri = ref.knn_points_idx(p1, p2, l1, l2, 30, 2)
    torch.testing.assert_close(d, rd)
    assert torch.equal(i, ri)  # ties broken by the smaller index, as in the reference


def test_k_larger_than_cloud_pads_with_zeros(device):
    p1, p2 = clouds(2, 5, 4, 3, device=device)
    out = knn_points(p1, p2, lengths2=torch.tensor([4, 2], device=device), K=6, return_nn=True)
    assert out.dists.shape == (2, 5, 6)
    assert (out.idx[1, :, 2:] == 0).all() and (out.dists[1, :, 2:] == 0).all()
    assert (out.knn[1, :, 2:] == 0).all()
    assert (out.dists[0, :, :4] > 0).all() and (out.dists[0, :, 4:] == 0).all()


FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
# dists are float32 distances of the input values rounded to the input dtype: (rtol, atol) against float64
DIST_TOL = {torch.float16: (2e-3, 1e-4), torch.bfloat16: (1e-2, 1e-3), torch.float32: (1e-5, 1e-6),
            torch.float64: (1e-12, 1e-14)}


def assert_knn_tie_aware(p1, p2, l1, l2, K, norm, d, i):
    """The kernel's (d, i) for inputs of any float dtype against the float64 reference of the same values, tie-aware:
    half precision makes many near-ties, which float32 accumulation may order differently from float64, so the
    chosen neighbours' float64 distances must equal the reference's K smallest (up to float32 rounding) rather
    than the indices being equal. Also: indices valid and distinct, padding zero, dists those distances in the
    input dtype."""
    q, p = p1.double(), p2.double()
    rd, _ = ref.knn_points_idx(q, p, l1, l2, K, norm)
    N, P1, D = q.shape
    q_ok = torch.arange(P1, device=d.device)[None, :, None] < l1.to(d.device)[:, None, None]
    k_ok = torch.arange(K, device=d.device)[None, None, :] < l2.to(d.device)[:, None, None]
    valid = q_ok & k_ok
    assert (i[~valid] == 0).all() and (d[~valid] == 0).all()
    assert (i >= 0).all() and (i < l2.to(d.device)[:, None, None].clamp(min=1)).all()
    srt = torch.where(valid, i, -1 - torch.arange(K, device=d.device)).sort(-1).values
    assert (srt[..., 1:] != srt[..., :-1]).all(), "a neighbour is listed twice"
    nbr = torch.gather(p, 1, i.reshape(N, -1, 1).expand(-1, -1, D)).reshape(N, P1, K, D)
    diff = q[:, :, None, :] - nbr
    dk = diff.square().sum(-1) if norm == 2 else diff.abs().sum(-1)
    dk = torch.where(valid, dk, torch.inf).sort(-1).values.nan_to_num(posinf=0.0)  # padding sorts last, as 0
    exact = p1.dtype == torch.float64
    torch.testing.assert_close(dk, rd, rtol=1e-12 if exact else 1e-5, atol=1e-14 if exact else 1e-6)
    assert d.dtype == p1.dtype
    rtol, atol = DIST_TOL[p1.dtype]
    torch.testing.assert_close(d.double(), rd, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("D,K", [(3, 5), (3, 300), (2, 1), (7, 12), (7, 600)])
@pytest.mark.parametrize("norm", [1, 2])
def test_all_float_dtypes_against_float64_reference(device, dtype, D, K, norm):
    """Every float dtype on every path (D <= 3: cell blocks for K = 5, shells for K = 300; D > 3: GEMM candidates
    for float32/64 norm 2, the scan otherwise; K beyond the cloud), distances accumulated in float32 or wider."""
    p1, p2 = clouds(2, 120, 500, D, seed=D + K, device=device, dtype=dtype)
    l1, l2 = torch.tensor([120, 31], device=device), torch.tensor([500, 77], device=device)
    d, i = torch.ops.meshgraph.knn_points_idx(p1, p2, l1, l2, K, norm)
    assert_knn_tie_aware(p1, p2, l1, l2, K, norm, d, i)
    out = knn_points(p1, p2, l1, l2, norm=norm, K=K)
    assert out.dists.dtype == dtype and torch.equal(out.idx, i) and torch.equal(out.dists, d)


@pytest.mark.parametrize("dtype", FLOATS)
def test_all_float_dtypes_gradients_and_gather(device, dtype):
    """knn_points' differentiable dists and knn_gather in every float dtype: the gradient of the dists (through
    the float32 recomputation for half types) equals the float64 one of the same neighbours, and knn_gather picks
    the rows exactly."""
    p1, p2 = clouds(2, 40, 50, 3, seed=4, device=device, dtype=dtype)
    a, b = p1.clone().requires_grad_(True), p2.clone().requires_grad_(True)
    out = knn_points(a, b, K=4, return_nn=True)
    assert out.dists.dtype == dtype and out.knn.dtype == dtype
    assert torch.equal(out.knn, torch.stack([p2[n][out.idx[n]] for n in range(2)]))
    (out.dists.float().sum() + out.knn.float().sum()).backward()
    a64, b64 = p1.double().requires_grad_(True), p2.double().requires_grad_(True)
    nbr = torch.stack([b64[n][out.idx[n]] for n in range(2)])
    ((a64[:, :, None] - nbr).square().sum(-1).sum() + nbr.sum()).backward()
    rtol, atol = DIST_TOL[dtype]
    assert a.grad.dtype == dtype and b.grad.dtype == dtype
    torch.testing.assert_close(a.grad.double(), a64.grad, rtol=rtol, atol=atol * 10)
    torch.testing.assert_close(b.grad.double(), b64.grad, rtol=rtol, atol=atol * 10)


def test_gradients_float64(device):
    p1, p2 = clouds(2, 20, 15, 3, dtype=torch.float64, device=device)
    p1.requires_grad_(True)
    p2.requires_grad_(True)
    l2 = torch.tensor([15, 6], device=device)
    assert torch.autograd.gradcheck(lambda a, b: knn_points(a, b, lengths2=l2, K=4).dists, (p1, p2))
    assert torch.autograd.gradcheck(lambda a, b: knn_points(a, b, K=2, norm=1).dists, (p1, p2))
    assert torch.autograd.gradcheck(lambda a, b: knn_points(a, b, K=3, return_nn=True).knn, (p1, p2))


def test_knn_gather_accepts_minus_one_padding(device):
    x = torch.arange(12.0, device=device).view(1, 4, 3).requires_grad_(True)
    idx = torch.tensor([[[0, 3, -1], [2, -1, -1]]], device=device)
    out = knn_gather(x, idx)
    assert out.shape == (1, 2, 3, 3)
    assert torch.equal(out[0, 0, 2], torch.zeros(3, device=device)) and torch.equal(out[0, 1, 0], x[0, 2].detach())
    out.sum().backward()
    assert x.grad[0, :, 0].tolist() == [1.0, 0.0, 1.0, 1.0]


def test_opcheck_and_compile(device):
    p1, p2 = clouds(2, 30, 25, 3, device=device)
    l1, l2 = torch.tensor([30, 10], device=device), torch.tensor([25, 25], device=device)
    torch.library.opcheck(torch.ops.meshgraph.knn_points_idx, (p1, p2, l1, l2, 3, 2))
    torch.library.opcheck(torch.ops.meshgraph.knn_points_idx, (p1[..., :2].contiguous().repeat(1, 1, 3), p2[..., :2].contiguous().repeat(1, 1, 3), l1, l2, 2, 1))
    f = lambda a, b: knn_points(a, b, K=3).dists.sum(-1)  # noqa: E731
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(p1, p2), f(p1, p2))
    torch._dynamo.reset()
    # K is a SymInt output size: one dynamic graph serves every K (and every cloud size)
    g = lambda a, b, k: knn_points(a, b, K=k).dists  # noqa: E731
    cg = torch.compile(g, fullgraph=True, dynamic=True)
    for k, m in ((2, 25), (5, 20), (7, 25)):
        torch.testing.assert_close(cg(p1, p2[:, :m], k), g(p1, p2[:, :m], k))
    torch._dynamo.reset()


def test_bad_inputs():
    p1, p2 = clouds(2, 10, 8, 3)
    with pytest.raises(ValueError, match="K"):
        knn_points(p1, p2, K=0)
    with pytest.raises(TypeError, match="K"):
        knn_points(p1, p2, K=2.0)
    with pytest.raises(ValueError, match="norm"):
        knn_points(p1, p2, norm=3)
    with pytest.raises(ValueError, match="batch"):
        knn_points(p1, p2[:1])
    with pytest.raises(ValueError, match="dimension"):
        knn_points(p1, p2[..., :2])
    with pytest.raises(ValueError, match="lengths2"):
        knn_points(p1, p2, lengths2=torch.tensor([8, 9]))
    with pytest.raises(ValueError, match="lengths1"):
        knn_points(p1, p2, lengths1=torch.tensor([-1, 3]))
    with pytest.raises(ValueError, match="lengths1"):
        knn_points(p1, p2, lengths1=torch.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match="p1"):
        knn_points(p1.long(), p2)
    with pytest.raises(ValueError, match="p2"):
        knn_points(p1, p2[0])
    with pytest.raises(ValueError, match="idx"):
        knn_gather(p2, torch.tensor([[[9]], [[0]]]))
    bad = p1.clone()
    bad[1, 3, 0] = float("inf")
    with pytest.raises(ValueError, match="p1"):
        knn_points(bad, p2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_high_dimension_blocked_gemm_path_is_exact(device, dtype):
    """D > 3, norm 2: candidates from blocked distance GEMMs, decided by exact distances. Larger than one GEMM
    block (1024 points) so the running candidate buffers span blocks and are cut back many times; integer
    lattices give massive exact ties (the margin test must fall back to the exact scan there); a cloud smaller
    than the candidate count makes every point a candidate; self queries (same tensor and lengths) take the
    symmetric-block path, with partial blocks."""
    g = torch.Generator().manual_seed(11)
    p = torch.rand(2, 2600, 24, generator=g, dtype=torch.float64).to(dtype).to(device)
    lat = torch.randint(0, 3, (2, 2600, 8), generator=g).to(dtype).to(device)
    for pts in (p, lat):
        l1 = torch.tensor([2600, 1000], device=device)
        # the same tensor and lengths: the self-query path (symmetric blocks, each used for both of its sides)
        for K, l in ((12, [1300, 1001]), (300, [1100, 15])):
            l = torch.tensor(l, device=device)
            d, i = torch.ops.meshgraph.knn_points_idx(pts, pts, l, l, K, 2)
            rd, ri = ref.knn_points_idx(pts, pts, l, l, K, 2)
            torch.testing.assert_close(d, rd)
            if dtype == torch.float64 or pts is lat:
                assert torch.equal(i, ri)
        for K, l2 in ((12, [2500, 2600]), (300, [2600, 15])):
            l2 = torch.tensor(l2, device=device)
            d, i = torch.ops.meshgraph.knn_points_idx(pts, pts, l1, l2, K, 2)
            rd, ri = ref.knn_points_idx(pts, pts, l1, l2, K, 2)
            torch.testing.assert_close(d, rd)
            if dtype == torch.float64 or pts is lat:  # float32 random data may hold near-ties summed differently
                assert torch.equal(i, ri)
            # ascending within the min(K, length) real entries
            for n, k in enumerate(l2.clamp(max=K).tolist()):
                assert (d[n, :, k - 1 : k] >= d[n, :, :k]).all()


def test_exact_distances_are_contraction_free():
    """CPU/CUDA parity rule (csrc/common/dispatch.h): no a*b+c is fused into an FMA. The GEMM path's exact distances
    (D > 16: two terms per lane, inside the AVX2+FMA build of the loop) must equal the same sums evaluated with
    every multiply and add rounded on its own."""
    p1, p2 = clouds(2, 40, 300, 40, seed=5)
    out = knn_points(p1, p2, K=5)
    nn = torch.gather(p2, 1, out.idx.reshape(2, -1, 1).expand(-1, -1, 40)).reshape(2, 40, 5, 40)
    sq = (p1[:, :, None, :] - nn) * (p1[:, :, None, :] - nn)  # (N, P1, K, D), each product rounded once
    lanes = [sq[..., u] for u in range(16)]  # exact_distance: coordinate a adds into lane a % 16, in order
    for a in range(16, 40):
        lanes[a % 16] = lanes[a % 16] + sq[..., a]
    expect = lanes[0]
    for u in range(1, 16):
        expect = expect + lanes[u]
    assert torch.equal(out.dists, expect)


def test_empty_reference_clouds_give_padding(device):
    """P2 = 0 (no points to search, e.g. an empty batch of references): all padding, gradients zero, on the grid
    (D <= 3) and scan (D > 3) paths of knn and ball_query; knn_gather of zero rows gives zeros."""
    from meshgraph.ops import ball_query

    for D in (3, 5):
        p1 = torch.rand(2, 4, D, device=device, requires_grad=True)
        p2 = torch.rand(2, 0, D, device=device, requires_grad=True)
        out = knn_points(p1, p2, K=3, return_nn=True)
        assert (out.dists == 0).all() and (out.idx == 0).all() and out.knn.shape == (2, 4, 3, D)
        b = ball_query(p1, p2, K=3, radius=0.5)
        assert (b.idx == -1).all() and (b.dists == 0).all() and (b.knn == 0).all()
        (out.dists.sum() + b.dists.sum() + out.knn.sum()).backward()
        assert (p1.grad == 0).all()


def test_knn_gather_never_reads_past_the_rows(device):
    """Indices past the rows raise on CPU (values are read there for free); on any device they are clamped and
    masked, so a kernel never reads out of bounds."""
    x = torch.rand(1, 4, 2, device=device)
    idx = torch.tensor([[[1, 7]]], device=device)
    if device.type == "cpu":
        with pytest.raises(ValueError, match="idx holds 7"):
            knn_gather(x, idx)
    else:
        out = knn_gather(x, idx)
        assert torch.equal(out[0, 0, 0], x[0, 1]) and (out[0, 0, 1] == 0).all()
