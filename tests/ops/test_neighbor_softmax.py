"""neighbor_softmax / neighbor_softmax_backward: vs reference and torch_scatter's scatter_softmax, gradients,
opcheck, compile, bad input."""

import pytest
import torch
from torch_scatter.composite import scatter_softmax

import meshgraph as mg
from meshgraph.ops import build_adjacency, neighbor_softmax
from meshgraph.ops import reference as ref


def graph(V, E, seed, device):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, V, (2, E), generator=g).to(device)
    return ei, mg.GraphBatch([mg.Graph(num_verts=V, edge_index=ei)]).to(device)


@pytest.mark.parametrize("shape", [(), (4,)])
@pytest.mark.parametrize("V,E", [(1, 0), (5, 1), (30, 200), (300, 40)])
def test_matches_scatter_softmax_and_reference(device, shape, V, E):
    ei, b = graph(V, E, V + E, device)
    s = torch.randn(E, *shape, dtype=torch.float64, device=device) * 5
    out = neighbor_softmax(s, b)
    torch.testing.assert_close(out, scatter_softmax(s, ei[1], dim=0, dim_size=V))
    adj = b.adjacency()
    for ids in (None, adj.edge_id):  # scores in CSR order, or in edge order read through edge_id
        sc = s[adj.edge_id] if ids is None else s
        k = torch.ops.meshgraph.neighbor_softmax(sc, adj.rowptr, ids)
        torch.testing.assert_close(k, ref.neighbor_softmax(sc, adj.rowptr, ids))
        g = torch.randn_like(k)
        torch.testing.assert_close(
            torch.ops.meshgraph.neighbor_softmax_backward(g, k, adj.rowptr, ids), ref.neighbor_softmax_backward(g, k, adj.rowptr, ids)
        )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_low_precision_is_stable_for_large_scores(device, dtype):
    ei, b = graph(20, 150, 1, device)
    s = (torch.randn(150, 2, device=device) * 50).to(dtype)  # exp would overflow without the max shift
    out = neighbor_softmax(s, b)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), scatter_softmax(s.float(), ei[1], dim=0), atol=2e-2, rtol=2e-2)


def test_gradcheck_and_gradgradcheck(device):
    _, b = graph(12, 60, 2, device)
    s = torch.randn(60, 3, dtype=torch.float64, device=device, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: neighbor_softmax(a, b), (s,))
    assert torch.autograd.gradgradcheck(lambda a: neighbor_softmax(a, b), (s,))


def test_opcheck(device):
    ei, _ = graph(10, 50, 3, device)
    adj = build_adjacency(ei, 10)
    s = torch.randn(50, 2, dtype=torch.float64, device=device, requires_grad=True)
    torch.library.opcheck(torch.ops.meshgraph.neighbor_softmax, (s, adj.rowptr))
    torch.library.opcheck(torch.ops.meshgraph.neighbor_softmax, (s, adj.rowptr, adj.edge_id))
    y = torch.ops.meshgraph.neighbor_softmax(s.detach(), adj.rowptr, adj.edge_id)
    torch.library.opcheck(
        torch.ops.meshgraph.neighbor_softmax_backward,
        (torch.randn_like(y).requires_grad_(True), y.clone().requires_grad_(True), adj.rowptr, adj.edge_id),
    )


def test_compile_fullgraph(device):
    _, b = graph(10, 40, 4, device)
    s = torch.randn(40, 2, device=device)
    f = lambda a, g: neighbor_softmax(a, g) * 2  # noqa: E731
    expect = scatter_softmax(s, b.edge_index[1], dim=0, dim_size=10) * 2  # torch_scatter's, not our kernel
    torch.testing.assert_close(torch.compile(f, fullgraph=True)(s, b), expect)
    torch.testing.assert_close(f(s, b), expect)
    torch._dynamo.reset()


def test_vertex_count_of_a_bare_edge_tensor_is_read_once(monkeypatch):
    # Without num_verts the count is max + 1 of the edges: one device sync per edge tensor, cached on it (dropped
    # by an in-place change), so a training loop passing the same edge_index syncs once.
    ei, _ = graph(12, 60, 6, "cpu")
    s = torch.randn(60, 2, dtype=torch.float64)
    reads = []
    real_max = torch.Tensor.max
    monkeypatch.setattr(torch.Tensor, "max", lambda t, *a, **k: reads.append(1) or real_max(t, *a, **k))
    first = neighbor_softmax(s, ei)
    for _ in range(3):
        torch.testing.assert_close(neighbor_softmax(s, ei), first)
    n = len(reads)
    neighbor_softmax(s, ei)
    assert len(reads) == n  # cached: no more reads of the edges
    monkeypatch.undo()
    V = int(ei.max()) + 1
    torch.testing.assert_close(first, scatter_softmax(s, ei[1], dim=0, dim_size=V))
    ei[1, 0] = V  # one more vertex after an in-place change: re-read
    torch.testing.assert_close(neighbor_softmax(s, ei), scatter_softmax(s, ei[1], dim=0, dim_size=V + 1))


def test_bad_inputs():
    _, b = graph(10, 40, 5, "cpu")
    with pytest.raises(ValueError, match="scores"):
        neighbor_softmax(torch.randn(39), b)
    with pytest.raises(TypeError, match="scores"):
        neighbor_softmax(torch.ones(40, dtype=torch.int64), b)
    with pytest.raises(ValueError, match="scores"):
        neighbor_softmax(torch.randn(40, 2, 2), b)
