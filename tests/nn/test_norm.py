"""Normalization layers against PyG's own (an independent implementation) with equal weights: outputs, gradients
w.r.t. x and every parameter, running statistics, in float32 and float64, train and eval mode, for batch=None,
graphs of unequal size (one without nodes, unsorted batch vectors), a 1-node graph and 0 nodes; state dicts load
both ways; bad input; GraphBatch input; torch.compile(fullgraph=True); inference_mode; MLP's norm names."""

import copy

import pytest
import torch

import meshgraph as mg
from meshgraph.nn import norm as ours_norm
from meshgraph.nn.mlp import MLP
from meshgraph.nn.norm import BatchIndexError

pyg_norm = pytest.importorskip("torch_geometric.nn.norm")

C = 6

# name -> list of (ctor args, ctor kwargs); "batched" layers take (x, batch, batch_size).
BATCHED = {
    "GraphNorm": [((C,), {})],
    "InstanceNorm": [((C,), {}), ((C,), {"affine": True, "track_running_stats": True}), ((C,), {"momentum": 0.3, "affine": True})],
    "LayerNorm": [((C,), {}), ((C,), {"affine": False}), ((C,), {"mode": "node"}), ((C,), {"mode": "node", "affine": False})],
    "PairNorm": [((), {}), ((), {"scale_individually": True, "scale": 2.5})],
    "GraphSizeNorm": [((), {})],
    "MeanSubtractionNorm": [((), {})],
}
PLAIN = {  # forward(x)
    "BatchNorm": [((C,), {}), ((C,), {"affine": False, "track_running_stats": False}), ((C,), {"momentum": None}),
                  ((C,), {"allow_single_element": True})],
    "DiffGroupNorm": [((C, 3), {"lamda": 0.5}), ((C, 2), {"track_running_stats": False, "affine": False})],
}
CASES = [(n, a, k) for n, v in BATCHED.items() for a, k in v]
PLAIN_CASES = [(n, a, k) for n, v in PLAIN.items() for a, k in v]
DTYPES = [torch.float32, torch.float64]


def ids(cases):
    return [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, _, kw in cases]


def make(name, args, kwargs, dtype, seed=0):
    """(ours, PyG's): PyG's parameters and buffers randomized, then loaded into ours."""
    torch.manual_seed(seed)
    theirs = getattr(pyg_norm, name)(*args, **kwargs).to(dtype)
    with torch.no_grad():
        for t in [*theirs.parameters(), *theirs.buffers()]:
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5)
    ours = getattr(ours_norm, name)(*args, **kwargs).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def graphs(kind, dtype, seed=1):
    """(x, batch, batch_size) of a named layout."""
    g = torch.Generator().manual_seed(seed)
    if kind == "none":
        return torch.randn(7, C, generator=g, dtype=dtype), None, None
    if kind == "unequal":  # sizes 3, 1, 5, 0, 2 (graph 3 has no nodes)
        batch = torch.repeat_interleave(torch.arange(5), torch.tensor([3, 1, 5, 0, 2]))
    elif kind == "unsorted":
        batch = torch.tensor([2, 0, 1, 2, 0, 2, 1, 1, 0, 2])
    elif kind == "int32":
        batch = torch.tensor([0, 0, 1, 1, 1, 2], dtype=torch.int32)
    elif kind == "one_node":
        batch = torch.tensor([0])
    else:
        raise AssertionError(kind)
    return torch.randn(batch.shape[0], C, generator=g, dtype=dtype), batch, int(batch.max()) + 1


def run(layer, x, *args):
    """(output, grads w.r.t. x and the parameters) or the exception type."""
    x = x.clone().requires_grad_(True)
    try:
        out = layer(x, *args)
    except (ValueError, RuntimeError) as exc:
        return type(exc)
    params = [p for p in layer.parameters() if p.requires_grad]
    g = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    grads = torch.autograd.grad((out * g).sum(), [x, *params], allow_unused=True)
    return out.detach(), grads


def assert_same(a, b):
    if isinstance(a, type) or isinstance(b, type):
        assert a == b or (isinstance(a, type) and isinstance(b, type) and issubclass(a, b)), (a, b)
        return
    torch.testing.assert_close(a[0], b[0])
    for ga, gb in zip(a[1], b[1]):
        if ga is None or gb is None:
            assert ga is None and gb is None or float((ga if gb is None else gb).abs().max()) == 0
        else:
            torch.testing.assert_close(ga, gb)


