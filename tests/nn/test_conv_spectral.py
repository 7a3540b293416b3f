"""Spectral and propagation convs (meshgraph.nn.conv_spectral) against PyG's own layers with equal weights: state
dicts load both ways; outputs and gradients (x, parameters, edge weights) agree in float32 and float64, with and
without edge weights, on a graph whose loops are already present; cached=True across calls; empty graphs, graphs
without edges and isolated nodes give PyG's result; bipartite LEConv; sparse adj_t inputs; batched static graphs;
torch.compile(fullgraph=True); inference_mode; bad input gets ValueErrors naming the layer or argument."""

import pytest
import torch

import meshgraph as mg
import meshgraph.compat.pyg.nn as compat
import meshgraph.nn as ours

pyg = pytest.importorskip("torch_geometric.nn")

# name -> (constructor on a namespace, takes x_0 as second input, accepts edge_weight)
LAYERS = {
    "ChebConv": (lambda m: m.ChebConv(8, 5, K=3), False, True),
    "ChebConv-rw": (lambda m: m.ChebConv(8, 5, K=2, normalization="rw"), False, True),
    "ChebConv-none": (lambda m: m.ChebConv(8, 5, K=3, normalization=None, bias=False), False, True),
    "SGConv": (lambda m: m.SGConv(8, 5, K=2), False, True),
    "SGConv-noloops": (lambda m: m.SGConv(8, 5, K=3, add_self_loops=False), False, True),
    "APPNP": (lambda m: m.APPNP(K=10, alpha=0.1), False, True),
    "APPNP-raw": (lambda m: m.APPNP(K=3, alpha=0.2, normalize=False, add_self_loops=False), False, True),
    "GCN2Conv": (lambda m: m.GCN2Conv(8, alpha=0.2), True, True),
    "GCN2Conv-sep": (lambda m: m.GCN2Conv(8, alpha=0.1, theta=0.5, layer=2, shared_weights=False), True, True),
    "TAGConv": (lambda m: m.TAGConv(8, 5, K=3), False, True),
    "TAGConv-raw": (lambda m: m.TAGConv(8, 5, K=2, normalize=False), False, True),
    "ARMAConv": (lambda m: m.ARMAConv(8, 5, num_stacks=3, num_layers=2), False, True),
    "ARMAConv-shared": (lambda m: m.ARMAConv(8, 5, num_stacks=2, num_layers=3, shared_weights=True, act=None), False, True),
    "SSGConv": (lambda m: m.SSGConv(8, 5, alpha=0.1, K=3), False, True),
    "ClusterGCNConv": (lambda m: m.ClusterGCNConv(8, 5, diag_lambda=0.5), False, False),
    "LEConv": (lambda m: m.LEConv(8, 5), False, True),
    "MixHopConv": (lambda m: m.MixHopConv(8, 5, powers=[0, 1, 3]), False, True),
    "MixHopConv-no0": (lambda m: m.MixHopConv(8, 5, powers=[2, 1]), False, True),
    # K = 0 (no propagation) is valid in PyG for these four
    "SGConv-K0": (lambda m: m.SGConv(8, 5, K=0), False, True),
    "SSGConv-K0": (lambda m: m.SSGConv(8, 5, alpha=0.3, K=0), False, True),
    "APPNP-K0": (lambda m: m.APPNP(K=0, alpha=0.1), False, True),
    "TAGConv-K0": (lambda m: m.TAGConv(8, 5, K=0), False, True),
}


