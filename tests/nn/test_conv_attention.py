"""Attention convs (meshgraph.nn.conv_attention) against PyG's own layers with equal weights: state dicts load both
ways; outputs and gradients (x, edge features, every parameter) agree in float32 and float64, on a graph whose loops
are already present (duplicated too); attention weights as PyG returns them; bipartite inputs; GraphBatch and
sparse adj_t inputs; overridden message / hooks (PyG's path); SuperGAT's self-supervised loss with given negative
edges; empty graphs, graphs without edges and isolated nodes; bad input gets ValueErrors naming the layer and width;
no E x heads x C tensor in the fused forward + backward of GATv2 and TransformerConv."""

import pytest
import torch

import meshgraph as mg
import meshgraph.compat.pyg.nn as compat
import meshgraph.nn as ours

pyg = pytest.importorskip("torch_geometric.nn")

# name -> (constructor on a namespace, forward takes edge_attr (width 3))
LAYERS = {
    "GATv2Conv": (lambda m: m.GATv2Conv(8, 4, heads=2), False),
    "GATv2Conv-edge": (lambda m: m.GATv2Conv(8, 4, heads=2, edge_dim=3), True),
    "GATv2Conv-edge-fill": (lambda m: m.GATv2Conv(8, 4, heads=2, edge_dim=3, fill_value=0.5), True),
    "GATv2Conv-share-res-mean": (lambda m: m.GATv2Conv(8, 4, heads=3, concat=False, share_weights=True, residual=True), False),
    "GATv2Conv-noloops-nobias": (lambda m: m.GATv2Conv(8, 5, add_self_loops=False, bias=False, negative_slope=0.1), False),
    "TransformerConv": (lambda m: m.TransformerConv(8, 4, heads=2), False),
    "TransformerConv-edge-beta": (lambda m: m.TransformerConv(8, 4, heads=2, edge_dim=3, beta=True), True),
    "TransformerConv-mean-noroot": (lambda m: m.TransformerConv(8, 4, heads=3, concat=False, root_weight=False), False),
    "TransformerConv-mean-beta": (lambda m: m.TransformerConv(8, 4, heads=2, concat=False, beta=True), False),
    "SuperGATConv-MX": (lambda m: m.SuperGATConv(8, 4, heads=2), False),
    "SuperGATConv-SD": (lambda m: m.SuperGATConv(8, 4, heads=2, attention_type="SD", concat=False), False),
    "SuperGATConv-noloops": (lambda m: m.SuperGATConv(8, 4, heads=1, add_self_loops=False), False),
    "AGNNConv": (lambda m: m.AGNNConv(), False),
    "AGNNConv-fixed-noloops": (lambda m: m.AGNNConv(requires_grad=False, add_self_loops=False), False),
}


