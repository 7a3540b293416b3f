"""Dense layers and pools (meshgraph.nn.dense) against PyG 2.8's with equal weights: outputs, gradients and
return tuples of DenseGCNConv / DenseSAGEConv / DenseGINConv / DenseGraphConv (add, mean, max), dense_diff_pool,
dense_mincut_pool and DMoNPooling, with and without masks, unbatched inputs, graphs without edges; bad input."""

import pytest
import torch

import meshgraph.compat.pyg.nn as compat
import meshgraph.nn as ours

pyg = pytest.importorskip("torch_geometric.nn")
from torch_geometric.utils import to_dense_adj, to_dense_batch  # noqa: E402


def dense_batch(sizes=(5, 8, 3), F=6, seed=0, dtype=torch.float32, weighted=False):
    g = torch.Generator().manual_seed(seed)
    N = sum(sizes)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    ei = []
    off = 0
    for n in sizes:
        a = torch.triu(torch.rand(n, n, generator=g) < 0.5, 1).nonzero().t() + off
        ei.append(torch.cat([a, a.flip(0)], 1))
        off += n
    ei = torch.cat(ei, 1)
    w = torch.rand(ei.shape[1], generator=g, dtype=dtype) + 0.2 if weighted else None
    x, mask = to_dense_batch(torch.randn(N, F, generator=g, dtype=dtype), batch)
    adj = to_dense_adj(ei, batch, w).to(dtype)
    return x, adj, mask


def assert_same(a, b, atol=1e-5):
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape)
    torch.testing.assert_close(a, b, atol=atol, rtol=1e-4)


def grads(outputs, inputs):
    loss = sum((o * torch.linspace(0.5, 1.5, o.numel(), dtype=o.dtype).view_as(o)).sum() for o in outputs)
    return torch.autograd.grad(loss, inputs, allow_unused=True)


def twins(make, seed=1):
    torch.manual_seed(seed)
    theirs = make(pyg)
    mine = make(compat)
    mine.load_state_dict(theirs.state_dict())
    return mine, theirs


CONVS = {
    "gcn": lambda m: m.DenseGCNConv(6, 4),
    "gcn-improved": lambda m: m.DenseGCNConv(6, 4, improved=True, bias=False),
    "sage": lambda m: m.DenseSAGEConv(6, 4),
    "sage-norm": lambda m: m.DenseSAGEConv(6, 4, normalize=True, bias=False),
    "gin": lambda m: m.DenseGINConv(torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4))),
    "gin-eps": lambda m: m.DenseGINConv(torch.nn.Linear(6, 4), eps=0.3, train_eps=True),
    "graph-add": lambda m: m.DenseGraphConv(6, 4),
    "graph-mean": lambda m: m.DenseGraphConv(6, 4, aggr="mean"),
    "graph-max": lambda m: m.DenseGraphConv(6, 4, aggr="max", bias=False),
}


