"""meshgraph.compat.pyg.nn against torch_geometric itself: every layer loads a PyG layer's state dict and gives the
same outputs and gradients, for every edge form (edge_index, torch.sparse CSR / COO adj_t, a SparseTensor-like
adj_t, GraphBatch); MessagePassing subclasses behave as on PyG's base class; knn / radius / fps / knn_interpolate
match brute force and PyG's formulas."""

import copy

import pytest
import torch

import meshgraph as mg
import meshgraph.compat.pyg.nn as ours

pyg = pytest.importorskip("torch_geometric.nn")


class DuckSparse:
    """A SparseTensor-like adj_t (rows = destinations): only csr() and sparse_sizes(), as meshgraph duck-types."""

    def __init__(self, edge_index, value, num_src, num_dst):
        order = torch.argsort(edge_index[1] * num_src + edge_index[0])
        dst, src = edge_index[1][order], edge_index[0][order]
        self._rowptr = torch.zeros(num_dst + 1, dtype=torch.int64)
        torch.cumsum(torch.bincount(dst, minlength=num_dst), 0, out=self._rowptr[1:])
        self._col, self._value, self._sizes = src, None if value is None else value[order], (num_dst, num_src)

    def csr(self):
        return self._rowptr, self._col, self._value

    def sparse_sizes(self):
        return self._sizes


def graph(V=12, E=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, V, (2, E), generator=g)
    ei = torch.cat([ei, torch.tensor([[0, 5], [0, 5]])], dim=1)  # explicit self loops
    ei = torch.unique(ei, dim=1)  # sparse inputs coalesce duplicates; keep all forms the same graph
    return ei, torch.randn(V, 6, generator=g, dtype=torch.float64), torch.rand(ei.shape[1], generator=g, dtype=torch.float64)


def forms(ei, value, num_src, num_dst):
    """The same graph as edge_index, torch.sparse CSR / COO adj_t and a SparseTensor-like adj_t."""
    coo = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), torch.ones(ei.shape[1], dtype=torch.float64) if value is None else value,
                                  (num_dst, num_src)).coalesce()
    return {"edge_index": ei, "csr": coo.to_sparse_csr(), "coo": coo, "duck": DuckSparse(ei, value, num_src, num_dst)}


def check(mine, theirs, *inputs, theirs_inputs=None, **kwargs):
    """Load theirs' state dict into mine; equal outputs, input gradients and parameter gradients."""
    mine.load_state_dict(theirs.state_dict())
    mine.train(theirs.training)

    def leaves(args):
        out = []
        for a in args:
            if isinstance(a, torch.Tensor) and a.is_floating_point() and a.layout == torch.strided:
                a = a.detach().clone().requires_grad_(True)
            elif isinstance(a, tuple):
                a = tuple(t.detach().clone().requires_grad_(True) if isinstance(t, torch.Tensor) else t for t in a)
            out.append(a)
        return out

    a_in, b_in = leaves(inputs), leaves(theirs_inputs if theirs_inputs is not None else inputs)
    a, b = mine(*a_in, **kwargs), theirs(*b_in, **kwargs)
    torch.testing.assert_close(a, b)
    g = torch.randn_like(b)
    (a * g).sum().backward()
    (b * g).sum().backward()
    flat = lambda xs: [t for x in xs for t in (x if isinstance(x, tuple) else (x,)) if isinstance(t, torch.Tensor) and t.requires_grad]
    for ta, tb in zip(flat(a_in), flat(b_in)):
        torch.testing.assert_close(ta.grad, tb.grad)
    pb = dict(theirs.named_parameters())
    for name, p in mine.named_parameters():
        if pb[name].grad is None:
            assert p.grad is None or not p.grad.any(), name
        else:
            torch.testing.assert_close(p.grad, pb[name].grad, msg=name)
    return a


