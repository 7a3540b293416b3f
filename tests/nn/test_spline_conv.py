"""SplineConv against PyG's own layer with equal weights: state dicts load both ways; outputs and gradients (x,
pseudo-coordinates, weight, root weight, bias) agree for mean / add / max, degrees 1-3, D = 1..3, open and closed
splines, bipartite inputs, (x, None), sparse adjacencies, float32 and float64; empty graphs, graphs without edges
and isolated nodes; the fused and the propagate paths agree; bad input names the argument.

PyG 2.8's SplineConv calls pyg-lib's spline_basis / spline_weighting, absent here: the tests give PyG's module
torch_spline_conv's loops transcribed in tests/_spline_oracle.py, so PyG's own layer code runs as the reference."""

import warnings

import pytest
import torch

import meshgraph.compat.pyg.nn as compat
import meshgraph.compat.pyg.nn.conv as compat_conv
import meshgraph.nn as ours
from _spline_oracle import spline_basis as oracle_basis
from _spline_oracle import spline_weighting as oracle_weighting

pyg_spline = pytest.importorskip("torch_geometric.nn.conv.spline_conv")


def _pyg_basis(pseudo, kernel_size, is_open_spline, degree):
    b, i = oracle_basis(pseudo.detach(), kernel_size.tolist(), is_open_spline.tolist(), degree)
    if pseudo.requires_grad:  # the oracle is not differentiable: reattach the gradient with the reference
        from meshgraph.ops.reference import spline_basis as ref_basis

        rb, _ = ref_basis(pseudo, kernel_size, is_open_spline, degree)
        b = rb + (b.to(rb.dtype) - rb).detach()
    return b.to(pseudo.dtype), i


@pytest.fixture(autouse=True)
def _pyg_spline_ops(monkeypatch):
    monkeypatch.setattr(pyg_spline, "spline_basis", _pyg_basis)
    monkeypatch.setattr(pyg_spline, "spline_weighting", oracle_weighting)
    warnings.filterwarnings("ignore", ".*non-optimized CPU version.*")


def pair(in_channels, out_channels, dtype=torch.float64, **kw):
    torch.manual_seed(0)
    theirs = pyg_spline.SplineConv(in_channels, out_channels, **kw).to(dtype)
    mine = ours.SplineConv(in_channels, out_channels, **kw).to(dtype)
    mine.load_state_dict(theirs.state_dict())
    return theirs, mine


def data(N_src=10, N_dst=10, E=40, C=8, D=3, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N_src, C, generator=g, dtype=torch.float64).to(dtype)
    ei = torch.stack([torch.randint(0, max(N_src, 1), (E,), generator=g), torch.randint(0, max(N_dst, 1), (E,), generator=g)])
    ea = torch.rand(E, D, generator=g, dtype=torch.float64).to(dtype)
    return x, ei, ea


def assert_same(theirs, mine, args_t, args_m, leaves_t, leaves_m, **tol):
    a, b = theirs(*args_t), mine(*args_m)
    torch.testing.assert_close(b, a, **tol)
    g = torch.randn_like(a)
    params_t = [p for p in theirs.parameters()]
    params_m = [p for p in mine.parameters()]
    ga = torch.autograd.grad(a, leaves_t + params_t, g, allow_unused=True)
    gb = torch.autograd.grad(b, leaves_m + params_m, g, allow_unused=True)
    for u, v in zip(ga, gb):
        assert (u is None) == (v is None)
        if u is not None:
            torch.testing.assert_close(v, u, **tol)


def test_compat_names_and_state_dict_keys():
    assert compat.SplineConv is ours.SplineConv and compat_conv.SplineConv is ours.SplineConv
    from meshgraph.compat.pyg.nn.conv.spline_conv import SplineConv

    assert SplineConv is ours.SplineConv
    theirs, mine = pair(8, 32, dim=3, kernel_size=5)
    assert mine.state_dict().keys() == theirs.state_dict().keys()
    for k, v in theirs.state_dict().items():
        assert mine.state_dict()[k].shape == v.shape and mine.state_dict()[k].dtype == v.dtype, k
    theirs.load_state_dict(mine.state_dict())
    assert str(mine) == str(theirs) == "SplineConv(8, 32, dim=3)"
    mine2 = ours.SplineConv(8, 32, dim=3, kernel_size=[5, 4], is_open_spline=[True, False])
    theirs2 = pyg_spline.SplineConv(8, 32, dim=3, kernel_size=[5, 4], is_open_spline=[True, False])
    assert torch.equal(mine2.kernel_size, theirs2.kernel_size)  # PyG's repeat: padded with the last entry
    assert torch.equal(mine2.is_open_spline, theirs2.is_open_spline) and mine2.K == theirs2.K


@pytest.mark.parametrize("aggr", ["mean", "add", "max"])
@pytest.mark.parametrize("degree", [1, 2, 3])
@pytest.mark.parametrize("dim,ks,op", [(1, 5, True), (2, [4, 5], [True, False]), (3, [3, 4, 5], [False, True, False])])
def test_matches_pyg_outputs_and_gradients(aggr, degree, dim, ks, op):
    theirs, mine = pair(8, 6, dim=dim, kernel_size=ks, is_open_spline=op, degree=degree, aggr=aggr)
    x, ei, ea = data(D=dim, seed=degree + dim)
    xt, eat = x.clone().requires_grad_(True), ea.clone().requires_grad_(True)
    xm, eam = x.clone().requires_grad_(True), ea.clone().requires_grad_(True)
    assert_same(theirs, mine, (xt, ei, eat), (xm, ei, eam), [xt, eat], [xm, eam])


