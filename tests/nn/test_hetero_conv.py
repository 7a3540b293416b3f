"""HeteroConv, to_hetero, HGTConv, HANConv and RGATConv against PyG's with PyG's state_dict loaded: outputs and gradients
(inputs and parameters), sparse edge inputs, edge types without edges, node types without in-edges, lazy widths;
the fused paths form no per-edge feature tensor; bad input gives ValueErrors naming the type."""

import pytest
import torch

from meshgraph.nn import GATConv, HANConv, HeteroConv, HGTConv, RGATConv, SAGEConv, to_hetero

pyg = pytest.importorskip("torch_geometric.nn")


def _graph(n_author=5, n_paper=7, n_conf=3, e=20, dtype=torch.float32):
    x = {"author": torch.randn(n_author, 8, dtype=dtype), "paper": torch.randn(n_paper, 12, dtype=dtype),
         "conf": torch.randn(n_conf, 8, dtype=dtype)}
    ei = {
        ("author", "writes", "paper"): torch.stack([torch.randint(n_author, (e,)), torch.randint(n_paper, (e,))]),
        ("paper", "cites", "paper"): torch.stack([torch.randint(n_paper, (e,)), torch.randint(n_paper, (e,))]),
        ("paper", "written_by", "author"): torch.stack([torch.randint(n_paper, (e,)), torch.randint(n_author, (e,))]),
        ("conf", "hosts", "paper"): torch.stack([torch.randint(n_conf, (4,)), torch.randint(n_paper, (4,))]),
    }
    return x, ei


def _metadata(x, ei):
    return list(x), list(ei)


def _leaf(d):
    return {k: v.clone().requires_grad_(True) for k, v in d.items()}


def _compare(mine, theirs, x, args, tol, call=None):
    """Outputs and gradients (w.r.t. x and every parameter) agree; call(layer, x, *args) -> the output dict."""
    call = call or (lambda layer, x, *a: layer(x, *a))
    xm, xt = _leaf(x), _leaf(x)
    om, ot = call(mine, xm, *args), call(theirs, xt, *args)
    assert set(om) == set(ot)
    for k in om:
        torch.testing.assert_close(om[k], ot[k], **tol)
    w = {k: torch.randn_like(v) for k, v in om.items()}
    loss_m = sum((om[k] * w[k]).sum() for k in om)
    loss_t = sum((ot[k] * w[k]).sum() for k in ot)
    pm, pt = dict(mine.named_parameters()), dict(theirs.named_parameters())
    assert set(pm) == set(pt)
    names = sorted(pm)
    gm = torch.autograd.grad(loss_m, [*xm.values(), *(pm[n] for n in names)], allow_unused=True)
    gt = torch.autograd.grad(loss_t, [*xt.values(), *(pt[n] for n in names)], allow_unused=True)
    for a, b in zip(gm, gt):
        if a is None or b is None:
            assert (a is None or not a.any()) and (b is None or not b.any())
        else:
            torch.testing.assert_close(a, b, **tol)


TOL = {torch.float32: {"atol": 2e-5, "rtol": 1e-4}, torch.float64: {"atol": 1e-10, "rtol": 1e-9}}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("heads", [1, 2])
def test_hgt_conv_matches_pyg(dtype, heads):
    x, ei = _graph(dtype=dtype)
    meta = _metadata(x, ei)
    theirs = pyg.HGTConv({"author": 8, "paper": 12, "conf": 8}, 8, meta, heads=heads).to(dtype)
    mine = HGTConv({"author": 8, "paper": 12, "conf": 8}, 8, meta, heads=heads).to(dtype)
    with torch.no_grad():  # non-trivial gates and relation priors
        for p in theirs.p_rel.values():
            p.uniform_(0.5, 1.5)
        for p in theirs.skip.values():
            p.uniform_(-1, 1)
    mine.load_state_dict(theirs.state_dict())
    _compare(mine, theirs, x, (ei,), TOL[dtype])
    out = mine(x, ei)
    assert set(out) == {"author", "paper"}  # 'conf' is the destination of no edge type


def test_hgt_conv_softmax_spans_edge_types():
    """A paper's attention weights over its in-edges of all types sum to one: one type's edges alone differ."""
    x, ei = _graph(dtype=torch.float64)
    meta = _metadata(x, ei)
    conv = HGTConv(-1, 8, meta, heads=2).double()
    full = conv(x, ei)["paper"]
    theirs = pyg.HGTConv(-1, 8, meta, heads=2).double()
    theirs(x, ei)
    theirs.load_state_dict(conv.state_dict())
    only = {k: v for k, v in ei.items() if k[1] != "cites"}
    torch.testing.assert_close(conv(x, only)["paper"], theirs(x, only)["paper"])
    assert not torch.allclose(conv(x, only)["paper"], full)