@pytest.mark.parametrize("form", ["edge_index", "csr", "coo", "duck"])
@pytest.mark.parametrize("kw", [{}, dict(improved=True), dict(normalize=False, add_self_loops=False),
                                dict(add_self_loops=False)])
@pytest.mark.parametrize("weighted", [False, True])
def test_gcn(form, kw, weighted):
    ei, x, w = graph()
    e = forms(ei, w if weighted else None, 12, 12)
    torch.manual_seed(0)
    theirs = pyg.GCNConv(6, 4, **kw).double()
    if form == "duck":  # PyG needs torch_sparse for SparseTensor: compare with the loops PyG's fill_diag sets
        ref_ei, ref_w = ei, (w if weighted else torch.ones(ei.shape[1], dtype=torch.float64))
        if kw.get("normalize", True) and kw.get("add_self_loops", True):
            keep = ref_ei[0] != ref_ei[1]
            ref_ei, ref_w = ref_ei[:, keep], ref_w[keep]
            loops = torch.arange(12)
            ref_ei = torch.cat([ref_ei, torch.stack([loops, loops])], 1)
            ref_w = torch.cat([ref_w, torch.full((12,), 2.0 if kw.get("improved") else 1.0, dtype=torch.float64)])
        theirs.add_self_loops = False
        check(ours.GCNConv(6, 4, **kw).double(), theirs, x, e[form], theirs_inputs=(x, ref_ei, ref_w))
        return
    args = (x, e[form], w) if weighted and form == "edge_index" else (x, e[form])
    check(ours.GCNConv(6, 4, **kw).double(), theirs, *args)


def test_gcn_cached_graphbatch_lazy_and_flow():
    ei, x, w = graph()
    theirs = pyg.GCNConv(6, 4, cached=True).double()
    mine = ours.GCNConv(-1, 4, cached=True).double()  # lazy: takes its width from the state dict
    check(mine, theirs, x, ei, w)
    assert mine._cached_edge_index is not None
    torch.testing.assert_close(mine(x, ei[:, :3]), theirs(x, ei[:, :3]))  # both reuse the cached graph
    b = mg.GraphBatch([mg.Graph(num_verts=12, edge_index=ei)])
    check(ours.GCNConv(6, 4).double(), pyg.GCNConv(6, 4).double(), x, b, theirs_inputs=(x, ei))
    t2s = dict(flow="target_to_source")
    check(ours.GCNConv(6, 4, **t2s).double(), pyg.GCNConv(6, 4, **t2s).double(), x, ei.flip(0))
    check(ours.GCNConv(6, 4, decomposed_layers=2).double(), pyg.GCNConv(6, 4, decomposed_layers=2).double(), x, ei, w)
    lazy = ours.GCNConv(-1, 4).double()
    assert lazy(x, ei).shape == (12, 4) and lazy.lin.weight.shape == (4, 6)


@pytest.mark.parametrize("form", ["edge_index", "csr", "coo"])
@pytest.mark.parametrize("kw", [dict(heads=3), dict(heads=2, concat=False), dict(heads=2, residual=True),
                                dict(heads=2, add_self_loops=False)])
def test_gat(form, kw):
    ei, x, _ = graph()
    e = forms(ei, None, 12, 12)
    check(ours.GATConv(6, 4, **kw).double(), pyg.GATConv(6, 4, **kw).double(), x, e[form])
    mine, theirs = ours.GATConv(6, 4, **kw).double(), pyg.GATConv(6, 4, **kw).double()
    mine.load_state_dict(theirs.state_dict())
    out_a, (idx_a, alpha_a) = mine(x, e[form], return_attention_weights=True)
    out_b, (idx_b, alpha_b) = theirs(x, e[form], return_attention_weights=True)
    torch.testing.assert_close(out_a, out_b)
    torch.testing.assert_close(alpha_a, alpha_b)
    if form == "edge_index":
        assert torch.equal(idx_a, idx_b)
    else:
        torch.testing.assert_close(idx_a.to_dense(), idx_b.to_dense())