def graph(V=25, E=90, seed=0, dtype=torch.float32):
    """A random directed graph with duplicate edges and self loops already present (node 3 has two)."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, V, (2, E), generator=g)
    ei = torch.cat([ei, torch.tensor([[0, 3, 3, 7, 1], [0, 3, 3, 7, 2]])], dim=1)
    x = torch.randn(V, 8, generator=g, dtype=dtype)
    ea = torch.randn(ei.shape[1], 3, generator=g, dtype=dtype)
    return ei, x, ea


def pair(name, dtype=torch.float32):
    """(ours, PyG's) with PyG's initial weights loaded into ours, and ours loaded back into a fresh PyG layer; both
    in eval mode (SuperGAT's training branch samples negatives)."""
    make = LAYERS[name][0]
    theirs = make(pyg).to(dtype).eval()
    mine = make(ours).to(dtype).eval()
    mine.load_state_dict(theirs.state_dict())
    back = make(pyg).to(dtype)
    back.load_state_dict(mine.state_dict())
    for (k, a), (k2, b) in zip(theirs.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    return mine, theirs


def run_both(mine, theirs, x, ei, ea=None, **kwargs):
    """Outputs and gradients w.r.t. x, edge_attr and every parameter agree; returns (ours, theirs) outputs."""
    outs, leaves = [], []
    for layer in (mine, theirs):
        xa = tuple(t.clone().requires_grad_(True) for t in x) if isinstance(x, tuple) else x.clone().requires_grad_(True)
        args = [xa, ei]
        if ea is not None:
            args.append(ea.clone().requires_grad_(True))
        outs.append(layer(*args, **kwargs))
        leaves.append([t for t in (xa if isinstance(xa, tuple) else (xa,))] + args[2:])
    a, b = outs
    ao, bo = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    torch.testing.assert_close(ao, bo)
    g = torch.randn_like(bo)
    (ao * g).sum().backward()
    (bo * g).sum().backward()
    for ta, tb in zip(*leaves):
        torch.testing.assert_close(ta.grad, tb.grad)
    pb = dict(theirs.named_parameters())
    for pname, p in mine.named_parameters():
        if pb[pname].grad is None:
            assert p.grad is None or not p.grad.any(), pname
        else:
            torch.testing.assert_close(p.grad, pb[pname].grad, msg=pname)
    return a, b


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(LAYERS))
def test_matches_pyg_outputs_and_gradients(name, dtype):
    ei, x, ea = graph(dtype=dtype)
    mine, theirs = pair(name, dtype)
    run_both(mine, theirs, x, ei, ea if LAYERS[name][1] else None)


def test_compat_names_are_the_native_layers():
    from meshgraph.compat.pyg.nn.conv import agnn_conv, gatv2_conv, supergat_conv, transformer_conv

    assert compat.GATv2Conv is ours.GATv2Conv is gatv2_conv.GATv2Conv
    assert compat.TransformerConv is ours.TransformerConv is transformer_conv.TransformerConv
    assert compat.SuperGATConv is supergat_conv.SuperGATConv and compat.AGNNConv is agnn_conv.AGNNConv
    assert compat.conv.GATv2Conv is ours.GATv2Conv
    for make in (lambda m: m.GATv2Conv(16, 32, heads=2), lambda m: m.TransformerConv(16, 32, heads=4),
                 lambda m: m.SuperGATConv(16, 32, attention_type="SD"), lambda m: m.AGNNConv()):
        assert repr(make(ours)) == repr(make(pyg))


@pytest.mark.parametrize("name", ["GATv2Conv", "GATv2Conv-edge", "GATv2Conv-noloops-nobias", "TransformerConv",
                                  "TransformerConv-edge-beta"])
def test_attention_weights_match_pyg(name):
    ei, x, ea = graph()
    mine, theirs = pair(name)
    extra = (ea,) if LAYERS[name][1] else ()
    (out_a, (ei_a, al_a)), (out_b, (ei_b, al_b)) = [m(x, ei, *extra, return_attention_weights=True) for m in (mine, theirs)]
    torch.testing.assert_close(out_a, out_b)
    assert torch.equal(ei_a, ei_b)
    torch.testing.assert_close(al_a, al_b)
    if name.startswith("TransformerConv"):  # PyG returns them for any bool
        assert isinstance(mine(x, ei, *extra, return_attention_weights=False), tuple)


# PyG's GATv2Conv with flow="target_to_source" on a bipartite pair sizes its output by x[0] (its generated collect
# reads sources from x[0] but takes size[0] as the output size), a quirk not mirrored: ours has x[1]'s rows.
@pytest.mark.parametrize("name,flow", [(n, f) for n in ["GATv2Conv", "GATv2Conv-edge", "GATv2Conv-noloops-nobias",
                                                        "TransformerConv", "TransformerConv-edge-beta"]
                                       for f in ("source_to_target", "target_to_source")
                                       if f == "source_to_target" or not n.startswith("GATv2")])
def test_bipartite_matches_pyg(name, flow):
    g = torch.Generator().manual_seed(1)
    x_src, x_dst = torch.randn(10, 8, generator=g), torch.randn(4, 8, generator=g)
    ei = torch.stack([torch.randint(0, 10, (30,), generator=g), torch.randint(0, 4, (30,), generator=g)])
    ea = torch.randn(30, 3, generator=g)
    if flow == "target_to_source":  # edge_index[0] holds the destinations
        ei = ei.flip(0)
    mine, theirs = pair(name)
    mine.flow = theirs.flow = flow
    a, _ = run_both(mine, theirs, (x_src, x_dst), ei, ea if LAYERS[name][1] else None)
    assert a.shape[0] == 4
    if name.startswith("GATv2"):  # loops for the first min(10, 4) nodes, attention weights in PyG's order
        extra = (ea,) if LAYERS[name][1] else ()
        (_, (ea_, aa)), (_, (eb, ab)) = (m((x_src, x_dst), ei, *extra, return_attention_weights=True) for m in (mine, theirs))
        assert torch.equal(ea_, eb)
        torch.testing.assert_close(aa, ab)


def test_graphbatch_and_sparse_inputs_match_pyg():
    ei, x, _ = graph()
    ei = torch.unique(ei, dim=1)  # sparse inputs coalesce duplicates: keep every form the same graph
    n = x.shape[0]
    adj = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), torch.ones(ei.shape[1]), (n, n)).coalesce()
    b = mg.GraphBatch([mg.Graph(num_verts=n, edge_index=ei)])
    for name in ["GATv2Conv", "GATv2Conv-noloops-nobias", "TransformerConv", "SuperGATConv-MX", "AGNNConv"]:
        mine, theirs = pair(name)
        expected = theirs(x, ei)
        torch.testing.assert_close(mine(x, b), expected, msg=name)
        torch.testing.assert_close(mine(x, adj), theirs(x, adj), msg=name)
        torch.testing.assert_close(mine(x, adj.to_sparse_csr()), expected, msg=name)


