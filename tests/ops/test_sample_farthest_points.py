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


def test_one_large_cloud_uses_the_threaded_path_and_stays_exact(device):
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