@pytest.mark.parametrize("fill_value", [0.5, "mean", "add"])
def test_gat_edge_features_bipartite_and_graphbatch(fill_value):
    ei, x, w = graph()
    ea = torch.randn(ei.shape[1], 3, dtype=torch.float64)
    kw = dict(heads=2, edge_dim=3, fill_value=fill_value)
    check(ours.GATConv(6, 4, **kw).double(), pyg.GATConv(6, 4, **kw).double(), x, ei, ea)
    kw1 = dict(heads=2, edge_dim=1, fill_value=fill_value)
    check(ours.GATConv(6, 4, **kw1).double(), pyg.GATConv(6, 4, **kw1).double(), x, ei, w)
    x2 = torch.randn(5, 7, dtype=torch.float64)
    bi = ei[:, ei[1] < 5]
    check(ours.GATConv((6, 7), 4, heads=2).double(), pyg.GATConv((6, 7), 4, heads=2).double(), (x, x2), bi)
    b = mg.GraphBatch([mg.Graph(num_verts=12, edge_index=ei)])
    check(ours.GATConv(6, 4, heads=2).double(), pyg.GATConv(6, 4, heads=2).double(), x, b, theirs_inputs=(x, ei))


def test_gat_without_nodes():
    out = ours.GATConv(8, 4, heads=2)(torch.randn(0, 8), torch.zeros((2, 0), dtype=torch.int64))
    assert out.shape == (0, 8)


@pytest.mark.parametrize("form", ["edge_index", "csr", "coo", "duck"])
def test_sage_gin_graphconv(form):
    ei, x, w = graph()
    e = forms(ei, None, 12, 12)
    for kw in (dict(), dict(aggr="max"), dict(aggr="sum", normalize=True), dict(project=True), dict(root_weight=False),
               dict(aggr=["mean", "max", "std"]), dict(aggr=["sum", "min"], aggr_kwargs=dict(mode="proj", mode_kwargs=dict(in_channels=6, out_channels=6)))):
        if form == "duck" and kw.get("aggr") in ("max",):
            continue
        ref = (x, ei) if form == "duck" else None
        check(ours.SAGEConv(6, 4, **kw).double(), pyg.SAGEConv(6, 4, **kw).double(), x, e[form], theirs_inputs=ref)
    check(ours.SAGEConv(6, 3).double(), pyg.SAGEConv(6, 3).double(), x, e[form], theirs_inputs=(x, ei) if form == "duck" else None)
    net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 5)).double()
    check(ours.GINConv(copy.deepcopy(net), train_eps=True), pyg.GINConv(copy.deepcopy(net), train_eps=True), x, ei)
    ea = torch.randn(ei.shape[1], 2, dtype=torch.float64)
    check(ours.GINEConv(copy.deepcopy(net), edge_dim=2).double(), pyg.GINEConv(copy.deepcopy(net), edge_dim=2).double(), x, ei, ea)
    for aggr in ("add", "mean", "max"):
        check(ours.GraphConv(6, 4, aggr=aggr).double(), pyg.GraphConv(6, 4, aggr=aggr).double(), x, ei, w)
        check(ours.GraphConv(6, 3, aggr=aggr).double(), pyg.GraphConv(6, 3, aggr=aggr).double(), x, ei)
    if form != "duck":
        check(ours.GraphConv(6, 4).double(), pyg.GraphConv(6, 4).double(), x, e[form])


