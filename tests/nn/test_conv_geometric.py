"""Geometric / point-cloud convs (meshgraph.nn.conv_geometric) against PyG's own layers with equal weights: state
dicts load both ways; outputs and gradients (features, positions, normals, pseudo-coordinates, every parameter)
agree in float32 and float64; bipartite and batched inputs; empty graphs, graphs without edges and isolated
nodes; bad input gets errors naming the layer / argument and width.

PyG 2.8's GravNetConv and XConv need pyg-lib's `torch.ops.pyg.knn`, absent here: the tests register a brute-force
`pyg::knn` (cdist + sorted topk per graph, nearest first, as pyg-lib returns) so PyG's own layers run as the
reference; meshgraph's layers use meshgraph's knn, so the neighbour search is compared too."""

import pytest
import torch

import meshgraph.compat.pyg.nn as compat
import meshgraph.compat.pyg.nn.conv as compat_conv
import meshgraph.nn as ours

pyg = pytest.importorskip("torch_geometric.nn")
import torch_geometric.typing  # noqa: E402


def _brute_knn(x, y, ptr_x, ptr_y, k, cosine, num_workers):
    """pyg-lib's knn: (2, E), row 0 the query (y) index, row 1 the neighbour (x) index, nearest first."""
    if ptr_x is None:
        ptr_x = torch.tensor([0, x.size(0)])
    if ptr_y is None:
        ptr_y = torch.tensor([0, y.size(0)])
    rows, cols = [], []
    if ptr_x.numel() < ptr_y.numel():  # trailing graphs without source points
        ptr_x = torch.cat([ptr_x, ptr_x[-1:].expand(ptr_y.numel() - ptr_x.numel())])
    for g in range(ptr_y.numel() - 1):
        ys, ye, xs, xe = int(ptr_y[g]), int(ptr_y[g + 1]), int(ptr_x[g]), int(ptr_x[g + 1])
        if ye == ys or xe == xs:
            continue
        d = torch.cdist(y[ys:ye].double(), x[xs:xe].double())
        kk = min(k, xe - xs)
        idx = d.topk(kk, dim=1, largest=False, sorted=True).indices
        rows.append(torch.arange(ys, ye).repeat_interleave(kk))
        cols.append(idx.reshape(-1) + xs)
    if not rows:
        return torch.empty(2, 0, dtype=torch.long)
    return torch.stack([torch.cat(rows), torch.cat(cols)])


if not hasattr(torch.ops.pyg, "knn"):
    _LIB = torch.library.Library("pyg", "FRAGMENT")
    _LIB.define("knn(Tensor x, Tensor y, Tensor? ptr_x, Tensor? ptr_y, int k, bool cosine, int num_workers) -> Tensor")
    _LIB.impl("knn", _brute_knn, "CompositeExplicitAutograd")


@pytest.fixture(autouse=True)
def _with_knn(monkeypatch):
    monkeypatch.setattr(torch_geometric.typing, "WITH_KNN", True)


def mlp(i, o):
    return torch.nn.Sequential(torch.nn.Linear(i, 8), torch.nn.ReLU(), torch.nn.Linear(8, o))


# name -> constructor on a namespace; forward kind
LAYERS = {
    "PointTransformerConv": (lambda m: m.PointTransformerConv(6, 5), "xpos"),
    "PointTransformerConv-nns-noloops": (lambda m: m.PointTransformerConv(
        6, 5, pos_nn=mlp(3, 5), attn_nn=mlp(5, 5), add_self_loops=False), "xpos"),
    "PPFConv": (lambda m: m.PPFConv(mlp(6 + 4, 7), mlp(7, 5)), "ppf"),
    "PPFConv-nolocal-noloops": (lambda m: m.PPFConv(None, None, add_self_loops=False), "ppf"),
    "FeaStConv": (lambda m: m.FeaStConv(6, 5, heads=3), "x"),
    "FeaStConv-nobias-noloops": (lambda m: m.FeaStConv(6, 5, heads=2, add_self_loops=False, bias=False), "x"),
    "GMMConv": (lambda m: m.GMMConv(6, 5, dim=3, kernel_size=4), "xattr"),
    "GMMConv-separate-sum": (lambda m: m.GMMConv(6, 5, dim=3, kernel_size=2, separate_gaussians=True, aggr="add"),
                             "xattr"),
    "GravNetConv": (lambda m: m.GravNetConv(6, 5, space_dimensions=3, propagate_dimensions=4, k=4), "batch"),
    "XConv": (lambda m: m.XConv(6, 5, dim=3, kernel_size=3, hidden_channels=2), "xconv"),
    "XConv-dilation": (lambda m: m.XConv(8, 12, dim=3, kernel_size=2, dilation=2), "xconv"),
}