def assert_same_state(ours, theirs):
    sa, sb = ours.state_dict(), theirs.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        torch.testing.assert_close(sa[k].to(sb[k].dtype), sb[k].detach(), msg=k)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["none", "unequal", "unsorted", "int32", "one_node"])
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=ids(CASES))
def test_batched_norms_match_pyg_in_train_and_eval(name, args, kwargs, kind, dtype):
    ours, theirs = make(name, args, kwargs, dtype)
    x, batch, size = graphs(kind, dtype)
    call = () if batch is None else (batch, size)
    # PyG's scatter has wrong gradients for an int32 index (its gradcheck fails): PyG gets the int64 batch.
    peer_call = () if batch is None else (batch.long(), size)
    for step in range(2):  # twice in training (running statistics move), then eval
        assert_same(run(ours, x + step, *call), run(theirs, x + step, *peer_call))
        assert_same_state(ours, theirs)
    ours.eval(), theirs.eval()
    assert_same(run(ours, x, *call), run(theirs, x, *peer_call))
    if batch is not None and kind != "int32":  # batch_size inferred (PyG's batch.max() + 1)
        assert_same(run(ours, x, batch), run(theirs, x, batch))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs", PLAIN_CASES, ids=ids(PLAIN_CASES))
def test_plain_norms_match_pyg_in_train_and_eval(name, args, kwargs, dtype):
    ours, theirs = make(name, args, kwargs, dtype)
    x = torch.randn(11, C, dtype=dtype)
    for step in range(2):
        assert_same(run(ours, x * (step + 1)), run(theirs, x * (step + 1)))
        assert_same_state(ours, theirs)
    for rows in (1, 0):  # one node (torch's BatchNorm1d raises in training) and no nodes
        assert_same(run(ours, x[:rows]), run(theirs, x[:rows]))
        assert_same_state(ours, theirs)
    ours.eval(), theirs.eval()
    for rows in (11, 1, 0):
        assert_same(run(ours, x[:rows]), run(theirs, x[:rows]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("conf", [{}, {"affine": False}, {"track_running_stats": False}, {"momentum": None}])
def test_hetero_batch_norm_matches_pyg(conf, dtype):
    ours, theirs = make("HeteroBatchNorm", (C, 4), conf, dtype)
    x = torch.randn(12, C, dtype=dtype)
    types = torch.tensor([3, 0, 0, 1, 3, 3, 0, 1, 1, 0, 3, 0])  # type 2 absent: its running stats stay
    for step in range(2):
        assert_same(run(ours, x + step, types), run(theirs, x + step, types))
        assert_same_state(ours, theirs)
    ours.eval(), theirs.eval()
    assert_same(run(ours, x, types), run(theirs, x, types))
    assert_same(run(ours, x[:0], types[:0]), run(theirs, x[:0], types[:0]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [True, False])
def test_hetero_layer_norm_matches_pyg(affine, dtype):
    ours, theirs = make("HeteroLayerNorm", (C, 3), {"affine": affine}, dtype)
    x = torch.randn(9, C, dtype=dtype)
    types = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    assert_same(run(ours, x, types), run(theirs, x, types))
    for ptr in ([0, 3, 5, 9], torch.tensor([0, 3, 5, 9]), [0, 9]):
        assert_same(run(ours, x, None, ptr), run(theirs, x, None, ptr))
    with pytest.raises(ValueError, match="type_vec"):
        ours(x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("learn_scale", [True, False])
def test_message_norm_matches_pyg(learn_scale, dtype):
    ours, theirs = make("MessageNorm", (), {"learn_scale": learn_scale}, dtype)
    x, msg = torch.randn(8, C, dtype=dtype), torch.randn(8, C, dtype=dtype)
    msg[2] = 0  # a zero message stays 0 (F.normalize's eps)
    for p in (2.0, 1.0):
        mx = msg.clone().requires_grad_(True)
        a, b = ours(x, mx, p), theirs(x, msg.clone(), p)
        torch.testing.assert_close(a, b)
        assert_same(run(ours, x, msg, p), run(theirs, x, msg, p))
    assert ours(x[:0], msg[:0]).shape == (0, C)
    with pytest.raises(ValueError, match="MessageNorm"):
        ours(x, msg[:3])


def test_state_dicts_load_both_ways():
    for name, args, kwargs in [*CASES, *PLAIN_CASES, ("HeteroBatchNorm", (C, 3), {}), ("HeteroLayerNorm", (C, 3), {}),
                               ("MessageNorm", (), {"learn_scale": True})]:
        ours, theirs = make(name, args, kwargs, torch.float32)
        assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
        fresh = getattr(pyg_norm, name)(*args, **kwargs)
        fresh.load_state_dict(ours.state_dict())  # strict: same names, shapes
        assert_same_state(ours, fresh)
        assert repr(ours) == repr(theirs)


@pytest.mark.filterwarnings("ignore:.*degrees of freedom:UserWarning")  # LayerNorm's std of nothing, as PyG's
@pytest.mark.parametrize("name,args,kwargs", CASES, ids=ids(CASES))
def test_empty_input_gives_an_empty_output(name, args, kwargs):
    """0 nodes: PyG's result where PyG has one (batch=None, or batch_size given); with a batch vector and no
    batch_size PyG's batch.max() fails, ours reads 0 graphs and returns (0, C) too."""
    ours, theirs = make(name, args, kwargs, torch.float64)
    x, batch = torch.randn(0, C, dtype=torch.float64), torch.zeros(0, dtype=torch.long)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        assert_same(run(ours, x), run(theirs, x))
        assert_same(run(ours, x, batch, 2), run(theirs, x, batch, 2))
        assert_same_state(ours, theirs)
        assert copy.deepcopy(ours)(x, batch).shape == (0, C)


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=ids(CASES))
def test_graph_batch_input_equals_its_batch_vector(name, args, kwargs):
    ours, _ = make(name, args, kwargs, torch.float64)
    ours.eval()
    sizes = [3, 1, 4, 2]
    gb = mg.GraphBatch.from_packed(sizes)
    x = torch.randn(sum(sizes), C, dtype=torch.float64)
    torch.testing.assert_close(ours(x, gb), ours(x, gb.graph_index, len(sizes)))
    torch.testing.assert_close(ours(x, gb, len(sizes)), ours(x, gb.graph_index))
    if kwargs.get("mode") == "node":
        return  # per-node: the batch is not read (as PyG)
    if "batch_size" in ours.forward.__code__.co_varnames:
        with pytest.raises(ValueError, match="3 but the GraphBatch holds 4"):
            ours(x, gb, 3)
    with pytest.raises(ValueError, match="GraphBatch has 10 vertices"):
        ours(x[:5], gb)


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=ids(CASES))
def test_batch_index_out_of_bounds_names_the_layer(name, args, kwargs):
    ours, _ = make(name, args, kwargs, torch.float32)
    x, batch = torch.randn(3, C), torch.tensor([0, 0, 1])
    if getattr(ours, "mode", "graph") == "node" or (name == "InstanceNorm" and not ours.training):
        return  # per-node modes read no batch statistics
    with pytest.raises(BatchIndexError, match=f"{name}: .*out of bounds for (batch|dim)_size=1"):
        ours(x, batch, 1)
    with pytest.raises(RuntimeError, match="out of bounds"):  # as PyG's scatter error
        ours(x, batch, 1)
    with pytest.raises(ValueError, match=f"{name}: batch must have one entry per row of x \\(3\\), got 2"):
        ours(x, batch[:2])
    with pytest.raises(TypeError, match=name):
        ours(x, [0, 0, 1])
    with pytest.raises(ValueError, match="batch_size|dim_size"):
        ours(x, batch, -1)


@pytest.mark.parametrize("name,args,kwargs", [c for c in [*CASES, *PLAIN_CASES] if c[1]], ids=ids([c for c in [*CASES, *PLAIN_CASES] if c[1]]))
def test_wrong_channel_count_names_the_layer_and_width(name, args, kwargs):
    ours = getattr(ours_norm, name)(*args, **kwargs)
    with pytest.raises(ValueError, match=f"{name} expects x with {C} features"):
        ours(torch.randn(4, C + 1))


def test_hetero_layers_check_widths_and_types():
    with pytest.raises(ValueError, match="HeteroBatchNorm expects x with 6 features"):
        ours_norm.HeteroBatchNorm(C, 2)(torch.randn(4, 5), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="HeteroLayerNorm expects x with 6 features"):
        ours_norm.HeteroLayerNorm(C, 2)(torch.randn(4, 5), torch.zeros(4, dtype=torch.long))
    with pytest.raises(BatchIndexError, match="HeteroBatchNorm: .*out of bounds for num_types=2"):
        ours_norm.HeteroBatchNorm(C, 2)(torch.randn(4, C), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(BatchIndexError, match="HeteroLayerNorm: .*out of bounds for num_types=2"):
        ours_norm.HeteroLayerNorm(C, 2)(torch.randn(4, C), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="type_ptr has 3 types, more than num_types"):
        ours_norm.HeteroLayerNorm(C, 2)(torch.randn(4, C), type_ptr=[0, 1, 2, 4])


def test_bad_mode_is_a_value_error():
    with pytest.raises(ValueError, match="LayerNorm: mode must be one of \\('graph', 'node'\\), got 'nodes'"):
        ours_norm.LayerNorm(C, mode="nodes")
    norm = ours_norm.LayerNorm(C)
    norm.mode = "edge"
    with pytest.raises(ValueError, match="got 'edge'"):
        norm(torch.randn(3, C))
    with pytest.raises(ValueError, match="HeteroLayerNorm: mode must be one of \\('node',\\)"):
        ours_norm.HeteroLayerNorm(C, 2, mode="graph")
    with pytest.raises(ValueError, match="requires 'track_running_stats'"):
        ours_norm.BatchNorm(C, track_running_stats=False, allow_single_element=True)


def test_group_distance_ratio_matches_pyg():
    x = torch.randn(10, C)
    y = torch.tensor([0, 1, 0, 1, 2, 2, 1, 0, 2, 1])
    assert ours_norm.DiffGroupNorm.group_distance_ratio(x, y) == pytest.approx(
        pyg_norm.DiffGroupNorm.group_distance_ratio(x, y), rel=1e-5)


def test_inference_mode_matches_pyg():
    x, batch, size = graphs("unequal", torch.float32)
    for name, args, kwargs in CASES:
        ours, theirs = make(name, args, kwargs, torch.float32)
        expected = theirs(x, batch, size).detach()
        with torch.inference_mode():
            out = ours(x, batch, size)
            out_none = ours(x)
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(out_none, theirs(x).detach())
        assert_same_state(ours, theirs)


@pytest.mark.parametrize("name,args,kwargs", [("GraphNorm", (C,), {}), ("LayerNorm", (C,), {})], ids=["GraphNorm", "LayerNorm-graph"])
def test_compile_fullgraph(name, args, kwargs):
    """PyG's own forward compiles with fullgraph=True as well (batch_size given); ours must."""
    torch._dynamo.reset()
    ours, theirs = make(name, args, kwargs, torch.float32)
    x, batch, size = graphs("unequal", torch.float32)
    compiled = torch.compile(ours, fullgraph=True, backend="aot_eager")
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    a, b = compiled(xa, batch, size), theirs(xb, batch, size)
    torch.testing.assert_close(a, b)
    a.square().sum().backward()
    b.square().sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)
    torch.testing.assert_close(compiled(x), theirs(x))


@pytest.mark.parametrize("norm", ["BatchNorm", "GraphNorm", "InstanceNorm", "LayerNorm", "batch_norm", "graph_norm",
                                  "layer", "pair_norm"])
def test_mlp_resolves_norm_names_as_pyg(norm):
    from torch_geometric.nn import MLP as PyGMLP

    torch.manual_seed(0)
    theirs = PyGMLP(8, hidden_channels=16, out_channels=4, num_layers=3, norm=norm)
    ours = MLP(8, hidden_channels=16, out_channels=4, num_layers=3, norm=norm)
    ours.load_state_dict(theirs.state_dict())
    assert ours.supports_norm_batch == theirs.supports_norm_batch
    assert [type(n).__name__ for n in ours.norms] == [type(n).__name__ for n in theirs.norms]
    x, batch = torch.randn(7, 8), torch.tensor([0, 0, 0, 1, 1, 2, 2])
    torch.testing.assert_close(ours(x, batch=batch), theirs(x, batch=batch))
    if ours.supports_norm_batch:
        with pytest.raises(RuntimeError, match="out of bounds"):
            ours(x, batch=batch, batch_size=1)
    with pytest.raises(ValueError, match="Could not resolve 'no_such_norm'"):
        MLP([8, 4, 2], norm="no_such_norm")


def test_normalization_resolver_passes_modules_through():
    layer = ours_norm.GraphNorm(4)
    assert ours_norm.normalization_resolver(layer, 16) is layer
    assert isinstance(ours_norm.normalization_resolver("Graph-Norm", 16), ours_norm.GraphNorm)


def test_compat_names_are_the_layers():
    from meshgraph.compat.pyg import nn as compat_nn
    from meshgraph.compat.pyg.nn import norm as compat_norm
    from meshgraph.compat.pyg.nn.norm import layer_norm

    for name in pyg_norm.__all__:
        assert getattr(compat_nn, name) is getattr(ours_norm, name) is getattr(compat_norm, name)
    assert layer_norm.HeteroLayerNorm is ours_norm.HeteroLayerNorm