def test_bipartite_and_size():
    ei, x, w = graph()
    x2 = torch.randn(5, 7, dtype=torch.float64)
    bi = ei[:, ei[1] < 5]
    wb = w[ei[1] < 5]
    for mine, theirs in ((ours.SAGEConv((6, 7), 4), pyg.SAGEConv((6, 7), 4)), (ours.GraphConv((6, 7), 4), pyg.GraphConv((6, 7), 4))):
        check(mine.double(), theirs.double(), (x, x2), bi)
        check(mine.double(), theirs.double(), (x, None), bi, size=(12, 5))
    check(ours.GraphConv((6, 7), 4).double(), pyg.GraphConv((6, 7), 4).double(), (x, x2), bi, wb)
    coo = torch.sparse_coo_tensor(torch.stack([bi[1], bi[0]]), torch.ones(bi.shape[1], dtype=torch.float64), (5, 12))
    check(ours.SAGEConv((6, 7), 4).double(), pyg.SAGEConv((6, 7), 4).double(), (x, x2), coo.coalesce().to_sparse_csr())
    net = torch.nn.Linear(12, 5).double()
    check(ours.EdgeConv(copy.deepcopy(net)), pyg.EdgeConv(copy.deepcopy(net)), (x, x[:5]), bi)


def test_edgeconv_pointnet_dynamic():
    ei, x, _ = graph()
    net = torch.nn.Sequential(torch.nn.Linear(12, 5), torch.nn.ReLU()).double()
    for aggr in ("max", "mean"):
        check(ours.EdgeConv(copy.deepcopy(net), aggr=aggr), pyg.EdgeConv(copy.deepcopy(net), aggr=aggr), x, ei)
    pos = torch.randn(12, 3, dtype=torch.float64)
    local, glob = torch.nn.Linear(9, 5).double(), torch.nn.Linear(5, 4).double()
    check(ours.PointNetConv(copy.deepcopy(local), copy.deepcopy(glob)), pyg.PointNetConv(copy.deepcopy(local), copy.deepcopy(glob)), x, pos, ei)
    pos2 = torch.randn(5, 3, dtype=torch.float64)
    bi = ei[:, ei[1] < 5]
    check(ours.PointNetConv(copy.deepcopy(local), add_self_loops=False), pyg.PointNetConv(copy.deepcopy(local), add_self_loops=False),
          (x, None), (pos, pos2), bi)
    # DynamicEdgeConv = EdgeConv on knn_graph of the features (PyG's needs pyg_lib: compare with its definition)
    conv = ours.DynamicEdgeConv(copy.deepcopy(net), k=3)
    batch = torch.tensor([0] * 6 + [1] * 6)
    expect = ours.EdgeConv(conv.nn)(x, ours.knn_graph(x, 3, batch, loop=True))
    torch.testing.assert_close(conv(x, batch), expect)


@pytest.mark.parametrize("args,kw", [(([6, 16, 16, 4],), {}), (([6, 8, 3],), dict(dropout=0.5, norm=None)),
                                     ((), dict(in_channels=6, hidden_channels=7, out_channels=2, num_layers=3,
                                               act="leaky_relu", act_first=True, plain_last=False))])
def test_mlp_and_mlp_aggregation(args, kw):
    x = torch.randn(20, 6, dtype=torch.float64)
    mine, theirs = ours.MLP(*args, **kw).double(), pyg.MLP(*args, **kw).double()
    check(mine.eval(), theirs.eval(), x)
    mine.train()
    theirs.train()
    torch.manual_seed(0)  # training: batch statistics and the same dropout masks (same RNG use)
    a = mine(x)
    torch.manual_seed(0)
    torch.testing.assert_close(a, theirs(x))
    assert repr(mine) == repr(theirs)
    ei, x, _ = graph()
    kw = dict(aggr="mlp", aggr_kwargs=dict(in_channels=6, out_channels=6, max_num_elements=3, num_layers=1))
    ei = ei[:, torch.argsort(ei[1], stable=True)]  # MLPAggregation needs the edges sorted by destination
    check(ours.SAGEConv(6, 4, **kw).double(), pyg.SAGEConv(6, 4, **kw).double(), x, ei)


