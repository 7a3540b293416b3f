"""Edge-feature and relational convs (meshgraph.nn.conv_edge, meshgraph.nn.conv_relational) against PyG's own layers
with equal weights: state dicts load both ways; outputs and gradients (x, edge features / weights, every parameter)
agree in float32 and float64; bipartite inputs; empty graphs, graphs without edges and isolated nodes give PyG's
result; subclass / hook paths; DegreeScalerAggregation and get_degree_histogram; bad input gets ValueErrors naming
the layer, the argument and the expected width."""

import pytest
import torch

import meshgraph.compat.pyg.nn as compat
import meshgraph.nn as ours

pyg = pytest.importorskip("torch_geometric.nn")

V, E, D, R = 20, 70, 3, 3
DEG = torch.tensor([2, 5, 7, 4, 2])  # a training degree histogram for PNA


def mlp(din, dout):
    return torch.nn.Sequential(torch.nn.Linear(din, 6), torch.nn.ReLU(), torch.nn.Linear(6, dout))


# name -> (constructor on a namespace, extra forward input: None, "attr", "weight" or "type")
LAYERS = {
    "NNConv": (lambda m: m.NNConv(8, 5, mlp(D, 8 * 5)), "attr"),
    "NNConv-mean-noroot": (lambda m: m.NNConv(8, 5, mlp(D, 8 * 5), aggr="mean", root_weight=False, bias=False), "attr"),
    "GENConv": (lambda m: m.GENConv(8, 8), None),
    "GENConv-edge": (lambda m: m.GENConv(8, 5, edge_dim=D, msg_norm=True, learn_msg_scale=True, learn_t=True), "attr"),
    "GENConv-power": (lambda m: m.GENConv(8, 5, aggr="powermean", learn_p=True, norm="layer", num_layers=3), None),
    "GENConv-sum": (lambda m: m.GENConv(8, 5, aggr="add", norm=None, bias=True), None),
    "GENConv-mean-edge": (lambda m: m.GENConv(8, 5, aggr="mean", edge_dim=D), "attr"),
    "GENConv-multi": (lambda m: m.GENConv(8, 5, aggr=["mean", "max"]), None),
    "PNAConv": (lambda m: m.PNAConv(8, 6, ["mean", "min", "max", "std"], ["identity", "amplification",
                                                                         "attenuation"], DEG), None),
    "PNAConv-edge-towers": (lambda m: m.PNAConv(8, 6, ["mean", "sum", "var"], ["linear", "inverse_linear"], DEG,
                                                edge_dim=D, towers=2, divide_input=True), "attr"),
    "PNAConv-deep": (lambda m: m.PNAConv(8, 6, ["max", "mean"], ["identity"], DEG, edge_dim=D, towers=3,
                                         pre_layers=2, post_layers=2, train_norm=True), "attr"),
    "GeneralConv": (lambda m: m.GeneralConv(8, 5), None),
    "GeneralConv-edge-att": (lambda m: m.GeneralConv(8, 5, D, heads=2, attention=True, skip_linear=True), "attr"),
    "GeneralConv-edge-mean": (lambda m: m.GeneralConv(8, 5, D, aggr="mean", heads=2), "attr"),
    "GeneralConv-max": (lambda m: m.GeneralConv(8, 5, aggr="max", heads=2, bias=False), None),
    "GeneralConv-edge-max": (lambda m: m.GeneralConv(8, 5, D, aggr="max"), "attr"),
    "GeneralConv-dot": (lambda m: m.GeneralConv(8, 8, D, directed_msg=False, heads=3, attention=True,
                                                attention_type="dot_product", l2_normalize=True), "attr"),
    "CGConv": (lambda m: m.CGConv(8, D), "attr"),
    "CGConv-bn-mean": (lambda m: m.CGConv(8, D, aggr="mean", batch_norm=True), "attr"),
    "CGConv-noedge": (lambda m: m.CGConv(8, aggr="max"), None),
    "GatedGraphConv": (lambda m: m.GatedGraphConv(10, num_layers=3), "weight"),
    "GatedGraphConv-mean": (lambda m: m.GatedGraphConv(8, num_layers=2, aggr="mean"), None),
    "ResGatedGraphConv": (lambda m: m.ResGatedGraphConv(8, 5), None),
    "ResGatedGraphConv-edge": (lambda m: m.ResGatedGraphConv(8, 5, edge_dim=D, root_weight=False, bias=False), "attr"),
    "FiLMConv": (lambda m: m.FiLMConv(8, 5), None),
    "FiLMConv-rel": (lambda m: m.FiLMConv(8, 5, num_relations=R), "type"),
    "FiLMConv-rel-sum-noact": (lambda m: m.FiLMConv(8, 5, num_relations=R, act=None, aggr="add"), "type"),
    "RGCNConv": (lambda m: m.RGCNConv(8, 5, R), "type"),
    "RGCNConv-add": (lambda m: m.RGCNConv(8, 5, R, aggr="add"), "type"),
    "RGCNConv-max": (lambda m: m.RGCNConv(8, 5, R, aggr="max", bias=False), "type"),
    "RGCNConv-bases": (lambda m: m.RGCNConv(8, 5, R, num_bases=2), "type"),
    "RGCNConv-blocks": (lambda m: m.RGCNConv(8, 4, R, num_blocks=2, root_weight=False), "type"),
    "FastRGCNConv": (lambda m: m.FastRGCNConv(8, 5, R), "type"),
    "FastRGCNConv-bases-add": (lambda m: m.FastRGCNConv(8, 5, R, num_bases=2, aggr="add"), "type"),
    "FastRGCNConv-blocks": (lambda m: m.FastRGCNConv(8, 4, R, num_blocks=4), "type"),
    "RGCNConv-min-blocks": (lambda m: m.RGCNConv(8, 4, R, num_blocks=4, aggr="min"), "type"),
}