@pytest.mark.parametrize("root_weight,bias", [(True, True), (False, False)])
def test_bipartite_and_missing_destination_features(root_weight, bias):
    theirs, mine = pair((8, 16), 5, dim=2, kernel_size=4, root_weight=root_weight, bias=bias)
    x1, ei, ea = data(10, 4, 30, 8, 2, seed=1)
    x2 = torch.randn(4, 16, dtype=torch.float64)
    for xs in ((x1, x2), (x1, None)):
        a = theirs(xs, ei, ea, (10, 4))
        torch.testing.assert_close(mine(xs, ei, ea, (10, 4)), a)
        if xs[1] is not None:
            torch.testing.assert_close(mine(xs, ei, ea), theirs(xs, ei, ea))


def test_float32_matches():
    theirs, mine = pair(16, 32, dtype=torch.float32, dim=3, kernel_size=5)
    x, ei, ea = data(50, 50, 300, 16, 3, dtype=torch.float32, seed=2)
    xt, xm = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    assert_same(theirs, mine, (xt, ei, ea), (xm, ei, ea), [xt], [xm], atol=1e-5, rtol=1e-5)


def test_sparse_adjacency_carries_the_pseudo_coordinates():
    theirs, mine = pair(8, 4, dim=3, kernel_size=3)
    x, _, ea = data(6, 6, 20, 8, 3, seed=3)
    pairs = torch.randperm(36, generator=torch.Generator().manual_seed(3))[:20]
    ei = torch.stack([pairs // 6, pairs % 6])  # 20 distinct edges
    expect = theirs(x, ei, ea)
    adj_t = torch.sparse_coo_tensor(ei.flip(0), ea, (6, 6, 3)).coalesce()  # hybrid COO: (E, 3) values
    assert adj_t.indices().shape[1] == 20
    torch.testing.assert_close(mine(x, adj_t), expect)


def test_empty_graph_no_edges_and_isolated_nodes():
    theirs, mine = pair(8, 4, dim=2, kernel_size=5)
    x = torch.randn(5, 8, dtype=torch.float64)
    none = torch.empty(2, 0, dtype=torch.long)
    ea = torch.empty(0, 2, dtype=torch.float64)
    torch.testing.assert_close(mine(x, none, ea), theirs(x, none, ea))
    torch.testing.assert_close(mine(x, none, ea), mine.lin(x) + mine.bias)  # only the root term
    empty = mine(x[:0], none, ea)
    assert empty.shape == (0, 4)
    ei = torch.tensor([[0, 1, 2], [1, 1, 0]])
    ea3 = torch.rand(3, 2, dtype=torch.float64)
    out = mine(x, ei, ea3)
    torch.testing.assert_close(out, theirs(x, ei, ea3))
    torch.testing.assert_close(out[2:], mine.lin(x[2:]) + mine.bias)  # nodes 2..4 receive nothing
    xg = x.clone().requires_grad_(True)
    mine(xg, none, ea).sum().backward()
    assert xg.grad is not None


def test_fused_and_propagate_paths_agree():
    _, mine = pair(8, 6, dim=2, kernel_size=[5, 3], is_open_spline=[True, False], degree=2)
    x, ei, ea = data(12, 12, 50, 8, 2, seed=4)
    fused = mine(x, ei, ea)
    seen = []
    handle = mine.register_message_forward_hook(lambda m, inp, out: seen.append(out.shape))
    try:
        hooked = mine(x, ei, ea)
    finally:
        handle.remove()
    assert seen == [(50, 6)]  # the hook made it materialize the messages
    torch.testing.assert_close(hooked, fused)


def test_lazy_initialization_and_compile():
    mine = ours.SplineConv(-1, 32, dim=3, kernel_size=5)
    x, ei, ea = data(6, 6, 12, 8, 3, dtype=torch.float32, seed=5)
    assert mine(x, ei, ea).shape == (6, 32) and mine.weight.shape == (125, 8, 32)
    assert str(mine) == "SplineConv(-1, 32, dim=3)"
    conv = ours.SplineConv(8, 4, dim=3, kernel_size=3)
    expect = conv(x, ei, ea)
    torch.testing.assert_close(torch.compile(conv, fullgraph=True)(x, ei, ea), expect)
    torch._dynamo.reset()


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="degree must be 1, 2 or 3"):
        ours.SplineConv(8, 4, dim=2, kernel_size=5, degree=4)
    with pytest.raises(ValueError, match=r"kernel_size\[0\] must be >= 1"):
        ours.SplineConv(8, 4, dim=2, kernel_size=0)
    with pytest.raises(ValueError, match=r"kernel_size\[1\] must be >= 2 for an open spline of degree 2"):
        ours.SplineConv(8, 4, dim=2, kernel_size=[5, 1], degree=2)
    with pytest.raises(ValueError, match="dim must be an int"):
        ours.SplineConv(8, 4, dim=0, kernel_size=5)
    conv = ours.SplineConv(8, 4, dim=2, kernel_size=5)
    x, ei, ea = data(6, 6, 12, 8, 2, seed=6)
    with pytest.raises(ValueError, match="needs edge_attr"):
        conv(x, ei)
    with pytest.raises(ValueError, match=r"edge_attr of shape \(E, 2\)"):
        conv(x, ei, ea[:, :1])
    with pytest.raises(ValueError, match="edge_attr has 5 rows for 12 edges"):
        conv(x, ei, ea[:5])
    with pytest.raises(ValueError, match="SplineConv expects x with 8 channels"):
        conv(x[:, :3], ei, ea)
    with pytest.raises(ValueError, match="outside the valid range"):
        conv(x, ei + 6, ea)