@pytest.mark.parametrize("name", list(CONVS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_dense_convs_match_pyg(name, dtype, weighted):
    mine, theirs = twins(CONVS[name])
    mine.to(dtype), theirs.to(dtype)
    x, adj, mask = dense_batch(dtype=dtype, weighted=weighted)
    for m in (None, mask):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        aa, ab = adj.clone().requires_grad_(), adj.clone().requires_grad_()
        a, b = mine(xa, aa, m), theirs(xb, ab, m)
        assert_same(a, b)
        for u, v in zip(grads([a], [xa, aa, *mine.parameters()]), grads([b], [xb, ab, *theirs.parameters()])):
            if u is None or v is None:
                other = v if u is None else u
                assert other is None or not other.any()
                continue
            assert_same(u, v, atol=1e-4)
    # unbatched inputs; an unbatched adj (and (N,) mask) broadcast over a batch of x; add_loop=False
    assert_same(mine(x[1], adj[1]), theirs(x[1], adj[1]))
    assert_same(mine(x, adj[1], mask[1]), theirs(x, adj[1], mask[1]))
    if name.startswith(("gcn", "gin")):
        assert_same(mine(x, adj, mask, add_loop=False), theirs(x, adj, mask, add_loop=False))
    assert repr(mine) == repr(theirs)


@pytest.mark.parametrize("name", list(CONVS))
def test_dense_convs_without_edges(name):
    mine, theirs = twins(CONVS[name])
    x = torch.randn(2, 4, 6)
    adj = torch.zeros(2, 4, 4)
    assert_same(mine(x, adj), theirs(x, adj))


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("fn,extra", [("dense_diff_pool", True), ("dense_diff_pool", False),
                                      ("dense_mincut_pool", 1.0), ("dense_mincut_pool", 0.5)])
def test_dense_pools_match_pyg(masked, fn, extra):
    """dense_diff_pool (extra: normalize) and dense_mincut_pool (extra: temp): all four outputs and gradients."""
    x, adj, mask = dense_batch(weighted=True)
    s = torch.randn(x.shape[0], x.shape[1], 3, generator=torch.Generator().manual_seed(2))
    m = mask if masked else None
    ins_a = [t.clone().requires_grad_() for t in (x, adj, s)]
    ins_b = [t.clone().requires_grad_() for t in (x, adj, s)]
    a = getattr(compat, fn)(*ins_a, m, extra)
    b = getattr(pyg, fn)(*ins_b, m, extra)
    assert len(a) == len(b) == 4
    for u, v in zip(a, b):
        assert_same(u, v)
    for u, v in zip(grads(a, ins_a), grads(b, ins_b)):
        assert_same(u, v, atol=1e-4)
    for u, v in zip(getattr(compat, fn)(x[0], adj[0], s[0]), getattr(pyg, fn)(x[0], adj[0], s[0])):
        assert_same(u, v)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("channels", [6, [6, 5]])
def test_dmon_pool_matches_pyg(masked, channels):
    mine, theirs = twins(lambda m: m.DMoNPooling(channels, k=3))
    x, adj, mask = dense_batch(weighted=True)
    m = mask if masked else None
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = mine(xa, adj, m), theirs(xb, adj, m)
    assert len(a) == len(b) == 6
    for u, v in zip(a, b):
        assert_same(u, v)
    for u, v in zip(grads(a, [xa, *mine.parameters()]), grads(b, [xb, *theirs.parameters()])):
        assert_same(u, v, atol=1e-4)
    assert repr(mine) == repr(theirs)


def test_dmon_dropout_uses_the_same_rng():
    mine, theirs = twins(lambda m: m.DMoNPooling(6, k=3, dropout=0.5))
    x, adj, mask = dense_batch(weighted=True)
    torch.manual_seed(5)
    a = mine(x, adj, mask)
    torch.manual_seed(5)
    b = theirs(x, adj, mask)
    for u, v in zip(a, b):
        assert_same(u, v)


def test_dense_bad_input_names_the_argument():
    x, adj, mask = dense_batch()
    with pytest.raises(ValueError, match="in_channels"):
        ours.DenseGCNConv(5, 4)(x, adj)
    with pytest.raises(ValueError, match="adj"):
        ours.DenseSAGEConv(6, 4)(x, adj[:, :3])
    with pytest.raises(ValueError, match="mask"):
        ours.DenseGraphConv(6, 4)(x, adj, mask[:, :3])
    with pytest.raises(ValueError, match="aggr"):
        ours.DenseGraphConv(6, 4, aggr="sum")
    with pytest.raises(ValueError, match="s must be"):
        ours.dense_diff_pool(x, adj, torch.randn(3, 2, 2))
    with pytest.raises(ValueError, match="in_channels"):
        ours.DMoNPooling(5, 3)(x, adj)
    with pytest.raises(TypeError, match="adj"):
        ours.DenseGINConv(torch.nn.Linear(6, 4))(x, None)


def test_compat_dense_modules():
    from meshgraph.compat.pyg.nn.dense import (diff_pool, dmon_pool, dense_gcn_conv, dense_gin_conv,
                                               dense_graph_conv, dense_sage_conv, mincut_pool)

    assert dense_gcn_conv.DenseGCNConv is compat.DenseGCNConv is ours.DenseGCNConv
    assert dense_sage_conv.DenseSAGEConv is ours.DenseSAGEConv and dense_gin_conv.DenseGINConv is ours.DenseGINConv
    assert dense_graph_conv.DenseGraphConv is ours.DenseGraphConv
    assert diff_pool.dense_diff_pool is ours.dense_diff_pool and mincut_pool.dense_mincut_pool is ours.dense_mincut_pool
    assert dmon_pool.DMoNPooling is compat.DMoNPooling
