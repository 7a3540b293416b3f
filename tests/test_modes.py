"""Every layer and op is right in every mode (issue 17): inference_mode / no_grad, several threads sharing caches,
torch.compile(fullgraph=True) and torch.export of whole models, state_dict save / load(weights_only=True),
deepcopy / pickling of the containers, and long fwd+bwd loops with flat memory."""

from __future__ import annotations

import copy
import io
import pickle
import threading

import pytest
import torch

import meshgraph as mg
from meshgraph.nn import EdgeConv, GATConv, GCNConv, GINConv, GraphConv, GraphToImage, PointNetConv, SAGEConv
from meshgraph.render import FoVPerspectiveCameras, look_at_view_transform


def _graph(V=40, E=160, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (2, E), generator=g), torch.randn(V, 8, generator=g)


def _mlp(i, o):
    return torch.nn.Sequential(torch.nn.Linear(i, 16), torch.nn.ReLU(), torch.nn.Linear(16, o))


def _layers():
    """(name, module, call(module, x, edge_index, pos)) for every layer family."""
    torch.manual_seed(0)
    return [
        ("GCNConv", GCNConv(8, 6), lambda m, x, ei, pos: m(x, ei)),
        ("GATConv", GATConv(8, 3, heads=2), lambda m, x, ei, pos: m(x, ei)),
        ("SAGEConv", SAGEConv(8, 6), lambda m, x, ei, pos: m(x, ei)),
        ("GINConv", GINConv(_mlp(8, 6)), lambda m, x, ei, pos: m(x, ei)),
        ("GraphConv", GraphConv(8, 6), lambda m, x, ei, pos: m(x, ei)),
        ("EdgeConv", EdgeConv(_mlp(16, 6)), lambda m, x, ei, pos: m(x, ei)),
        ("PointNetConv", PointNetConv(_mlp(11, 6), None), lambda m, x, ei, pos: m(x, pos, ei)),
    ]