def test_sparse_attention_weights_match_pyg():
    ei, x, _ = graph()
    ei = torch.unique(ei, dim=1)
    n = x.shape[0]
    adj = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), torch.ones(ei.shape[1]), (n, n)).coalesce()
    for name in ["GATv2Conv", "TransformerConv"]:
        mine, theirs = pair(name)
        (oa, (aa, wa)), (ob, (ab, wb)) = mine(x, adj, return_attention_weights=True), theirs(x, adj, return_attention_weights=True)
        torch.testing.assert_close(oa, ob, msg=name)
        torch.testing.assert_close(wa, wb, msg=name)


def _halved_message_subclass(base):
    def message(self, x_j, alpha):
        return 0.5 * x_j * alpha.unsqueeze(-1)
    return type(base.__name__, (base,), {"message": message})


def test_overridden_message_and_hooks_take_pyg_propagate():
    ei, x, _ = graph()
    a = _halved_message_subclass(ours.GATv2Conv)(8, 4, heads=2)
    b = _halved_message_subclass(pyg.GATv2Conv)(8, 4, heads=2)
    a.load_state_dict(b.state_dict())
    torch.testing.assert_close(a(x, ei), b(x, ei))
    for name in ["GATv2Conv", "TransformerConv", "AGNNConv", "SuperGATConv-MX"]:
        mine, theirs = pair(name)
        seen = []
        mine.register_message_forward_hook(lambda m, inp, out: seen.append(out.shape[0]))
        torch.testing.assert_close(mine(x, ei), theirs(x, ei), msg=name)
        assert seen and seen[0] >= ei.shape[1] - 4, name  # the messages were materialized