def test_lazy_layers_load_pyg_state_dicts():
    ei, x, _ = graph()
    for mine, theirs in ((ours.SAGEConv(-1, 4), pyg.SAGEConv(6, 4)), (ours.GATConv(-1, 4, heads=2), pyg.GATConv(6, 4, heads=2)),
                         (ours.GraphConv(-1, 4), pyg.GraphConv(6, 4))):
        check(mine.double(), theirs.double(), x, ei)
    assert str(ours.GraphConv(8, 32)) == "GraphConv(8, 32)" and str(ours.GCNConv(16, 32)) == "GCNConv(16, 32)"
    assert str(ours.SAGEConv(8, 32, aggr="sum")) == "SAGEConv(8, 32, aggr=sum)"


def _conv_classes():
    """The same user-written layer on our base class and on PyG's."""
    def make(base):
        class Conv(base):
            def __init__(self, aggr="add", **kw):
                super().__init__(aggr=aggr, **kw)
                self.lin = torch.nn.Linear(6, 6).double()

            def forward(self, x, edge_index, w=None, size=None):
                return self.propagate(edge_index, x=x, w=w, size=size)

            def message(self, x_i, x_j, w, index, size_i):
                m = self.lin(x_j) * torch.tanh(x_i)
                return m if w is None else m * w.view(-1, 1)

            def update(self, inputs, x):
                return inputs + (x[1] if isinstance(x, tuple) else x)

        return Conv

    return make(ours.MessagePassing), make(pyg.MessagePassing)


@pytest.mark.parametrize("kw", [dict(), dict(aggr="mean"), dict(aggr="max"), dict(flow="target_to_source"),
                                dict(aggr=["sum", "max"], aggr_kwargs=dict(mode="max")), dict(aggr="softmax")])
def test_message_passing_matches_pyg(kw):
    Mine, Theirs = _conv_classes()
    ei, x, w = graph()
    check(Mine(**kw), Theirs(**kw), x, ei, w)
    if kw.get("flow") is None:
        e = forms(ei, w, 12, 12)
        check(Mine(**kw), Theirs(**kw), x, e["csr"], theirs_inputs=(x, e["csr"]))


def test_message_passing_static_graph_node_dim_and_hooks():
    Mine, Theirs = _conv_classes()
    ei, x, w = graph()
    xs = torch.randn(3, 12, 6, dtype=torch.float64)
    check(Mine(), Theirs(), xs, ei, w)  # (B, N, F): node_dim=-2
    mine = Mine()
    seen = []
    mine.register_message_forward_pre_hook(lambda m, inp: seen.append(sorted(inp[0])))
    h = mine.register_propagate_forward_hook(lambda m, inp, out: out * 0)
    assert mine(x, ei).abs().sum() == 0 and seen == [["index", "size_i", "w", "x_i", "x_j"]]
    h.remove()
    assert mine(x, ei).abs().sum() > 0
    with pytest.raises(IndexError, match="valid indices"):
        mine(x[:3], ei)
    with pytest.raises(ValueError, match="flow"):
        ours.MessagePassing(flow="up")


def test_default_message_stays_fused():
    class Plain(ours.MessagePassing):
        def forward(self, x, edge_index):
            return self.propagate(edge_index, x=x)

    g = torch.Generator().manual_seed(1)
    ei = torch.randint(0, 50, (2, 5000), generator=g)
    x = torch.randn(50, 16, requires_grad=True)
    for conv in (Plain("mean"), ours.GCNConv(16, 16), ours.SAGEConv(16, 16), ours.GraphConv(16, 16), ours.GINConv(torch.nn.Identity())):
        sizes = []
        with torch.autograd.graph.saved_tensors_hooks(lambda t: sizes.append(t.numel()) or t, lambda t: t):
            conv(x, ei).sum()
        assert max(sizes) < ei.shape[1] * 16 / 4, type(conv).__name__  # no (E, F) message tensor