def data(V=20, E=70, seed=0, dtype=torch.float32, C=6):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, V, (2, E), generator=g)
    ei = torch.cat([ei, torch.tensor([[0, 3, 3], [0, 3, 3]])], dim=1)  # loops already present (node 3 twice)
    return dict(
        x=torch.randn(V, C, generator=g, dtype=dtype),
        pos=torch.randn(V, 3, generator=g, dtype=dtype),
        normal=torch.nn.functional.normalize(torch.randn(V, 3, generator=g, dtype=dtype), dim=1),
        edge_attr=torch.rand(ei.shape[1], 3, generator=g, dtype=dtype),
        edge_index=ei,
        batch=torch.tensor([0] * (V // 2) + [1] * (V - V // 2)),
    )


def call(layer, kind, d):
    if kind == "xpos":
        return layer(d["x"], d["pos"], d["edge_index"])
    if kind == "ppf":
        return layer(d["x"], d["pos"], d["normal"], d["edge_index"])
    if kind == "x":
        return layer(d["x"], d["edge_index"])
    if kind == "xattr":
        return layer(d["x"], d["edge_index"], d["edge_attr"])
    if kind == "batch":
        return layer(d["x"], d["batch"])
    if kind == "xconv":
        return layer(d["x"], d["pos"], d["batch"])
    raise AssertionError(kind)


def pair(name, dtype):
    make = LAYERS[name][0]
    torch.manual_seed(1)
    theirs = make(pyg).to(dtype)
    mine = make(ours).to(dtype)
    mine.load_state_dict(theirs.state_dict())
    back = make(pyg).to(dtype)
    back.load_state_dict(mine.state_dict())
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for (k, a), (k2, b) in zip(theirs.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    return mine, theirs


def grads_of(layer, kind, d):
    d = {k: (v.clone().requires_grad_(True) if v.is_floating_point() else v) for k, v in d.items()}
    out = call(layer, kind, d)
    w = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    (out * w).sum().backward()
    g = {k: v.grad for k, v in d.items() if v.is_floating_point()}
    g.update({k: p.grad for k, p in layer.named_parameters()})
    return out, g


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("name", list(LAYERS))
def test_matches_pyg(name, dtype, train):
    kind = LAYERS[name][1]
    mine, theirs = pair(name, dtype)
    mine.train(train)
    theirs.train(train)
    d = data(dtype=dtype, C=8 if name == "XConv-dilation" else 6)
    out_m, g_m = grads_of(mine, kind, d)
    out_t, g_t = grads_of(theirs, kind, d)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-11)
    assert out_m.shape == out_t.shape
    torch.testing.assert_close(out_m, out_t, **tol)
    assert g_m.keys() == g_t.keys()
    for k in g_t:
        if g_t[k] is None:
            assert g_m[k] is None or not g_m[k].abs().any(), k
        else:
            assert g_m[k] is not None, k
            torch.testing.assert_close(g_m[k], g_t[k], **tol, msg=lambda s: f"{name} grad {k}: {s}")
    if train and name.startswith("XConv"):  # batch-norm running stats updated the same way
        for (k, a), (_, b) in zip(mine.state_dict().items(), theirs.state_dict().items()):
            torch.testing.assert_close(a, b, **tol, msg=lambda s: f"{name} buffer {k}: {s}")


def test_bipartite_matches_pyg():
    g = torch.Generator().manual_seed(3)
    xs, xd = torch.randn(9, 6, generator=g), torch.randn(5, 4, generator=g)
    ps, pd = torch.randn(9, 3, generator=g), torch.randn(5, 3, generator=g)
    ns, nd = [torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1) for n in (9, 5)]
    ei = torch.stack([torch.randint(0, 9, (30,), generator=g), torch.randint(0, 5, (30,), generator=g)])
    ea = torch.rand(30, 2, generator=g)
    cases = [
        (lambda m: m.PointTransformerConv((6, 4), 5), lambda l: l((xs, xd), (ps, pd), ei)),
        (lambda m: m.PPFConv(mlp(10, 5)), lambda l: l((xs, None), (ps, pd), (ns, nd), ei)),
        (lambda m: m.FeaStConv(6, 5, heads=2, add_self_loops=False), lambda l: l((xs, xs[:5]), ei)),
        (lambda m: m.GMMConv((6, 4), 5, dim=2, kernel_size=3), lambda l: l((xs, xd), ei, ea)),
        (lambda m: m.GMMConv((6, 4), 5, dim=2, kernel_size=3), lambda l: l((xs, xd), ei, ea, size=(9, 5))),
        (lambda m: m.GravNetConv(6, 5, 2, 3, k=3), lambda l: l((xs, xs[:5]), (torch.tensor([0] * 4 + [1] * 5),
                                                                              torch.tensor([0, 0, 1, 1, 1])))),
    ]
    for make, run in cases:
        torch.manual_seed(0)
        theirs = make(pyg)
        mine = make(ours)
        mine.load_state_dict(theirs.state_dict())
        torch.testing.assert_close(run(mine), run(theirs))


def test_lazy_gmm_loads_pyg():
    theirs = pyg.GMMConv(-1, 4, dim=2, kernel_size=3)
    mine = ours.GMMConv(-1, 4, dim=2, kernel_size=3)
    x, ei, ea = torch.randn(6, 5), torch.tensor([[0, 1, 2, 5], [1, 2, 0, 4]]), torch.rand(4, 2)
    theirs(x, ei, ea)
    mine(x, ei, ea)
    assert mine.g.shape == theirs.g.shape == (5, 12)
    mine.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(mine(x, ei, ea), theirs(x, ei, ea))


def test_gmm_without_root():  # PyG 2.8 never sets `root` then (AttributeError in its forward); ours skips it
    layer = ours.GMMConv(4, 3, dim=2, kernel_size=2, root_weight=False, bias=False)
    x, ei, ea = torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]]), torch.rand(2, 2)
    out = layer(x, ei, ea)
    assert out[0].abs().sum() == 0 and out[1].abs().sum() > 0  # node 0 receives nothing