def test_supergat_attention_loss_matches_pyg_with_given_negatives():
    ei, x, _ = graph()
    neg = torch.tensor([[0, 1, 2, 5, 9], [4, 8, 11, 6, 2]])
    for kind in ("MX", "SD"):
        theirs = pyg.SuperGATConv(8, 4, heads=2, attention_type=kind).train()
        mine = ours.SuperGATConv(8, 4, heads=2, attention_type=kind).train()
        mine.load_state_dict(theirs.state_dict())
        torch.testing.assert_close(mine(x, ei, neg_edge_index=neg), theirs(x, ei, neg_edge_index=neg))
        la, lb = mine.get_attention_loss(), theirs.get_attention_loss()
        torch.testing.assert_close(la, lb)
        torch.testing.assert_close(mine.att_y, theirs.att_y)
        torch.autograd.grad(la, mine.lin.weight)  # differentiable
        mine.eval()
        assert mine.get_attention_loss().item() == 0


def test_supergat_samples_negatives_that_are_not_edges():
    ei, x, _ = graph()
    conv = ours.SuperGATConv(8, 4, heads=2).train()
    conv(x, ei)
    looped = int((ei[0] != ei[1]).sum()) + 25  # loops replaced by one per node
    num_neg = conv.att_x.shape[0] - looped
    assert 0 < num_neg <= int(0.5 * looped) and conv.att_y.sum() == looped
    from meshgraph.nn.conv_attention import _negative_sampling

    undirected = torch.cat([ei, ei.flip(0)], 1)
    neg = _negative_sampling(undirected, 25, 40)
    keys = set((undirected[0] * 25 + undirected[1]).tolist())
    assert neg.shape[1] == 40 and not (set((neg[0] * 25 + neg[1]).tolist()) & keys) and (neg[0] != neg[1]).all()
    batch = (torch.arange(25) >= 12).long()
    neg = _negative_sampling(undirected, 25, 30, batch)
    assert (batch[neg[0]] == batch[neg[1]]).all()