def graph(V=25, E=90, seed=0, dtype=torch.float32):
    """A random directed graph with duplicate edges and self loops already present (node 3 has two)."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, V, (2, E), generator=g)
    ei = torch.cat([ei, torch.tensor([[0, 3, 3, 7], [0, 3, 3, 7]])], dim=1)
    x = torch.randn(V, 8, generator=g, dtype=dtype)
    w = torch.rand(ei.shape[1], generator=g, dtype=dtype) + 0.1
    return ei, x, w


def pair(name, dtype=torch.float32):
    """(ours, PyG's) with PyG's initial weights loaded into ours, and ours loaded back into a fresh PyG layer."""
    make = LAYERS[name][0]
    theirs = make(pyg).to(dtype)
    mine = make(ours).to(dtype)
    mine.load_state_dict(theirs.state_dict())
    back = make(pyg).to(dtype)
    back.load_state_dict(mine.state_dict())
    for (k, a), (k2, b) in zip(theirs.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    return mine, theirs


def run_both(mine, theirs, name, x, ei, w=None, grad_w=True, **kwargs):
    """Outputs and gradients w.r.t. x (and x_0), every parameter and the edge weights agree."""
    tol = {}
    if name.startswith("ClusterGCNConv") and x.dtype == torch.float64:
        tol = dict(rtol=1e-6, atol=1e-6)  # PyG's degree() is float32 whatever x's dtype; ours is x's dtype
    x0_too = LAYERS[name][1]
    leaves = []
    outs = []
    for layer in (mine, theirs):
        xa = x.clone().requires_grad_(True)
        args = [xa]
        if x0_too:
            args.append((x.flip(0) * 0.5).clone().requires_grad_(True))
        args.append(ei)
        wa = None
        if w is not None:
            wa = w.clone().requires_grad_(grad_w)
            args.append(wa)
        out = layer(*args, **kwargs)
        leaves.append([a for a in args if isinstance(a, torch.Tensor) and a.requires_grad])
        outs.append(out)
    a, b = outs
    torch.testing.assert_close(a, b, equal_nan=True, **tol)
    g = torch.randn_like(b)
    (a * g).sum().backward()
    (b * g).sum().backward()
    for ta, tb in zip(*leaves):
        torch.testing.assert_close(ta.grad, tb.grad, equal_nan=True, **tol)
    pb = dict(theirs.named_parameters())
    for pname, p in mine.named_parameters():
        torch.testing.assert_close(p.grad, pb[pname].grad, msg=pname, equal_nan=True, **tol)
    return a


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name,weighted", [(n, w) for n in LAYERS for w in (False, True) if LAYERS[n][2] or not w])
def test_matches_pyg_outputs_and_gradients(name, weighted, dtype):
    ei, x, w = graph(dtype=dtype)
    mine, theirs = pair(name, dtype)
    run_both(mine, theirs, name, x, ei, w if weighted else None)


def test_compat_names_are_the_native_layers():
    from meshgraph.compat.pyg.nn.conv import appnp, cheb_conv, sg_conv

    assert compat.ChebConv is ours.ChebConv is cheb_conv.ChebConv
    assert compat.SGConv is sg_conv.SGConv and compat.APPNP is appnp.APPNP
    assert repr(ours.ChebConv(16, 32, K=3)) == repr(pyg.ChebConv(16, 32, K=3))
    assert repr(ours.MixHopConv(16, 32, powers=[0, 2])) == repr(pyg.MixHopConv(16, 32, powers=[0, 2]))


@pytest.mark.parametrize("name", ["ChebConv", "ChebConv-none"])
def test_cheb_lambda_max_and_batch_match_pyg(name):
    ei, x, w = graph()
    batch = (torch.arange(x.shape[0]) >= 12).long()
    keep = (ei[0] >= 12) == (ei[1] >= 12)  # edges inside each of the two graphs
    ei, w = ei[:, keep], w[keep]
    mine, theirs = pair(name)
    run_both(mine, theirs, name, x, ei, w, lambda_max=3.0)
    run_both(mine, theirs, name, x, ei, w, batch=batch)
    run_both(mine, theirs, name, x, ei, w, batch=batch, lambda_max=torch.tensor([2.0, 3.5]))


@pytest.mark.parametrize("name", ["SGConv", "SSGConv", "APPNP", "GCN2Conv", "APPNP-raw"])
def test_cached_matches_pyg_across_two_calls(name):
    ei, x, w = graph()
    mine, theirs = pair(name)
    mine.cached = theirs.cached = True
    first = run_both(mine, theirs, name, x, ei, w, grad_w=False)  # PyG caches the weights undetached
    # The second call reuses the cache (built from x / the graph of the first call) even for other inputs.
    x2 = x * 2
    second = run_both(mine, theirs, name, x2, ei[:, :10], None)
    if name in ("SGConv", "SSGConv"):  # the propagated features are cached: the output does not change
        torch.testing.assert_close(second, first)
    run_both(mine, theirs, name, x2, ei[:, :10], w[:10], grad_w=False)  # APPNP-raw (normalize=False) reads w
    mine.reset_parameters()
    assert getattr(mine, {"SGConv": "_cached_x", "SSGConv": "_cached_h"}.get(name, "_cached_edge_index")) is None


@pytest.mark.parametrize("case", ["no nodes", "no edges", "isolated nodes"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_empty_graph_no_edges_isolated_nodes(name, case):
    if case == "no nodes":
        x, ei = torch.randn(0, 8), torch.empty(2, 0, dtype=torch.long)
    elif case == "no edges":
        x, ei = torch.randn(5, 8), torch.empty(2, 0, dtype=torch.long)
    else:
        x, ei = torch.randn(6, 8), torch.tensor([[0, 1, 1], [1, 2, 1]])
    mine, theirs = pair(name)
    if case == "no nodes" and name.startswith("ChebConv"):
        # PyG's default lambda_max is max() over an empty Laplacian, which raises; ours is the empty result.
        with pytest.raises(RuntimeError):
            theirs(x, ei)
        out = mine(x, ei)
        assert out.shape == (0, 5)
        return
    # ChebConv(normalization=None) without edges: lambda_max = 0 and PyG's L_hat is 0/0 = NaN; ours is the same.
    run_both(mine, theirs, name, x, ei)


def test_clustergcn_without_added_loops_matches_pyg():
    # PyG adds diag_lambda * deg_inv (N,) to the loop entries, which only broadcasts with one loop per node in
    # node order; ours gives each loop that term on any graph.
    ei, x, _ = graph()
    ei = ei[:, ei[0] != ei[1]]
    loops = torch.arange(x.shape[0])
    ei = torch.cat([ei, torch.stack([loops, loops])], 1)
    for lam in (0.0, 0.7):
        make = lambda m: m.ClusterGCNConv(8, 5, diag_lambda=lam, add_self_loops=False)
        theirs, mine = make(pyg), make(ours)
        mine.load_state_dict(theirs.state_dict())
        torch.testing.assert_close(mine(x, ei), theirs(x, ei))
    no_loops = ei[:, ei[0] != ei[1]]
    assert mine(x, no_loops).shape == (25, 5)


def test_sparse_adj_t_and_graphbatch_inputs_match_pyg():
    ei, x, w = graph()
    ei = torch.unique(ei, dim=1)  # sparse inputs coalesce duplicates: keep every form the same graph
    w = torch.rand(ei.shape[1]) + 0.1
    n = x.shape[0]
    csr = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), w, (n, n)).coalesce().to_sparse_csr()
    ones = torch.sparse_coo_tensor(torch.stack([ei[1], ei[0]]), torch.ones(ei.shape[1]), (n, n)).coalesce()
    b = mg.GraphBatch([mg.Graph(num_verts=n, edge_index=ei)])
    for name in ["SGConv", "APPNP", "GCN2Conv", "TAGConv", "ARMAConv", "SSGConv", "ClusterGCNConv", "LEConv",
                 "MixHopConv", "ChebConv"]:
        mine, theirs = pair(name)
        first = (x, x) if LAYERS[name][1] else (x,)
        # PyG's ChebConv reads edge_index tensors only and its ARMAConv cannot multiply a torch.sparse matrix with
        # its (K, N, F) stacks: compare those with PyG on the same weighted edge_index.
        edge_only = name in ("ChebConv", "ARMAConv")
        for adj in (ones, csr):
            expected = theirs(*first, ei, adj.values() if adj.layout == torch.sparse_coo else w) if edge_only else theirs(*first, adj)
            torch.testing.assert_close(mine(*first, adj), expected, msg=name)
        torch.testing.assert_close(mine(*first, b), theirs(*first, ei), msg=name)


def test_batched_static_graph_features_match_pyg():
    ei, _, w = graph()
    x = torch.randn(3, 25, 8)
    for name in ["TAGConv", "SGConv", "APPNP", "MixHopConv", "ChebConv", "ARMAConv", "LEConv", "ClusterGCNConv"]:
        mine, theirs = pair(name)
        args = (x, ei) if name == "ClusterGCNConv" else (x, ei, w)
        torch.testing.assert_close(mine(*args), theirs(*args), msg=name)


def test_leconv_bipartite_matches_pyg():
    g = torch.Generator().manual_seed(1)
    x_src, x_dst = torch.randn(10, 6, generator=g), torch.randn(4, 3, generator=g)
    ei = torch.stack([torch.randint(0, 10, (30,), generator=g), torch.randint(0, 4, (30,), generator=g)])
    w = torch.rand(30, generator=g)
    theirs = pyg.LEConv((6, 3), 5)
    mine = ours.LEConv((6, 3), 5)
    mine.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(mine((x_src, x_dst), ei, w), theirs((x_src, x_dst), ei, w))
    torch.testing.assert_close(mine((x_src, x_dst), ei), theirs((x_src, x_dst), ei))


def test_appnp_edge_dropout_drops_loops_too():
    ei, x, _ = graph()
    conv = ours.APPNP(K=2, alpha=0.1, dropout=1.0)
    torch.testing.assert_close(conv(x, ei), 0.1 * x)  # PyG: every normalized weight dropped, loops included
    conv.eval()
    torch.testing.assert_close(conv(x, ei), pyg.APPNP(K=2, alpha=0.1, dropout=1.0).eval()(x, ei))


def test_lazy_arma_loads_pyg_state_dict():
    ei, x, _ = graph()
    theirs = pyg.ARMAConv(8, 5, num_stacks=2, num_layers=2)
    mine = ours.ARMAConv(-1, 5, num_stacks=2, num_layers=2)
    mine.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(mine(x, ei), theirs(x, ei))
    lazy = ours.ARMAConv(-1, 5, num_stacks=2, num_layers=2)
    assert lazy(x, ei).shape == (25, 5) and lazy.init_weight.shape == (2, 8, 5)


@pytest.mark.parametrize("name", ["SGConv", "APPNP", "ChebConv"])
def test_compile_fullgraph(name):
    ei, x, _ = graph()
    b = mg.GraphBatch([mg.Graph(num_verts=x.shape[0], edge_index=ei)])
    mine = LAYERS[name][0](ours).eval()
    expected = mine(x, b)
    torch.testing.assert_close(torch.compile(mine, fullgraph=True)(x, b), expected)
    torch._dynamo.reset()


def test_inference_mode_matches_grad_mode():
    ei, x, w = graph()
    for name in LAYERS:
        mine = LAYERS[name][0](ours).eval()
        first = (x, x) if LAYERS[name][1] else (x,)
        args = (*first, ei) if not LAYERS[name][2] else (*first, ei, w)
        expected = mine(*args)
        with torch.inference_mode():
            torch.testing.assert_close(mine(*args), expected, msg=name)


@pytest.mark.parametrize("name", [n for n in LAYERS if not n.startswith("APPNP")])
def test_wrong_channel_count_names_layer_and_width(name):
    ei, x, _ = graph()
    mine = LAYERS[name][0](ours)
    bad = torch.randn(x.shape[0], 7)
    layer = name.split("-")[0]
    args = (bad, x) if LAYERS[name][1] else (bad,)
    with pytest.raises(ValueError, match=rf"{layer} expects x with 8 channels"):
        mine(*args, ei)
    if LAYERS[name][1]:
        with pytest.raises(ValueError, match=rf"{layer} expects x_0 with 8 channels"):
            mine(x, bad, ei)


@pytest.mark.parametrize("make", [
    lambda: ours.ChebConv(4, 4, K=0), lambda: ours.SGConv(4, 4, K=-1), lambda: ours.APPNP(K=-1, alpha=0.1),
    lambda: ours.SSGConv(4, 4, alpha=0.1, K=-1), lambda: ours.TAGConv(4, 4, K=-2), lambda: ours.ChebConv(4, 4, K=1.5)])
def test_bad_k_names_the_argument(make):
    with pytest.raises(ValueError, match=r"K must be"):
        make()


@pytest.mark.parametrize("make,arg", [
    (lambda: ours.APPNP(K=2, alpha=1.5), "alpha"), (lambda: ours.APPNP(K=2, alpha=-0.1), "alpha"),
    (lambda: ours.GCN2Conv(4, alpha=2.0), "alpha"), (lambda: ours.SSGConv(4, 4, alpha=-1.0), "alpha"),
    (lambda: ours.APPNP(K=2, alpha=0.1, dropout=1.5), "dropout"), (lambda: ours.ARMAConv(4, 4, num_stacks=0), "num_stacks"),
    (lambda: ours.GCN2Conv(4, alpha=0.1, theta=0.5), "theta"), (lambda: ours.ChebConv(4, 4, K=2, normalization="x"), "normalization"),
    (lambda: ours.MixHopConv(4, 4, powers=[]), "powers")])
def test_bad_hyperparameters_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def _halved_message_subclass(base):
    """base with PyG's message halved (the names of the message arguments as base's)."""
    if "norm" in base.message.__code__.co_varnames:
        def message(self, x_j, norm):
            return 0.5 * norm.view(-1, 1) * x_j
    else:
        def message(self, x_j, edge_weight):
            return 0.5 * edge_weight.view(-1, 1) * x_j
    return type(base.__name__, (base,), {"message": message})


@pytest.mark.parametrize("name", ["SGConv", "APPNP", "ChebConv", "TAGConv", "MixHopConv", "ClusterGCNConv"])
def test_overridden_message_and_hooks_take_pyg_propagate(name):
    ei, x, w = graph()
    mine, theirs = pair(name)
    args = (x, ei) if name == "ClusterGCNConv" else (x, ei, w)
    make = LAYERS[name][0]
    a = make(type("ns", (), {name: _halved_message_subclass(type(mine))}))
    b = make(type("ns", (), {name: _halved_message_subclass(type(theirs))}))
    a.load_state_dict(b.state_dict())
    torch.testing.assert_close(a(*args), b(*args))
    seen = []
    mine.register_message_forward_hook(lambda m, inp, out: seen.append(out.shape[0]))
    torch.testing.assert_close(mine(*args), theirs(*args))
    assert seen and min(seen) >= ei.shape[1] - 4  # the messages were materialized (loops as one per node)
