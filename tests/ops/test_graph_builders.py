"""knn_graph / radius_graph (PyG call shape) and GraphBatch builders vs brute force."""

import pytest
import torch

import meshgraph as mg
from meshgraph.ops import knn_graph, radius_graph


def data(device):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(300, 3, generator=g).to(device)
    b = torch.cat([torch.zeros(100), torch.ones(150), 2 * torch.ones(50)]).long().to(device)
    d = torch.cdist(x.double(), x.double())
    d[b[:, None] != b[None]] = float("inf")
    return x, b, d


@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_matches_brute_force(device, loop):
    x, b, d = data(device)
    e = knn_graph(x, 6, b, loop=loop)
    if not loop:
        d = d.clone().fill_diagonal_(float("inf"))
    nn = d.topk(6, largest=False).indices
    expect = {(int(j), i) for i in range(300) for j in nn[i]}
    assert e.shape == (2, 1800) and set(map(tuple, e.t().tolist())) == expect
    flipped = knn_graph(x, 6, b, loop=loop, flow="target_to_source")
    assert torch.equal(flipped, e.flip(0))


def test_radius_graph_matches_brute_force(device):
    x, b, d = data(device)
    e = radius_graph(x, 0.15, b, max_num_neighbors=1000)
    m = d <= 0.15
    m.fill_diagonal_(False)
    expect = {(int(j), int(i)) for i, j in torch.nonzero(m).tolist()}
    assert set(map(tuple, e.t().tolist())) == expect
    capped = radius_graph(x, 0.15, b, max_num_neighbors=2)
    assert torch.bincount(capped[1], minlength=300).max() <= 2


def test_graph_batch_builders_and_bad_input():
    clouds = [torch.rand(50, 3), torch.rand(3, 3)]
    g = mg.GraphBatch.knn_from_pointclouds(clouds, k=4)
    assert g.num_edges == 50 * 4 + 3 * 2  # a 3-point cloud has only 2 other points
    assert (g.graph_index[g.edge_index[0]] == g.graph_index[g.edge_index[1]]).all()
    r = mg.GraphBatch.radius_from_pointclouds(clouds, r=0.3)
    assert r.num_verts == 53
    with pytest.raises(ValueError, match="sorted"):
        knn_graph(torch.rand(4, 3), 2, torch.tensor([1, 0, 0, 1]))
    with pytest.raises(ValueError, match="k"):
        knn_graph(torch.rand(4, 3), 0)
    with pytest.raises(ValueError, match="flow"):
        radius_graph(torch.rand(4, 3), 0.1, flow="up")
    assert knn_graph(torch.rand(0, 3), 3).shape == (2, 0)


def test_knn_interpolate_matches_brute_force(device):
    from meshgraph.ops import knn_interpolate

    g = torch.Generator().manual_seed(4)
    pos_x = torch.rand(120, 3, generator=g, dtype=torch.float64).to(device)
    pos_y = torch.rand(70, 3, generator=g, dtype=torch.float64).to(device)
    bx = torch.cat([torch.zeros(50), torch.ones(70)]).long().to(device)
    by = torch.cat([torch.zeros(30), torch.ones(40)]).long().to(device)
    x = torch.randn(120, 5, generator=g, dtype=torch.float64).to(device).requires_grad_(True)
    out = knn_interpolate(x, pos_x, pos_y, bx, by, k=3)
    d = torch.cdist(pos_y, pos_x) ** 2
    d[by[:, None] != bx[None]] = float("inf")
    dist, idx = d.topk(3, largest=False)
    w = 1 / dist.clamp(min=1e-16)
    expect = (x[idx] * w[..., None]).sum(1) / w.sum(1, keepdim=True)
    torch.testing.assert_close(out, expect)
    assert torch.autograd.gradcheck(lambda a: knn_interpolate(a, pos_x, pos_y, bx, by, k=3), (x,))
    with pytest.raises(ValueError, match="rows"):
        knn_interpolate(x[:5], pos_x, pos_y)