@pytest.mark.parametrize("name", [n for n in LAYERS if LAYERS[n][1] not in ("batch", "xconv")])
def test_empty_and_edgeless(name):
    kind = LAYERS[name][1]
    mine, theirs = pair(name, torch.float32)
    # no nodes at all
    width = call(theirs, kind, data()).shape[1]
    d = {k: (v[:0] if k != "edge_index" else v[:, :0]) for k, v in data().items()}
    assert call(mine, kind, d).shape == (0, width)  # (PyG's FeaStConv fails here: view(0, heads, -1))
    # nodes, no edges; then isolated nodes (node 5.. receive nothing)
    for ei in (torch.empty(2, 0, dtype=torch.long), torch.tensor([[0, 1, 2], [1, 2, 0]])):
        d = data(V=8, E=0)
        d["edge_index"] = ei
        d["edge_attr"] = torch.rand(ei.shape[1], 3)
        got = call(mine, kind, d)
        if name == "FeaStConv-nobias-noloops" and ei.numel() == 0:  # PyG's view(0, heads, -1) fails: no messages
            torch.testing.assert_close(got, torch.zeros(8, 5))
            continue
        torch.testing.assert_close(got, call(theirs, kind, d))
        if ei.numel():  # isolated nodes 3..7 equal the no-edge output wherever nothing arrives (no loops added)
            assert got.shape[0] == 8


