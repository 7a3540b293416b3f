"""sample_farthest_points / sample_farthest_points_idx: exact vs reference (PyTorch3D's loop), per-cloud K,
padding, random start, gradients through the selected points, opcheck, bad input."""

import pytest
import torch

from meshgraph.ops import sample_farthest_points
from meshgraph.ops import reference as ref


@pytest.mark.parametrize("D", [2, 3, 5])
def test_matches_reference(device, D):
    g = torch.Generator().manual_seed(D)
    p = torch.rand(3, 300, D, generator=g).to(device)
    lengths = torch.tensor([300, 50, 2], device=device)
    K = torch.tensor([40, 80, 5], device=device)
    start = torch.tensor([0, 7, 1], device=device)
    idx = torch.ops.meshgraph.sample_farthest_points_idx(p, lengths, K, start, 80)
    assert torch.equal(idx, ref.sample_farthest_points_idx(p, lengths, K, start, 80))
    assert (idx[1, 50:] == -1).all() and (idx[2, 2:] == -1).all() and (idx[0, 40:] == -1).all()


def test_one_large_cloud_stays_exact(device):
    """20,000 points in 3-D: the CPU's cell-pruned search (fps_cloud_grid) and the CUDA block reduction."""
    p = torch.rand(1, 20000, 3, generator=torch.Generator().manual_seed(0)).to(device)
    one = torch.tensor([20000], device=device)
    idx = torch.ops.meshgraph.sample_farthest_points_idx(p, one, torch.tensor([64], device=device), torch.tensor([0], device=device), 64)
    assert torch.equal(idx, ref.sample_farthest_points_idx(p, one, torch.tensor([64]), torch.tensor([0]), 64))


def test_wrapper_semantics(device):
    p = torch.rand(2, 100, 3, device=device, dtype=torch.float64, requires_grad=True)
    pts, idx = sample_farthest_points(p, K=[10, 20])
    assert pts.shape == (2, 20, 3) and idx.shape == (2, 20)
    assert (idx[0, 10:] == -1).all() and (pts[0, 10:] == 0).all()
    assert torch.equal(pts[1], p[1, idx[1]])
    assert len(set(idx[1].tolist())) == 20  # no point picked twice
    pts.sum().backward()
    assert p.grad[0].sum() == 30  # 10 selected points x 3 coordinates
    pts2, idx2 = sample_farthest_points(p.detach(), K=5, random_start_point=True, generator=torch.Generator().manual_seed(1))
    assert idx2.shape == (2, 5) and (idx2 >= 0).all()
    torch.library.opcheck(
        torch.ops.meshgraph.sample_farthest_points_idx,
        (p.detach(), torch.tensor([100, 60], device=device), torch.tensor([5, 9], device=device), torch.tensor([0, 3], device=device), 9),
    )


def test_bad_inputs():
    p = torch.rand(2, 10, 3)
    with pytest.raises(ValueError, match="K"):
        sample_farthest_points(p, K=-1)
    with pytest.raises(ValueError, match="K"):
        sample_farthest_points(p, K=[1, 2, 3])
    with pytest.raises(ValueError, match="lengths"):
        sample_farthest_points(p, lengths=torch.tensor([11, 2]))
    with pytest.raises(TypeError, match="points"):
        sample_farthest_points(p.long())


@pytest.mark.parametrize("kind", ["clustered", "flat", "duplicates"])
def test_grid_path_is_exact_on_uneven_clouds(kind):
    g = torch.Generator().manual_seed(2)
    if kind == "clustered":
        p = torch.cat([torch.rand(1, 3000, 3, generator=g) * 0.01, torch.rand(1, 2000, 3, generator=g) + 5], 1)
    elif kind == "flat":
        p = torch.rand(1, 4000, 3, generator=g)
        p[..., 2] = 0.25
    else:
        p = torch.rand(1, 50, 3, generator=g).repeat(1, 40, 1)
    n = p.shape[1]
    args = (p, torch.tensor([n]), torch.tensor([200]), torch.tensor([3]), 200)
    assert torch.equal(torch.ops.meshgraph.sample_farthest_points_idx(*args), ref.sample_farthest_points_idx(*args))


FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def assert_fps_tie_aware(points, lengths, K, start, max_K, idx, rtol):
    """idx against float64 distances of the same values, tie-aware: replaying the kernel's own picks, each next
    pick's distance to the picked set must be the largest (up to rtol: float32 accumulation may order near-ties
    differently than float64), the first pick the clamped start, and -1 after min(K, length) picks."""
    x64 = points.double()
    assert idx.shape == (points.shape[0], max_K)
    for n in range(points.shape[0]):
        m, k = int(lengths[n]), min(int(K[n]), int(lengths[n]))
        assert (idx[n, k:] == -1).all()
        if k == 0:
            continue
        sel = idx[n, :k].tolist()
        assert sel[0] == min(max(int(start[n]), 0), m - 1)
        x = x64[n, :m]
        dist = torch.full((m,), float("inf"), dtype=torch.float64, device=x.device)
        for t in range(1, k):
            dist = torch.minimum(dist, (x - x[sel[t - 1]]).square().sum(1))
            assert 0 <= sel[t] < m
            best = float(dist.max())
            assert float(dist[sel[t]]) >= best * (1 - rtol), f"cloud {n}, pick {t}: {float(dist[sel[t]])} < {best}"


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("D", [2, 3, 5])
def test_all_float_dtypes_against_float64_reference(device, dtype, D):
    """Every float dtype on the grid (D <= 3) and plain (D > 3) paths, distances accumulated in float32 or wider."""
    g = torch.Generator().manual_seed(D + 40)
    p = torch.rand(3, 400, D, generator=g, dtype=torch.float64).to(dtype).to(device)
    lengths = torch.tensor([400, 120, 3], device=device)
    K = torch.tensor([50, 60, 5], device=device)
    start = torch.tensor([0, 9, 2], device=device)
    idx = torch.ops.meshgraph.sample_farthest_points_idx(p, lengths, K, start, 60)
    assert_fps_tie_aware(p, lengths, K, start, 60, idx, 0.0 if dtype == torch.float64 else 1e-5)
    if dtype == torch.float64:
        assert torch.equal(idx, ref.sample_farthest_points_idx(p, lengths, K, start, 60))
    pts, idx2 = sample_farthest_points(p, lengths, K)
    assert pts.dtype == dtype and torch.equal(pts[0, :50], p[0, idx2[0, :50]])


def test_high_dimension_threaded_path_is_exact():
    """D > 3 with fewer clouds than threads and a cloud of >= 4096 points splits every pick over the threads
    (sample_farthest_points_cpu.cpp: `parallel` with n >= 4096), in index-ordered chunks whose maxima combine with
    strict > (the smaller index wins a tie). The second half of the cloud repeats the first, so exact ties span
    chunk boundaries; float64 makes the random distances free of near-ties, so the reference decides exactly. The
    second cloud (< 4096 points) takes the same branch single-threaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        g = torch.Generator().manual_seed(5)
        p = torch.rand(2, 6000, 6, generator=g, dtype=torch.float64)
        p[0, 3000:] = p[0, :3000]
        lengths, K, start = torch.tensor([6000, 3500]), torch.tensor([48, 30]), torch.tensor([17, 4])
        idx = torch.ops.meshgraph.sample_farthest_points_idx(p, lengths, K, start, 48)
        assert torch.equal(idx, ref.sample_farthest_points_idx(p, lengths, K, start, 48))
        assert (idx[0, 1:] < 3000).all()  # of two equal points the smaller index is picked
        assert_fps_tie_aware(p, lengths, K, start, 48, idx, 0.0)
    finally:
        torch.set_num_threads(threads)