@pytest.mark.parametrize("aggr", ["max", "mean", "sum"])
def test_materialized_messages_reduce_through_the_cached_csr(aggr):
    ei, x, _ = graph()
    b = mg.GraphBatch([mg.Graph(num_verts=12, edge_index=ei)])
    net = torch.nn.Linear(12, 5).double()
    conv, ref = ours.EdgeConv(net, aggr=aggr), pyg.EdgeConv(net, aggr=aggr)
    expect = ref(x, ei)
    conv.aggr_module.forward = None  # the aggregation module (which sorts the index) must not be needed
    torch.testing.assert_close(conv(x, ei), expect)
    torch.testing.assert_close(conv(x, b), expect)
    with pytest.raises(TypeError):  # bipartite: no cached CSR, the module path runs
        conv((x, x[:5]), ei[:, ei[1] < 5])


def test_knn_radius_fps_knn_graph_match_brute_force():
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(60, 3, generator=g), torch.rand(25, 3, generator=g)
    bx = torch.cat([torch.zeros(35), torch.ones(25)]).long()
    by = torch.cat([torch.zeros(10), torch.ones(15)]).long()
    d = torch.cdist(y.double(), x.double())
    d[by[:, None] != bx[None]] = float("inf")
    e = ours.knn(x, y, 4, bx, by)
    expect = {(i, int(j)) for i in range(25) for j in d[i].topk(4, largest=False).indices}
    assert e.shape == (2, 100) and set(map(tuple, e.t().tolist())) == expect
    r = ours.radius(x, y, 0.3, bx, by, max_num_neighbors=100)
    assert set(map(tuple, r.t().tolist())) == {(i, j) for i, j in torch.nonzero(d <= 0.3).tolist()}
    assert torch.bincount(ours.radius(x, y, 0.3, bx, by, max_num_neighbors=2)[0], minlength=25).max() <= 2
    kg = ours.knn_graph(x, 3, bx, flow="source_to_target", cosine=False)
    assert kg.shape == (2, 180) and bool((bx[kg[0]] == bx[kg[1]]).all()) and bool((kg[0] != kg[1]).all())
    assert ours.radius_graph(x, 0.2, bx).shape[0] == 2

    idx = ours.fps(x, bx, ratio=0.25, random_start=False)
    assert idx.shape == (9 + 7,)
    for b, start in ((0, 0), (1, 35)):  # brute-force farthest point sampling from each graph's first point
        pts = x[bx == b].double()
        chosen = [0]
        dist = ((pts - pts[0]) ** 2).sum(1)
        while len(chosen) < (9 if b == 0 else 7):
            chosen.append(int(dist.argmax()))
            dist = torch.minimum(dist, ((pts - pts[chosen[-1]]) ** 2).sum(1))
        assert (idx[bx[idx] == b] - start).tolist() == chosen


def test_knn_interpolate_is_pyg_formula_exactly():
    g = torch.Generator().manual_seed(5)
    pos_x, pos_y = torch.rand(40, 3, generator=g), torch.rand(15, 3, generator=g)
    x = torch.randn(40, 4, generator=g)
    out = ours.knn_interpolate(x, pos_x, pos_y, k=3)
    nn = torch.cdist(pos_y, pos_x).topk(3, largest=False).indices
    y_idx, x_idx = torch.arange(15).repeat_interleave(3), nn.reshape(-1)
    diff = pos_x[x_idx] - pos_y[y_idx]
    w = 1.0 / torch.clamp((diff * diff).sum(-1, keepdim=True), min=1e-16)
    expect = torch.zeros(15, 4).index_add_(0, y_idx, x[x_idx] * w) / torch.zeros(15, 1).index_add_(0, y_idx, w)
    torch.testing.assert_close(out, expect, rtol=2e-7, atol=0)


