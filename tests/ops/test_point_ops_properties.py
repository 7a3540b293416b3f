"""Hypothesis: knn_points, ball_query and farthest point sampling equal their references on random sizes,
lengths, dimensions, K and radii (including empty clouds, K beyond the cloud and duplicate points)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from meshgraph.ops import reference as ref


@st.composite
def clouds(draw):
    N = draw(st.integers(1, 3))
    P1, P2 = draw(st.integers(0, 40)), draw(st.integers(1, 150))
    D = draw(st.sampled_from([1, 2, 3, 4, 17]))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    p1 = torch.rand(N, P1, D, generator=g)
    p2 = torch.rand(N, P2, D, generator=g)
    if draw(st.booleans()) and P2 > 3:  # duplicates: ties must break by index
        p2[:, P2 // 2 :] = p2[:, : P2 - P2 // 2].clone()
    l1 = torch.randint(0, P1 + 1, (N,), generator=g)
    l2 = torch.randint(0, P2 + 1, (N,), generator=g)
    return p1, p2, l1, l2


@settings(max_examples=60, deadline=None)
@given(clouds(), st.integers(1, 12), st.sampled_from([1, 2]))
def test_knn_equals_reference(data, K, norm):
    p1, p2, l1, l2 = data
    d, i = torch.ops.meshgraph.knn_points_idx(p1, p2, l1, l2, K, norm)
    rd, ri = ref.knn_points_idx(p1, p2, l1, l2, K, norm)
    torch.testing.assert_close(d, rd, rtol=1e-5, atol=1e-6)
    assert torch.equal(i, ri)


@settings(max_examples=60, deadline=None)
@given(clouds(), st.integers(1, 12), st.floats(0.01, 1.5))
def test_ball_query_equals_reference(data, K, radius):
    p1, p2, l1, l2 = data
    assert torch.equal(torch.ops.meshgraph.ball_query_idx(p1, p2, l1, l2, K, radius), ref.ball_query_idx(p1, p2, l1, l2, K, radius))


@settings(max_examples=60, deadline=None)
@given(clouds(), st.integers(0, 15), st.integers(0, 50))
def test_farthest_point_sampling_equals_reference(data, max_K, start_seed):
    _, p, _, lengths = data
    N = p.shape[0]
    g = torch.Generator().manual_seed(start_seed)
    K = torch.randint(0, max_K + 1, (N,), generator=g)
    start = torch.randint(0, max(p.shape[1], 1), (N,), generator=g)
    start = torch.minimum(start, (lengths - 1).clamp(min=0))
    args = (p, lengths, K, start, max_K)
    assert torch.equal(torch.ops.meshgraph.sample_farthest_points_idx(*args), ref.sample_farthest_points_idx(*args))