def test_hgt_conv_sparse_input_and_empty_edge_type():
    x, ei = _graph(dtype=torch.float64)
    ei = {k: torch.unique(v, dim=1) for k, v in ei.items()}  # a sparse adjacency merges duplicate edges
    meta = _metadata(x, ei)
    conv = HGTConv(-1, 8, meta, heads=2).double()
    ref = conv(x, ei)
    adj = {k: torch.sparse_coo_tensor(v.flip(0), torch.ones(v.size(1), dtype=torch.float64),
                                      (x[k[-1]].size(0), x[k[0]].size(0))).coalesce() for k, v in ei.items()}
    for k in ref:
        torch.testing.assert_close(conv(x, adj)[k], ref[k])
    ei[("conf", "hosts", "paper")] = torch.zeros((2, 0), dtype=torch.long)
    theirs = pyg.HGTConv(-1, 8, meta, heads=2).double()
    theirs(x, ei)
    theirs.load_state_dict(conv.state_dict())
    for k, v in conv(x, ei).items():
        torch.testing.assert_close(v, theirs(x, ei)[k])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("heads", [1, 2])
def test_han_conv_matches_pyg(dtype, heads):
    x, ei = _graph(dtype=dtype)
    meta = _metadata(x, ei)
    theirs = pyg.HANConv({"author": 8, "paper": 12, "conf": 8}, 8, meta, heads=heads).to(dtype)
    mine = HANConv({"author": 8, "paper": 12, "conf": 8}, 8, meta, heads=heads).to(dtype)
    mine.load_state_dict(theirs.state_dict())

    def drop_none(layer, x, ei):
        return {k: v for k, v in layer(x, ei).items() if v is not None}

    _compare(mine, theirs, x, (ei,), TOL[dtype], drop_none)
    om, am = mine(x, ei, return_semantic_attention_weights=True)
    ot, at = theirs(x, ei, return_semantic_attention_weights=True)
    assert om["conf"] is None and ot["conf"] is None
    torch.testing.assert_close(am["paper"], at["paper"], **TOL[dtype])


def test_han_conv_dropout_train_eval():
    x, ei = _graph()
    conv = HANConv(-1, 8, _metadata(x, ei), heads=2, dropout=0.5)
    conv.eval()
    a = conv(x, ei)["paper"]
    torch.testing.assert_close(conv(x, ei)["paper"], a)
    conv.train()
    assert conv(x, ei)["paper"].shape == a.shape


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "min", "cat", None])
def test_hetero_conv_matches_pyg(aggr):
    x, ei = _graph(dtype=torch.float64)
    x["paper"] = x["paper"][:, :8]

    def convs(lib):
        return {
            ("author", "writes", "paper"): lib.SAGEConv(8, 6),
            ("paper", "cites", "paper"): lib.GATConv(8, 6, add_self_loops=True),
            ("paper", "written_by", "author"): lib.SAGEConv((8, 8), 6),
            ("conf", "hosts", "paper"): lib.GATConv((8, 8), 6, add_self_loops=False),
        }

    import meshgraph.nn as mnn

    theirs = pyg.HeteroConv(convs(pyg), aggr=aggr).double()
    mine = HeteroConv(convs(mnn), aggr=aggr).double()
    mine.load_state_dict(theirs.state_dict())
    assert list(mine.state_dict()) == list(theirs.state_dict())
    _compare(mine, theirs, x, (ei,), TOL[torch.float64])


def test_hetero_conv_skips_absent_edge_types_and_passes_dict_kwargs():
    x, ei = _graph()
    x["paper"] = x["paper"][:, :8]
    conv = HeteroConv({("author", "writes", "paper"): SAGEConv(8, 4), ("paper", "cites", "paper"): SAGEConv(8, 4)})
    out = conv(x, {("author", "writes", "paper"): ei[("author", "writes", "paper")]})
    assert set(out) == {"paper"}
    with pytest.raises(ValueError, match="end with '_dict'"):
        conv(x, ei, edge_weight={})
    with pytest.raises(ValueError, match="add_self_loops"):
        HeteroConv({("author", "writes", "paper"): GATConv(8, 4)})