def graph(n=V, e=E, seed=0, dtype=torch.float32):
    """Random directed graph with duplicate edges and self loops; node n-1 receives no edges (isolated target)."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, max(n, 1), (e,), generator=g)
    ei = torch.stack([src, torch.randint(0, max(n - 1, 1), (e,), generator=g)])
    if e >= 2:
        ei[:, :2] = torch.tensor([[3, 3], [3, 3]])  # a duplicated self loop
    x = torch.randn(n, 8, generator=g, dtype=dtype)
    attr = torch.randn(e, D, generator=g, dtype=dtype)
    w = torch.rand(e, generator=g, dtype=dtype) + 0.1
    t = torch.randint(0, R, (e,), generator=g)
    return ei, x, {"attr": attr, "weight": w, "type": t, None: None}


def pair(name, dtype=torch.float32):
    """(ours, PyG's) with PyG's initial weights loaded into ours, and ours loaded back into a fresh PyG layer."""
    make = LAYERS[name][0]
    torch.manual_seed(1)
    theirs = make(pyg).to(dtype)
    mine = make(ours).to(dtype)
    mine.load_state_dict(theirs.state_dict())
    back = make(pyg).to(dtype)
    back.load_state_dict(mine.state_dict())
    for (k, a), (k2, b) in zip(theirs.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b), k
    return mine, theirs


def run_both(mine, theirs, x, ei, extra=None, **kwargs):
    """Outputs and the gradients w.r.t. x (both sides of a pair), float edge inputs and every parameter agree."""
    leaves, outs = [], []
    for layer in (mine, theirs):
        if isinstance(x, tuple):
            xa = tuple(t.clone().requires_grad_(t.is_floating_point()) for t in x)
        else:
            xa = x.clone().requires_grad_(x.is_floating_point())
        args = [xa, ei]
        ea = None
        if extra is not None:
            ea = extra.clone().requires_grad_(extra.is_floating_point())
            args.append(ea)
        out = layer(*args, **kwargs)
        outs.append(out)
        flat = list(xa) if isinstance(xa, tuple) else [xa]
        leaves.append([t for t in flat + [ea] if isinstance(t, torch.Tensor) and t.requires_grad])
    a, b = outs
    assert a.shape == b.shape and a.dtype == b.dtype
    torch.testing.assert_close(a, b)
    if b.numel() == 0:
        return a
    g = torch.randn_like(b)
    (a * g).sum().backward()
    (b * g).sum().backward()
    for ta, tb in zip(*leaves):
        ga = ta.grad if ta.grad is not None else torch.zeros_like(ta)
        gb = tb.grad if tb.grad is not None else torch.zeros_like(tb)
        torch.testing.assert_close(ga, gb)
    pb = dict(theirs.named_parameters())
    for pname, p in mine.named_parameters():
        if not p.requires_grad:
            continue
        ga = p.grad if p.grad is not None else torch.zeros_like(p)
        gb = pb[pname].grad if pb[pname].grad is not None else torch.zeros_like(p)
        # a learnable temperature / power sums every message's contribution: float32 round-off, not a difference
        tol = dict(rtol=1e-2, atol=1e-3) if pname.startswith("aggr_module.") and p.dtype == torch.float32 else {}
        torch.testing.assert_close(ga, gb, msg=pname, **tol)
    return a


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", list(LAYERS))
def test_matches_pyg_outputs_and_gradients(name, dtype):
    ei, x, extras = graph(dtype=dtype)
    mine, theirs = pair(name, dtype)
    run_both(mine, theirs, x, ei, extras[LAYERS[name][1]])


@pytest.mark.parametrize("name", ["RGCNConv", "RGCNConv-max", "RGCNConv-bases", "FastRGCNConv"])
@pytest.mark.parametrize("form", ["none", "index", "bipartite-index"])
def test_rgcn_featureless_inputs_match_pyg(name, form):
    """x=None (one embedding per node), a node-index tensor, and an (index, index) bipartite pair."""
    ei, _, extras = graph(n=8)  # in_channels 8 = number of nodes for x=None
    mine, theirs = pair(name)
    x = {"none": None, "index": torch.randperm(8),
         "bipartite-index": (torch.randperm(8), torch.arange(8).flip(0))}[form]
    outs = [layer(x, ei, extras["type"]) for layer in (mine, theirs)]
    torch.testing.assert_close(*outs)
    outs[0].sum().backward()
    outs[1].sum().backward()
    torch.testing.assert_close(mine.weight.grad, theirs.weight.grad)


@pytest.mark.parametrize("name", ["NNConv", "GENConv-edge", "GeneralConv-edge-att", "CGConv", "ResGatedGraphConv",
                                  "ResGatedGraphConv-edge", "FiLMConv-rel", "RGCNConv", "RGCNConv-blocks"])
def test_bipartite_pairs_match_pyg(name):
    make = LAYERS[name][0]
    g = torch.Generator().manual_seed(3)
    n_src, n_dst = 11, 7
    ei = torch.stack([torch.randint(0, n_src, (30,), generator=g), torch.randint(0, n_dst, (30,), generator=g)])
    x = (torch.randn(n_src, 8, generator=g), torch.randn(n_dst, 8, generator=g))
    kind = LAYERS[name][1]
    extra = {"attr": torch.randn(30, D, generator=g), "type": torch.randint(0, R, (30,), generator=g), None: None}[kind]
    mine, theirs = pair(name)
    kwargs = {}
    if name.startswith(("NNConv", "GENConv", "GeneralConv")):
        kwargs["size"] = (n_src, n_dst)
    run_both(mine, theirs, x, ei, extra, **kwargs)


@pytest.mark.parametrize("case", ["empty", "no_edges", "isolated"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_empty_graph_no_edges_isolated_nodes(name, case):
    """PyG's result on a graph without nodes, a graph without edges, and a graph whose edges all go to node 0."""
    n, e = {"empty": (0, 0), "no_edges": (6, 0), "isolated": (6, 4)}[case]
    ei, x, extras = graph(n=n, e=e, seed=5)
    if case == "isolated":
        ei = torch.tensor([[1, 2, 2, 4], [0, 0, 0, 0]])
    if name.startswith(("GENConv-edge", "GENConv", "CGConv-bn")) and n == 0:
        mine, theirs = pair(name)
        mine.eval(), theirs.eval()  # BatchNorm cannot train on zero rows (in PyG either)
    else:
        mine, theirs = pair(name)
    out = run_both(mine, theirs, x, ei, extras[LAYERS[name][1]])
    assert out.shape[0] == n


def test_pna_without_projection_uses_the_messages_pyg_does():
    """A message hook sees PyG's (E, towers, F_in) messages, and the result still matches."""
    ei, x, extras = graph()
    mine, theirs = pair("PNAConv-edge-towers")
    seen = []
    mine.register_message_forward_hook(lambda mod, inputs, out: seen.append(out.shape))
    run_both(mine, theirs, x, ei, extras["attr"])
    assert seen == [torch.Size([E, 2, 4])]


@pytest.mark.parametrize("scalers", [["identity", "amplification", "attenuation"], ["linear", "inverse_linear"]])
def test_pna_post_layer_by_parts_never_concatenates_the_scaled_aggregates(scalers):
    """Without edge features PNAConv applies its first post Linear block by block (Linear(agg * s) = s * Linear(agg)),
    so the (N, towers, (1 + A * S) * F) input is never built: DegreeScalerAggregation.scale is not called, and the
    outputs and gradients equal PyG's (float64: in float32 both paths differ from PyG by the same ~1e-5 rounding of
    the std, more than assert_close's default). A hook on that Linear brings back PyG's concatenation."""
    ei, x, _ = graph()
    x = x.double()
    for towers in (1, 2):
        build = lambda m: m.PNAConv(8, 6, ["mean", "min", "max", "std"], scalers, DEG, towers=towers,  # noqa: E731
                                    divide_input=towers == 2)
        torch.manual_seed(0)
        theirs = build(pyg)
        mine = build(ours)
        mine.load_state_dict(theirs.state_dict())
        mine.double(), theirs.double()

        def fail(*args, **kwargs):
            raise AssertionError("PNAConv built the concatenated scaled aggregates")

        mine.aggr_module.scale = fail
        run_both(mine, theirs, x, ei)
        del mine.aggr_module.scale
        seen = []
        mine.post_nns[0][0].register_forward_hook(lambda mod, inputs, out: seen.append(inputs[0].shape[-1]))
        run_both(mine, theirs, x, ei)
        assert seen == [(1 + 4 * len(scalers)) * (8 // towers)]


def test_observed_film_and_gen_take_pyg_propagate():
    ei, x, extras = graph()
    for name in ("FiLMConv-rel", "GENConv-sum", "CGConv"):
        mine, theirs = pair(name)
        calls = []
        mine.register_propagate_forward_hook(lambda mod, inputs, out: calls.append(1))
        run_both(mine, theirs, x, ei, extras[LAYERS[name][1]])
        assert calls, name


def test_degree_scaler_aggregation_matches_pyg():
    from torch_geometric.nn.aggr import DegreeScalerAggregation as Theirs

    g = torch.Generator().manual_seed(0)
    src = torch.randn(40, 4, generator=g, requires_grad=True)
    index = torch.randint(0, 9, (40,), generator=g)
    for aggr, scaler in [("mean", "amplification"), (["sum", "max"], ["identity", "attenuation", "inverse_linear"]),
                         (["std"], ["linear"])]:
        a = ours.aggr.DegreeScalerAggregation(aggr, scaler, DEG)(src, index, dim_size=10)
        b = Theirs(aggr, scaler, DEG)(src, index, dim_size=10)
        torch.testing.assert_close(a, b)
        ga, = torch.autograd.grad(a.sum(), src)
        gb, = torch.autograd.grad(b.sum(), src)
        torch.testing.assert_close(ga, gb)
    m = ours.aggr.DegreeScalerAggregation("mean", "identity", DEG, train_norm=True)
    assert isinstance(m.avg_deg_lin, torch.nn.Parameter)
    assert set(m.state_dict()) == set(Theirs("mean", "identity", DEG, train_norm=True).state_dict())
    with pytest.raises(NotImplementedError, match="index"):
        m(src)


def test_pna_degree_histogram_matches_pyg():
    from torch_geometric.data import Data

    graphs = [Data(edge_index=graph(n=n, e=e, seed=n)[0], num_nodes=n) for n, e in [(5, 9), (12, 40), (3, 0)]]
    torch.testing.assert_close(ours.PNAConv.get_degree_histogram(graphs), pyg.PNAConv.get_degree_histogram(graphs))


def test_compat_names_are_the_native_layers():
    from meshgraph.compat.pyg.nn.aggr import scaler
    from meshgraph.compat.pyg.nn.conv import (cg_conv, film_conv, gated_graph_conv, gen_conv, general_conv, nn_conv,
                                              pna_conv, res_gated_graph_conv, rgcn_conv)

    assert compat.NNConv is ours.NNConv is nn_conv.NNConv and compat.GENConv is gen_conv.GENConv
    assert compat.PNAConv is pna_conv.PNAConv and compat.GeneralConv is general_conv.GeneralConv
    assert compat.CGConv is cg_conv.CGConv and compat.GatedGraphConv is gated_graph_conv.GatedGraphConv
    assert compat.ResGatedGraphConv is res_gated_graph_conv.ResGatedGraphConv and compat.FiLMConv is film_conv.FiLMConv
    assert compat.RGCNConv is rgcn_conv.RGCNConv and compat.FastRGCNConv is rgcn_conv.FastRGCNConv
    assert compat.DegreeScalerAggregation is scaler.DegreeScalerAggregation is ours.aggr.DegreeScalerAggregation
    assert compat.aggr.DegreeScalerAggregation is ours.DegreeScalerAggregation
    for name in ("NNConv", "GENConv", "PNAConv", "CGConv", "GatedGraphConv", "FiLMConv-rel", "RGCNConv"):
        mine, theirs = pair(name)
        assert repr(mine) == repr(theirs)


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", [n for n, (_, kind) in LAYERS.items() if kind == "attr"])
def test_edge_attr_rows_must_match_edges(name):
    ei, x, extras = graph()
    mine, _ = pair(name)
    with pytest.raises(ValueError, match="edge_attr"):
        mine(x, ei, extras["attr"][:-1])


@pytest.mark.parametrize("name", ["FiLMConv-rel", "RGCNConv", "RGCNConv-bases", "FastRGCNConv"])
def test_edge_type_out_of_range_or_mismatched(name):
    ei, x, extras = graph()
    mine, _ = pair(name)
    t = extras["type"].clone()
    t[5] = R
    with pytest.raises(ValueError, match=r"edge_type.*num_relations=3"):
        mine(x, ei, t)
    t[5] = -1
    with pytest.raises(ValueError, match="edge_type"):
        mine(x, ei, t)
    with pytest.raises(ValueError, match="edge_type"):
        mine(x, ei, extras["type"][:-1])
    with pytest.raises(ValueError, match="edge_type"):
        mine(x, ei, extras["type"].float())
    with pytest.raises(ValueError, match="edge_type"):
        mine(x, ei)


@pytest.mark.parametrize("name", [n for n in LAYERS if not n.startswith("GatedGraphConv")])
def test_wrong_channel_count_names_layer_and_width(name):
    ei, x, extras = graph()
    mine, _ = pair(name)
    layer = type(mine).__name__
    with pytest.raises(ValueError, match=rf"{layer}.*\b8\b"):
        mine(x[:, :7], ei, *([extras[LAYERS[name][1]]] if LAYERS[name][1] else []))


@pytest.mark.parametrize("name", ["NNConv", "GENConv-edge", "PNAConv-edge-towers", "CGConv", "ResGatedGraphConv-edge",
                                  "GeneralConv-edge-att"])
def test_wrong_edge_attr_width_names_layer_and_width(name):
    ei, x, extras = graph()
    mine, _ = pair(name)
    with pytest.raises(ValueError, match=rf"{type(mine).__name__}.*(edge_attr|nn)"):
        mine(x, ei, torch.randn(E, D + 1))


def test_gated_graph_conv_rejects_wider_input():
    ei, x, _ = graph()
    with pytest.raises(ValueError, match="not allowed to be larger.*GatedGraphConv.*out_channels=6"):
        ours.GatedGraphConv(6, 2)(x, ei)
    with pytest.raises(ValueError, match="edge_weight"):
        ours.GatedGraphConv(8, 2)(x, ei, torch.rand(E + 1))


def test_bad_hyperparameters_name_the_argument():
    with pytest.raises(ValueError, match="num_relations"):
        ours.RGCNConv(8, 5, 0)
    with pytest.raises(ValueError, match="num_blocks"):
        ours.RGCNConv(8, 5, R, num_blocks=3)
    with pytest.raises(ValueError, match="both basis"):
        ours.RGCNConv(8, 6, R, num_bases=2, num_blocks=2)
    with pytest.raises(ValueError, match="towers"):
        ours.PNAConv(8, 5, ["mean"], ["identity"], DEG, towers=2)
    with pytest.raises(ValueError, match="num_layers"):
        ours.GatedGraphConv(8, 0)
    with pytest.raises(ValueError, match="Unknown scaler"):
        ours.PNAConv(8, 6, ["mean"], ["cubic"], DEG)(graph()[1], graph()[0])
    with pytest.raises(ValueError, match="Block-diagonal"):
        ours.RGCNConv(8, 4, R, num_blocks=2)(None, graph(n=8)[0], graph(n=8)[2]["type"])
    with pytest.raises(ValueError, match="FastRGCNConv.*aggr"):
        ours.FastRGCNConv(8, 5, R, aggr="max")(graph()[1], graph()[0], graph()[2]["type"])


@pytest.mark.parametrize("name", ["RGCNConv", "FiLMConv-rel"])
def test_relational_edges_cached_and_refreshed_after_in_place_changes(name):
    """A fixed graph is read once (cached on edge_type); changing edge_type or edge_index in place is seen, and
    an out-of-range relation written in place is still rejected."""
    ei, x, extras = graph()
    t = extras["type"].clone()
    mine, theirs = pair(name)
    first = mine(x, ei, t)
    cached = [k for k in t.__dict__["_meshgraph_adjacency"][1] if k[0] == "relational_slots"]
    assert cached, "the edges were not cached on edge_type"
    torch.testing.assert_close(mine(x, ei, t), first)
    t[:10] = (t[:10] + 1) % R
    torch.testing.assert_close(mine(x, ei, t), theirs(x, ei, t))
    ei[0, :5] = ei[0, 5:10]
    torch.testing.assert_close(mine(x, ei, t), theirs(x, ei, t))
    other = ei.clone()
    other[1, :7] = 0
    torch.testing.assert_close(mine(x, other, t), theirs(x, other, t))  # same edge_type, another edge_index
    t[0] = R
    with pytest.raises(ValueError, match="edge_type"):
        mine(x, ei, t)


def test_rgcn_graphbatch_input_matches_edge_index():
    import meshgraph as mg

    ei, x, extras = graph()
    b = mg.GraphBatch([mg.Graph(edge_index=ei, num_verts=V)])
    assert torch.equal(b.edge_index, ei)
    mine, theirs = pair("RGCNConv")
    torch.testing.assert_close(mine(x, b, extras["type"]), theirs(x, ei, extras["type"]))


@pytest.mark.parametrize("name", ["PNAConv", "CGConv", "GENConv-sum", "GatedGraphConv", "RGCNConv", "FiLMConv-rel",
                                  "GeneralConv", "GeneralConv-edge-mean", "GeneralConv-max", "ResGatedGraphConv-edge",
                                  "CGConv-bn-mean", "CGConv-noedge"])
def test_fused_paths_do_not_materialize_propagate_messages(name):
    """PNAConv without edge features (node-level gather-scatters of the projected sources), CGConv (per-node
    projections), GENConv with a sum aggregation, GatedGraphConv (weighted copies), RGCNConv and FiLMConv
    (relation slots) never take MessagePassing's materialized message path."""
    ei, x, extras = graph()
    mine, theirs = pair(name)

    def fail(*args, **kwargs):
        raise AssertionError(f"{name} materialized per-edge messages through propagate")

    mine._materialized_propagate = fail
    args = [extras[LAYERS[name][1]]] if LAYERS[name][1] else []
    torch.testing.assert_close(mine(x, ei, *args), theirs(x, ei, *args))


SPARSE_CASES = ["NNConv", "GENConv-edge", "GENConv-sum", "PNAConv", "PNAConv-edge-towers", "CGConv",
                "GeneralConv-edge-mean", "GeneralConv", "GatedGraphConv", "ResGatedGraphConv-edge"]


@pytest.mark.parametrize("name,layout", [(n, torch.sparse_coo) for n in SPARSE_CASES]
                         + [(n, torch.sparse_csr) for n in SPARSE_CASES if LAYERS[n][1] != "attr"])
def test_sparse_adj_t_inputs_match_pyg(name, layout):
    """A torch.sparse adj_t (rows = destinations) whose values are the edge features (hybrid, (N, N, D)) or the edge
    weights ((N, N)): PyG reads them as edge_attr / edge_weight, and so do we."""
    ei, x, extras = graph()
    kind = LAYERS[name][1]
    values = extras["attr"] if kind == "attr" else extras["weight"]
    adj = torch.sparse_coo_tensor(ei.flip(0), values, (V, V, *values.shape[1:])).coalesce()
    if layout == torch.sparse_csr:
        adj = adj.to_sparse_csr()
    mine, theirs = pair(name)
    torch.testing.assert_close(mine(x, adj), theirs(x, adj))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", ["NNConv", "GENConv", "GENConv-sum", "PNAConv", "PNAConv-edge-towers", "GeneralConv",
                                  "GeneralConv-edge-att", "CGConv", "GatedGraphConv", "ResGatedGraphConv", "FiLMConv-rel",
                                  "RGCNConv", "RGCNConv-blocks", "RGCNConv-max"])
def test_half_precision_matches_float64(name, dtype):
    """The layers run in float16 / bfloat16 (kernels accumulate in float32) and agree with their float64 result."""
    ei, x, extras = graph(dtype=torch.float64)
    mine, _ = pair(name, torch.float64)
    extra = extras[LAYERS[name][1]]
    args = [extra] if extra is not None else []
    ref = mine(x, ei, *args)
    half = mine.to(dtype)
    out = half(x.to(dtype), ei, *[a.to(dtype) if a.is_floating_point() else a for a in args])
    assert out.dtype == dtype
    scale = ref.abs().max().clamp(min=1.0)
    torch.testing.assert_close(out.double() / scale, ref / scale, rtol=0, atol=0.05)


@pytest.mark.parametrize("name", ["RGCNConv", "PNAConv", "FiLMConv-rel"])
def test_compile_fullgraph(name):
    """The fused relational slots and PNA's node-level path trace without graph breaks (no cache while tracing)."""
    ei, x, extras = graph()
    mine, _ = pair(name)
    extra = extras[LAYERS[name][1]]
    args = [extra] if extra is not None else []
    torch.testing.assert_close(torch.compile(mine, fullgraph=True)(x, ei, *args), mine(x, ei, *args))