def test_knn_layers_empty_and_small_graphs():
    torch.manual_seed(0)
    theirs = pyg.GravNetConv(6, 5, 3, 4, k=4)
    mine = ours.GravNetConv(6, 5, 3, 4, k=4)
    mine.load_state_dict(theirs.state_dict())
    assert mine(torch.empty(0, 6)).shape == (0, 5)
    # a graph of two points (fewer than k) and one of a single point: fewer neighbours, as pyg-lib gives
    x, b = torch.randn(3, 6), torch.tensor([0, 0, 1])
    torch.testing.assert_close(mine(x, b), theirs(x, b))
    # bipartite: the second graph has no source points -> isolated destination
    xs, xd = torch.randn(3, 6), torch.randn(3, 6)
    bs, bd = torch.tensor([0, 0, 0]), torch.tensor([0, 1, 1])
    out = mine((xs, xd), (bs, bd))
    torch.testing.assert_close(out, theirs((xs, xd), (bs, bd)))
    xc = ours.XConv(4, 3, dim=3, kernel_size=2)
    assert xc(torch.empty(0, 4), torch.empty(0, 3)).shape == (0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        xc(torch.randn(3, 4), torch.randn(3, 3), torch.tensor([0, 0, 1]))


def test_bad_input():
    x, pos, ei = torch.randn(5, 6), torch.randn(5, 3), torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match=r"PointTransformerConv.*6 channels"):
        ours.PointTransformerConv(6, 4)(torch.randn(5, 7), pos, ei)
    with pytest.raises(ValueError, match=r"PPFConv.*normal.*\(N, 3\)"):
        ours.PPFConv()(x, pos, torch.randn(5, 2), ei)
    with pytest.raises(ValueError, match=r"PPFConv.*pos.*\(N, 3\)"):
        ours.PPFConv()(x, torch.randn(5, 4), torch.randn(5, 3), ei)
    with pytest.raises(ValueError, match=r"FeaStConv.*6 channels"):
        ours.FeaStConv(6, 4)(torch.randn(5, 3), ei)
    with pytest.raises(ValueError, match=r"GMMConv.*edge_attr.*\(E, 2\)"):
        ours.GMMConv(6, 4, dim=2, kernel_size=3)(x, ei, torch.rand(2, 3))
    with pytest.raises(ValueError, match=r"GMMConv needs edge_attr"):
        ours.GMMConv(6, 4, dim=2, kernel_size=3)(x, ei)
    with pytest.raises(ValueError, match=r"GMMConv.*6 channels"):
        ours.GMMConv(6, 4, dim=2, kernel_size=3)(torch.randn(5, 2), ei, torch.rand(2, 2))
    with pytest.raises(ValueError, match=r"GravNetConv.*6 channels"):
        ours.GravNetConv(6, 4, 2, 2, k=2)(torch.randn(5, 3))
    with pytest.raises(ValueError, match="Static graphs"):
        ours.GravNetConv(6, 4, 2, 2, k=2)(torch.randn(2, 5, 6))
    with pytest.raises(ValueError, match=r"XConv.*pos.*\(N, 3\)"):
        ours.XConv(6, 4, dim=3, kernel_size=2)(x, torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"XConv.*6 channels"):
        ours.XConv(6, 4, dim=3, kernel_size=2)(torch.randn(5, 5), pos)
    with pytest.raises(ValueError, match="hidden_channels"):
        ours.XConv(3, 4, dim=3, kernel_size=2)
    with pytest.raises(TypeError, match="FeaStConv: x"):
        ours.FeaStConv(6, 4)("x", ei)


def test_compat_names():
    import importlib

    for mod, names in {"point_transformer_conv": ["PointTransformerConv"],
                       "ppf_conv": ["PPFConv", "get_angle", "point_pair_features"], "feast_conv": ["FeaStConv"],
                       "gmm_conv": ["GMMConv"], "gravnet_conv": ["GravNetConv"], "x_conv": ["XConv"]}.items():
        m = importlib.import_module(f"meshgraph.compat.pyg.nn.conv.{mod}")
        for n in names:
            assert getattr(m, n) is getattr(ours.conv_geometric, n)
        assert getattr(compat, names[0]) is getattr(compat_conv, names[0]) is getattr(ours, names[0])