class _Net(torch.nn.Module):
    def __init__(self, lib):
        super().__init__()
        self.lin1 = lib.Linear(-1, 16)
        self.conv1 = lib.SAGEConv(16, 16)
        self.conv2 = lib.GATConv(16, 8, add_self_loops=False)
        self.lin2 = torch.nn.Linear(8, 4)

    def forward(self, x, edge_index):
        x = self.lin1(x).relu()
        x = self.conv1(x, edge_index).relu()
        x = self.conv2(x, edge_index)
        return self.lin2(x)


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_to_hetero_matches_pyg(aggr):
    import meshgraph.nn as mnn

    x, ei = _graph(dtype=torch.float64)
    del ei[("conf", "hosts", "paper")]
    del x["conf"]
    meta = _metadata(x, ei)
    theirs = pyg.to_hetero(_Net(pyg), meta, aggr=aggr).double()
    mine = to_hetero(_Net(mnn), meta, aggr=aggr).double()
    theirs(x, ei)
    mine(x, ei)  # materialize the lazy layers
    sd = theirs.state_dict()
    assert list(mine.state_dict()) == list(sd)
    assert "conv1.author__writes__paper.lin_l.weight" in sd
    mine.load_state_dict(sd)
    _compare(mine, theirs, x, (ei,), TOL[torch.float64])


def test_to_hetero_bad_metadata():
    with pytest.raises(ValueError, match="references node type"):
        to_hetero(_Net(__import__("meshgraph.nn", fromlist=["x"])), (["paper"], [("author", "writes", "paper")]))
    with pytest.raises(ValueError, match="pair"):
        to_hetero(_Net(__import__("meshgraph.nn", fromlist=["x"])), ["paper"])
    with pytest.raises(ValueError, match="aggr"):
        to_hetero(_Net(__import__("meshgraph.nn", fromlist=["x"])), (["a"], [("a", "to", "a")]), aggr="median")


def test_conv_bad_input_names_the_type():
    x, ei = _graph()
    meta = _metadata(x, ei)
    conv = HGTConv({"author": 8, "paper": 12, "conf": 8}, 8, meta)
    with pytest.raises(ValueError, match="'paper'"):
        conv({**x, "paper": torch.randn(7, 5)}, ei)
    with pytest.raises(ValueError, match="not in the layer's metadata"):
        conv(x, {("author", "likes", "paper"): ei[("author", "writes", "paper")]})
    with pytest.raises(ValueError, match="x_dict lacks"):
        conv({k: v for k, v in x.items() if k != "conf"}, ei)
    with pytest.raises(ValueError, match="references node type"):
        HANConv(8, 8, (["paper"], [("author", "writes", "paper")]))
    with pytest.raises(ValueError, match="divisible"):
        HGTConv(8, 9, meta, heads=2)