def _ops():
    """(name, call(x, pos, ei)) for the tensor-level ops (differentiable w.r.t. x / pos)."""
    from meshgraph.ops import ball_query, gather_scatter, knn_points, neighbor_softmax, packed_to_padded

    def knn(x, pos, ei):
        d = knn_points(pos[None], pos[None] + 0.01, K=4).dists
        return d.sum() + x.sum()

    def ball(x, pos, ei):
        return ball_query(pos[None], pos[None], K=4, radius=0.5).dists.sum() + x.sum()

    def softmax(x, pos, ei):
        return neighbor_softmax(x[ei[0], :2].contiguous(), ei, num_verts=x.shape[0])

    return [
        ("gather_scatter", lambda x, pos, ei: gather_scatter(x, ei, reduce="mean")),
        ("gather_scatter_max", lambda x, pos, ei: gather_scatter(x, ei, reduce="max")),
        ("knn_points", knn),
        ("ball_query", ball),
        ("neighbor_softmax", softmax),
        ("packed_to_padded", lambda x, pos, ei: packed_to_padded(x, torch.tensor([0, x.shape[0] // 2]), x.shape[0] - x.shape[0] // 2)),
    ]


def _pos(V=40, seed=1):
    return torch.rand(V, 3, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("i", range(7))
def test_layers_in_inference_mode_and_no_grad_match_eager(i):
    name, m, call = _layers()[i]
    ei, x = _graph()
    pos = _pos()
    m.eval()
    expect = call(m, x, ei, pos)
    with torch.no_grad():
        torch.testing.assert_close(call(m, x, ei, pos), expect, msg=name)
    with torch.inference_mode():
        torch.testing.assert_close(call(m, x, ei, pos), expect, msg=name)
        inf_ei, inf_x = ei.clone(), x.clone()  # inference tensors as inputs
        torch.testing.assert_close(call(m, inf_x, inf_ei, pos), expect, msg=name)
    # after inference mode, training through the same edge tensor still works (its cached adjacency is normal)
    m.train()
    xr = x.clone().requires_grad_(True)
    call(m, xr, ei, pos).sum().backward()
    assert xr.grad is not None and torch.isfinite(xr.grad).all(), name


@pytest.mark.parametrize("i", range(6))
def test_ops_in_inference_mode_and_no_grad_match_eager(i):
    name, call = _ops()[i]
    ei, x = _graph()
    pos = _pos()
    expect = call(x, pos, ei)
    with torch.no_grad():
        torch.testing.assert_close(call(x, pos, ei), expect, msg=name)
    with torch.inference_mode():
        torch.testing.assert_close(call(x, pos, ei), expect, msg=name)
    xr, pr = x.clone().requires_grad_(True), pos.clone().requires_grad_(True)
    call(xr, pr, ei).sum().backward()
    assert xr.grad is not None and torch.isfinite(xr.grad).all(), name


def test_threads_share_layers_graphs_and_edge_tensors():
    ei, x = _graph(60, 300)
    batch = mg.GraphBatch([mg.Graph(num_verts=60, edge_index=ei)])
    layers = [(name, m.eval(), call) for name, m, call in _layers()]
    pos = _pos(60)
    with torch.no_grad():
        expect = {name: call(m, x, ei, pos) for name, m, call in layers}
    errors = []

    def work(t):
        try:
            for step in range(5):
                with torch.no_grad():
                    for name, m, call in layers:
                        graph = batch if (t + step) % 2 and name not in ("PointNetConv",) else ei
                        torch.testing.assert_close(call(m, x, graph, pos), expect[name], msg=name)
        except Exception as exc:  # noqa: BLE001 - collected and reported
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


class GCN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = GCNConv(8, 16), GCNConv(16, 4)

    def forward(self, x, edge_index):
        return self.c2(self.c1(x, edge_index).relu(), edge_index)


class GAT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = GATConv(8, 4, heads=2), GATConv(8, 4, heads=1)

    def forward(self, x, edge_index):
        return self.c2(self.c1(x, edge_index).relu(), edge_index)


class PointModel(torch.nn.Module):
    """A point-cloud network: knn neighbourhoods, an MLP on relative positions, max over neighbours, pooling."""

    def __init__(self):
        super().__init__()
        self.mlp = _mlp(3, 8)

    def forward(self, pos):
        knn = mg.ops.knn_points(pos[None], pos[None], K=6, return_nn=True)
        rel = knn.knn[0] - pos[:, None]
        return self.mlp(rel).amax(1).mean(0)


class Render(torch.nn.Module):
    def __init__(self):
        super().__init__()
        R, T = look_at_view_transform(2.5, 10.0, 30.0)
        self.cam = FoVPerspectiveCameras(R=R, T=T)
        self.layer = GraphToImage(16, radius=0.08, points_per_pixel=4)

    def forward(self, batch, feats):
        return self.layer(batch, self.cam, feature=feats)


def _models():
    ei, x = _graph()
    torch.manual_seed(0)
    pts = torch.rand(80, 3) - 0.5
    batch = mg.GraphBatch.from_pointclouds([pts])
    return [
        ("GCN", GCN().eval(), (x, ei)),
        ("GAT", GAT().eval(), (x, ei)),
        ("PointModel", PointModel().eval(), (_pos(50),)),
        ("GraphToImage", Render().eval(), (batch, torch.rand(80, 3))),
    ]


@pytest.mark.parametrize("i", range(4))
def test_models_compile_fullgraph_and_export_match_eager(i):
    name, model, args = _models()[i]
    expect = model(*args)
    compiled = torch.compile(model, fullgraph=True)
    torch.testing.assert_close(compiled(*args), expect, msg=name)
    torch._dynamo.reset()
    ep = torch.export.export(model, args)
    torch.testing.assert_close(ep.module()(*args), expect, msg=name)


@pytest.mark.parametrize("i", range(7))
def test_state_dict_saves_and_loads_weights_only(i, tmp_path):
    name, m, call = _layers()[i]
    ei, x = _graph()
    pos = _pos()
    m.eval()
    expect = call(m, x, ei, pos)
    torch.save(m.state_dict(), tmp_path / "m.pt")
    fresh = _layers()[i][1].eval()
    for p in fresh.parameters():
        torch.nn.init.normal_(p)
    fresh.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    torch.testing.assert_close(call(fresh, x, ei, pos), expect, msg=name)
    torch.testing.assert_close(call(copy.deepcopy(m), x, ei, pos), expect, msg=name)
    buf = io.BytesIO()
    torch.save(m, buf)  # whole-module pickling (torch.load(weights_only=False) of a trusted file)
    buf.seek(0)
    torch.testing.assert_close(call(torch.load(buf, weights_only=False), x, ei, pos), expect, msg=name)


def test_graphs_and_batches_deepcopy_and_pickle():
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    b = mg.GraphBatch([
        mg.Graph(torch.randn(4, 3), faces, vertex_features={"f": torch.randn(4, 2)}),
        mg.Graph(num_verts=3, edge_index=torch.tensor([[0, 1], [1, 2]]), edge_features={"w": torch.rand(2)}),
    ])
    b.adjacency(self_loops=True)  # populated caches travel too (or are rebuilt) without changing results
    x = torch.randn(b.num_verts, 5)
    expect = mg.ops.gather_scatter(x, b)
    for other in (copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert isinstance(other, mg.GraphBatch) and other.num_graphs == 2
        torch.testing.assert_close(other.packed("f"), b.packed("f"))
        torch.testing.assert_close(other.edge_packed("w"), b.edge_packed("w"))
        torch.testing.assert_close(mg.ops.gather_scatter(x, other), expect)
    g = b.graphs()[0]
    for other in (copy.deepcopy(g), pickle.loads(pickle.dumps(g))):
        assert torch.equal(other.faces, g.faces) and torch.equal(other.pos, g.pos)


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def test_long_training_loops_keep_memory_flat():
    ei, x0 = _graph(24, 72)  # small: the loop measures what each step leaves behind, not speed
    pos0 = _pos(24)
    layers = _layers()
    ops = _ops()
    params = [p for _, m, _ in layers for p in m.parameters()]
    opt = torch.optim.SGD(params, lr=1e-4)

    def step():
        x = x0.clone().requires_grad_(True)
        pos = pos0.clone().requires_grad_(True)
        loss = sum(call(m, x, ei, pos).square().mean() for _, m, call in layers)
        loss = loss + sum(call(x, pos, ei).square().mean() for _, call in ops)
        opt.zero_grad()
        loss.backward()
        opt.step()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is faster and the RSS reading is not about threads
    try:
        for _ in range(150):  # warm-up: allocator pools and caches reach their steady state
            step()
        before = _rss_kb()
        for _ in range(850):
            step()
        grown_mb = (_rss_kb() - before) / 1024
    finally:
        torch.set_num_threads(threads)
    assert grown_mb < 24, f"RSS grew by {grown_mb:.1f} MB over 850 steps of every layer and op"