def test_pyg_knn_suites_on_ours():
    """PyG's test_gravnet_conv / test_x_conv (skipped by PyG without pyg_lib), run on meshgraph's layers and
    compared with PyG's on the brute-force knn."""
    x1, x2 = torch.randn(8, 16), torch.randn(4, 16)
    batch1, batch2 = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]), torch.tensor([0, 0, 1, 1])
    conv = compat.GravNetConv(16, 32, space_dimensions=4, propagate_dimensions=8, k=2)
    theirs = pyg.GravNetConv(16, 32, space_dimensions=4, propagate_dimensions=8, k=2)
    theirs.load_state_dict(conv.state_dict())
    assert str(conv) == "GravNetConv(16, 32, k=2)"
    for args, n in (((x1,), 8), ((x1, batch1), 8), (((x1, x2),), 4), (((x1, x2), (batch1, batch2)), 4)):
        out = conv(*args)
        assert out.size() == (n, 32)
        torch.testing.assert_close(out, theirs(*args))
    x, pos = torch.randn(8, 16), torch.rand(8, 3)
    conv = compat.XConv(16, 32, dim=3, kernel_size=2, dilation=2)
    theirs = pyg.XConv(16, 32, dim=3, kernel_size=2, dilation=2)
    theirs.load_state_dict(conv.state_dict())
    assert str(conv) == "XConv(16, 32)"
    for args in ((x, pos), (x, pos, batch1)):
        out = conv(*args)
        assert out.size() == (8, 32)
        torch.testing.assert_close(out, theirs(*args))


def test_gravnet_fused_equals_propagate(monkeypatch):
    """GravNetConv aggregates on the fused kernel (no per-edge messages); a hook on the messages takes PyG's
    propagate path, with the same outputs and gradients."""
    import meshgraph.nn.conv_geometric as cg

    calls = []
    real = cg._fused_aggregate
    monkeypatch.setattr(cg, "_fused_aggregate", lambda *a: calls.append(a[3]) or real(*a))
    x, b = torch.randn(12, 6, dtype=torch.float64), torch.tensor([0] * 5 + [1] * 7)
    conv = ours.GravNetConv(6, 5, 3, 4, k=4).double()
    xa = x.clone().requires_grad_(True)
    out = conv(xa, b)
    out.pow(2).sum().backward()
    assert calls == ["mean", "max"]
    seen = []
    conv.register_message_forward_hook(lambda m, inp, o: seen.append(o.shape))
    xb = x.clone().requires_grad_(True)
    out2 = conv(xb, b)
    out2.pow(2).sum().backward()
    assert seen == [(48, 4)] and calls == ["mean", "max"]
    torch.testing.assert_close(out, out2)
    torch.testing.assert_close(xa.grad, xb.grad)


@pytest.mark.parametrize("name", ["FeaStConv", "FeaStConv-nobias-noloops", "GMMConv"])
def test_fused_equals_propagate(name, monkeypatch):
    """FeaStConv / GMMConv (sum / mean) aggregate per head on the multi-head kernel; a message hook takes the
    propagate path; outputs and gradients agree."""
    import meshgraph.nn.conv_geometric as cg

    calls = []
    real = cg._fused_aggregate
    monkeypatch.setattr(cg, "_fused_aggregate", lambda *a: calls.append(a[3]) or real(*a))
    kind = LAYERS[name][1]
    torch.manual_seed(0)
    layer = LAYERS[name][0](ours).double()
    d = data(dtype=torch.float64)
    out1, g1 = grads_of(layer, kind, d)
    assert calls == ["mean"]
    layer.zero_grad()
    seen = []
    layer.register_message_forward_hook(lambda m, inp, o: seen.append(o.shape))
    out2, g2 = grads_of(layer, kind, d)
    assert len(seen) == 1 and calls == ["mean"]
    torch.testing.assert_close(out1, out2)
    for k in g1:
        torch.testing.assert_close(g1[k], g2[k], msg=lambda s: f"{k}: {s}")