def test_knn_interpolate_pyg_docs_example_exact():
    # PyG's own test case (skipped there without pyg_lib): exact values, not 1 ulp off
    x = torch.tensor([[1.0], [10.0], [100.0], [-1.0], [-10.0], [-100.0]])
    pos_x = torch.tensor([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    pos_y = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [-2.0, -2.0], [2.0, 2.0]])
    y = ours.knn_interpolate(x, pos_x, pos_y, torch.tensor([0, 0, 0, 1, 1, 1]), torch.tensor([0, 0, 1, 1]), k=2)
    assert y.tolist() == [[4.0], [70.0], [-4.0], [-70.0]]


def test_global_pools_take_a_batch_vector():
    x = torch.randn(10, 3)
    batch = torch.tensor([0] * 4 + [1] * 6)
    torch.testing.assert_close(ours.global_mean_pool(x, batch), pyg.global_mean_pool(x, batch))
    torch.testing.assert_close(ours.global_max_pool(x, batch), pyg.global_max_pool(x, batch))
    torch.testing.assert_close(ours.global_add_pool(x, None), pyg.global_add_pool(x, None))


def test_deep_import_paths():
    from meshgraph.compat.pyg.nn.conv.gcn_conv import GCNConv, gcn_norm
    from meshgraph.compat.pyg.nn.conv.message_passing import MessagePassing
    from meshgraph.compat.pyg.nn.pool import knn_graph
    from meshgraph.compat.pyg.nn.unpool import knn_interpolate
    from torch_geometric.nn.conv.gcn_conv import gcn_norm as theirs

    assert GCNConv is ours.GCNConv and MessagePassing is ours.MessagePassing and knn_graph is ours.knn_graph
    assert knn_interpolate is ours.knn_interpolate
    from meshgraph.compat.pyg.nn.conv.gcn2_conv import GCN2Conv
    from meshgraph.compat.pyg.nn.conv.cheb_conv import ChebConv

    assert GCN2Conv is ours.GCN2Conv and ChebConv is ours.ChebConv
    ei, _, w = graph()
    a, b = gcn_norm(ei, w, 12), theirs(ei, w, 12)
    assert torch.equal(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])
    with pytest.raises(ImportError):
        from meshgraph.compat.pyg.nn import HypergraphConv  # noqa: F401  (not implemented: absent, not a stub)


def test_lazy_linear_state_dicts_load_both_ways_like_pyg():
    import torch_geometric.nn as pyg_nn

    from meshgraph.compat.pyg.nn import Linear

    for ours_in, theirs_in in ((-1, -1), (16, -1), (-1, 16)):
        ours, theirs = Linear(ours_in, 8), pyg_nn.Linear(theirs_in, 8)
        src_ours, src_theirs = Linear(theirs_in, 8), pyg_nn.Linear(theirs_in, 8)
        ours.load_state_dict(src_ours.state_dict())
        theirs.load_state_dict(src_theirs.state_dict())
        assert isinstance(ours.weight, torch.nn.parameter.UninitializedParameter) == isinstance(
            theirs.weight, torch.nn.parameter.UninitializedParameter)
        assert hasattr(ours, "_hook") == hasattr(theirs, "_hook")
        assert ours(torch.randn(2, 16)).shape == (2, 8)


def test_aggregation_argument_errors_are_pygs():
    from meshgraph.compat.pyg.nn.aggr import MeanAggregation, MulAggregation

    x, index, ptr = torch.randn(6, 4), torch.tensor([0, 0, 1, 1, 1, 2]), torch.tensor([0, 2, 5, 6])
    with pytest.raises(ValueError, match="invalid dimension"):
        MeanAggregation()(x, index, dim=-3)
    with pytest.raises(ValueError, match="invalid 'dim_size'"):
        MeanAggregation()(x, ptr=ptr, dim_size=2)
    with pytest.raises(ValueError, match="invalid 'dim_size'"):
        MeanAggregation()(x, index, dim_size=2)
    with pytest.raises(RuntimeError, match="requires 'index'"):
        MulAggregation()(x, ptr=ptr)
    torch.testing.assert_close(MeanAggregation()(x, ptr=ptr), MeanAggregation()(x, index))