@pytest.mark.parametrize("case", ["no nodes", "no edges", "isolated nodes"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_empty_graph_no_edges_isolated_nodes(name, case):
    if case == "no nodes":
        x, ei = torch.randn(0, 8), torch.empty(2, 0, dtype=torch.long)
    elif case == "no edges":
        x, ei = torch.randn(5, 8), torch.empty(2, 0, dtype=torch.long)
    else:
        x, ei = torch.randn(6, 8), torch.tensor([[0, 1, 1], [1, 2, 1]])
    ea = torch.randn(ei.shape[1], 3) if LAYERS[name][1] else None
    mine, theirs = pair(name)
    run_both(mine, theirs, x, ei, ea)


@pytest.mark.parametrize("name", [n for n in LAYERS if not n.startswith("AGNN")])
def test_wrong_channel_count_names_layer_and_width(name):
    ei, x, ea = graph()
    mine = LAYERS[name][0](ours)
    extra = (ea,) if LAYERS[name][1] else ()
    layer = name.split("-")[0]
    with pytest.raises(ValueError, match=rf"{layer} expects x with 8 channels"):
        mine(torch.randn(x.shape[0], 7), ei, *extra)


def test_bad_edge_input_names_the_argument():
    ei, x, ea = graph()
    with pytest.raises(ValueError, match="edge_attr must have one row per edge"):
        ours.GATv2Conv(8, 4, edge_dim=3)(x, ei, ea[:5])
    with pytest.raises(ValueError, match="edge_attr must have one row per edge"):
        ours.TransformerConv(8, 4, edge_dim=3)(x, ei, ea[:5])
    with pytest.raises(ValueError, match="without edge_dim"):
        ours.GATv2Conv(8, 4)(x, ei, ea)
    with pytest.raises(ValueError, match="no edge_attr"):
        ours.TransformerConv(8, 4, edge_dim=3)(x, ei)
    with pytest.raises(ValueError, match="Static graphs"):
        ours.GATv2Conv(8, 4)(x[None], ei)
    with pytest.raises(ValueError, match="x\\[1\\] with 6 channels"):
        ours.GATv2Conv((8, 6), 4)((x, x), ei)
    with pytest.raises(ValueError, match="attention_type"):
        ours.SuperGATConv(8, 4, attention_type="XX")
    with pytest.raises(ValueError, match="edge_sample_ratio"):
        ours.SuperGATConv(8, 4, edge_sample_ratio=1.5)
    bad = ei.clone()
    bad[0, 0] = 99
    with pytest.raises((ValueError, IndexError), match="edge_index|99"):
        ours.GATv2Conv(8, 4)(x, bad)


def test_gatv2_lazy_and_pyg_state_dict():
    ei, x, _ = graph()
    theirs = pyg.GATv2Conv(8, 4, heads=2)
    mine = ours.GATv2Conv(-1, 4, heads=2)
    mine.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(mine(x, ei), theirs(x, ei))
    lazy = ours.TransformerConv(-1, 4, heads=2)
    assert lazy(x, ei).shape == (25, 8) and lazy.lin_key.weight.shape == (8, 8)


def test_compile_fullgraph():
    ei, x, ea = graph()
    b = mg.GraphBatch([mg.Graph(num_verts=x.shape[0], edge_index=ei)])
    for name in ["GATv2Conv", "TransformerConv", "AGNNConv"]:
        mine = LAYERS[name][0](ours).eval()
        expected = mine(x, b)
        torch.testing.assert_close(torch.compile(mine, fullgraph=True)(x, b), expected, msg=name)
        torch._dynamo.reset()


@pytest.mark.parametrize("name", ["GATv2Conv", "TransformerConv"])
def test_fused_path_forms_no_edge_by_feature_tensor(name):
    """Forward + backward of GATv2Conv / TransformerConv (4 heads, beta, root weight) holds no E x heads x C tensor:
    every tensor saved for backward and every intermediate allocated (seen through a dispatch mode) is smaller
    than one."""
    from torch.utils._python_dispatch import TorchDispatchMode

    g = torch.Generator().manual_seed(0)
    V, E, H, C = 200, 6000, 4, 16
    ei = torch.randint(0, V, (2, E), generator=g)
    x = torch.randn(V, 32, generator=g, requires_grad=True)
    conv = ours.GATv2Conv(32, C, heads=H) if name == "GATv2Conv" else ours.TransformerConv(32, C, heads=H, beta=True)
    limit = E * H * C
    biggest = []

    class Sizes(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in (out if isinstance(out, (tuple, list)) else (out,)):
                if isinstance(t, torch.Tensor) and t.dtype.is_floating_point:
                    biggest.append((t.numel(), str(func)))
            return out

    conv(x, ei)  # the adjacency is cached on ei (built once, outside the measured step)
    with Sizes():
        conv(x, ei).sum().backward()
    assert max(biggest)[0] < limit, max(biggest)


@pytest.mark.parametrize("name", ["GATv2Conv", "GATv2Conv-edge", "GATv2Conv-noloops-nobias", "TransformerConv",
                                  "TransformerConv-edge-beta", "SuperGATConv-MX", "AGNNConv"])
def test_target_to_source_flow_matches_pyg(name):
    ei, x, ea = graph()
    make = LAYERS[name][0]
    ns = lambda m: type("ns", (), {n: (lambda *a, _c=getattr(m, n), **k: _c(*a, flow="target_to_source", **k))  # noqa: E731
                                  for n in ("GATv2Conv", "TransformerConv", "SuperGATConv", "AGNNConv")})
    theirs, mine = make(ns(pyg)).eval(), make(ns(ours)).eval()
    mine.load_state_dict(theirs.state_dict())
    run_both(mine, theirs, x, ei, ea if LAYERS[name][1] else None)
    if name.startswith("GATv2"):
        extra = (ea,) if LAYERS[name][1] else ()
        (_, (ea_, aa)), (_, (eb, ab)) = (m(x, ei, *extra, return_attention_weights=True) for m in (mine, theirs))
        assert torch.equal(ea_, eb)
        torch.testing.assert_close(aa, ab)