def test_fused_paths_form_no_edge_feature_tensor():
    """HGT / HAN forward + backward allocate no tensor with E rows and more than `heads` columns."""
    from torch.utils._python_dispatch import TorchDispatchMode

    n, e, width, heads = 40, 3000, 32, 2
    x = {"a": torch.randn(n, width), "b": torch.randn(n, width)}
    ei = {("a", "to", "b"): torch.randint(n, (2, e)), ("b", "to", "a"): torch.randint(n, (2, e)),
          ("b", "self", "b"): torch.randint(n, (2, e))}

    class Shapes(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.worst = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else [out]:
                if isinstance(t, torch.Tensor) and t.dim() >= 1 and t.shape[0] >= e:
                    self.worst = max(self.worst, t.numel() // t.shape[0])
            return out

    for layer in (HGTConv(width, width, (["a", "b"], list(ei)), heads=heads),
                  HANConv(width, width, (["a", "b"], list(ei)), heads=heads)):
        xs = {k: v.clone().requires_grad_(True) for k, v in x.items()}
        layer(xs, ei)  # adjacencies cached on the edge tensors
        with Shapes() as mode:
            out = layer(xs, ei)
            sum(v.sum() for v in out.values() if v is not None).backward()
        assert mode.worst <= heads, (type(layer).__name__, mode.worst)
    rgat = RGATConv(width, width, num_relations=3, heads=heads, mod="additive")
    xr = torch.randn(n, width, requires_grad=True)
    edge_index, edge_type = torch.randint(n, (2, e)), torch.randint(3, (e,))
    with Shapes() as mode:
        rgat(xr, edge_index, edge_type).sum().backward()
    assert mode.worst <= heads, ("RGATConv", mode.worst)


RGAT_CASES = [
    dict(),
    dict(mod="additive", attention_mechanism="within-relation", edge_dim=5),
    dict(mod="scaled", attention_mode="multiplicative-self-attention", dim=2, concat=False, num_bases=3),
    dict(mod="f-additive", num_blocks=4, edge_dim=5),
    dict(mod="f-scaled", attention_mode="multiplicative-self-attention", dim=3, edge_dim=5,
         attention_mechanism="within-relation"),
    dict(concat=False, bias=False, aggr="mean"),
]


@pytest.mark.parametrize("kwargs", RGAT_CASES)
def test_rgat_conv_matches_pyg(kwargs):
    x = torch.randn(9, 8, dtype=torch.float64, requires_grad=True)
    edge_index, edge_type = torch.randint(9, (2, 30)), torch.randint(4, (30,))
    edge_attr = torch.randn(30, 5, dtype=torch.float64, requires_grad=True) if kwargs.get("edge_dim") else None
    theirs = pyg.RGATConv(8, 4, num_relations=4, heads=2, **kwargs).double()
    with torch.no_grad():  # PyG leaves l2 uninitialized; perturb every parameter so no term is trivially zero
        theirs.l2.copy_(torch.randn_like(theirs.l2))
        for p in theirs.parameters():
            p.add_(0.1 * torch.randn_like(p))
    mine = RGATConv(8, 4, num_relations=4, heads=2, **kwargs).double()
    mine.load_state_dict(theirs.state_dict())
    om, (_, am) = mine(x, edge_index, edge_type, edge_attr, return_attention_weights=True)
    ot, (_, at) = theirs(x, edge_index, edge_type, edge_attr, return_attention_weights=True)
    torch.testing.assert_close(om, ot)
    torch.testing.assert_close(am, at)
    w = torch.randn_like(om)
    inputs = [x] + ([edge_attr] if edge_attr is not None else [])
    names = [n for n, _ in theirs.named_parameters()]
    pm, pt = dict(mine.named_parameters()), dict(theirs.named_parameters())
    gm = torch.autograd.grad((om * w).sum(), inputs + [pm[n] for n in names], allow_unused=True)
    gt = torch.autograd.grad((ot * w).sum(), inputs + [pt[n] for n in names], allow_unused=True)
    for n, a, b in zip(["x", "edge_attr"][:len(inputs)] + names, gm, gt):
        if a is None or b is None:
            assert (a is None or not a.any()) and (b is None or not b.any()), n
        else:
            torch.testing.assert_close(a, b, msg=n)


def test_rgat_conv_sparse_input_empty_graph_and_bad_input():
    conv = RGATConv(8, 4, num_relations=3, heads=2)
    x = torch.randn(6, 8)
    edge_index = torch.unique(torch.randint(6, (2, 15)), dim=1)
    edge_type = torch.randint(3, (edge_index.size(1),))
    out = conv(x, edge_index, edge_type)
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), edge_type, (6, 6)).coalesce()
    order = (edge_index[1] * 6 + edge_index[0]).argsort()  # the adjacency's (dst, src) order
    torch.testing.assert_close(conv(x, adj_t, edge_type[order]), out)
    empty = conv(x, torch.zeros((2, 0), dtype=torch.long), torch.zeros(0, dtype=torch.long))
    torch.testing.assert_close(empty, conv.bias.expand(6, -1))
    with pytest.raises(ValueError, match="edge_type"):
        conv(x, edge_index)
    with pytest.raises(ValueError, match="num_relations"):
        conv(x, edge_index, torch.full_like(edge_type, 3))
    with pytest.raises(ValueError, match="in_channels"):
        conv(torch.randn(6, 5), edge_index, edge_type)
    with pytest.raises(ValueError, match="edge_dim"):
        conv(x, edge_index, edge_type, torch.randn(edge_index.size(1), 2))
    with pytest.raises(ValueError, match="multiple of 'num_blocks'"):
        RGATConv(8, 3, num_relations=2, num_blocks=3)


class _NetBases(_Net):
    def __init__(self, lib):
        super().__init__(lib)
        self.conv2 = lib.GraphConv(16, 8)  # PyG's basis hook reads messages as (E, F): no multi-head layers


def test_to_hetero_with_bases_matches_pyg():
    import meshgraph.compat.pyg.nn as cnn  # PyG's names (its GraphConv)
    import meshgraph.nn as mnn
    from meshgraph.nn import to_hetero_with_bases

    x, ei = _graph(dtype=torch.float64)
    del ei[("conf", "hosts", "paper")]
    del x["conf"]
    meta = _metadata(x, ei)
    theirs = pyg.to_hetero_with_bases(_NetBases(pyg), meta, num_bases=3, in_channels={"x": 10}).double()
    mine = to_hetero_with_bases(_NetBases(cnn), meta, num_bases=3, in_channels={"x": 10}).double()
    theirs(x, ei)
    mine(x, ei)
    sd = theirs.state_dict()
    assert list(mine.state_dict()) == list(sd)
    assert "conv1.convs.2.edge_type_weight" in sd and "align_lin__x.lins.author.weight" in sd
    mine.load_state_dict(sd)
    _compare(mine, theirs, x, (ei,), TOL[torch.float64])
    with pytest.raises(ValueError, match="lacks the types"):
        mine({"paper": x["paper"]}, ei)
    with pytest.raises(ValueError, match="num_bases"):
        to_hetero_with_bases(_Net(mnn), meta, num_bases=0)
