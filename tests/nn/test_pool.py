"""Pooling (meshgraph.nn.pool) against PyG 2.8's own layers and functions with equal weights and the same RNG:
TopKPooling / SAGPooling / ASAPooling / EdgePooling outputs (every element of the return tuple) and gradients;
select / connect pieces; avg / max pooling over a cluster assignment (x, pooled coalesced edges without
self-loops, batch, pos) and over neighbourhoods; global_sort_pool; graclus feeding the pools; empty graphs, graphs
without edges and isolated nodes; bad input (ratio, k > N, widths) gets ValueErrors naming the argument."""

import pytest
import torch

import meshgraph.compat.pyg.nn as compat
import meshgraph.nn as ours
from meshgraph.nn import pool as mp
from meshgraph.records import Batch as MBatch, Data as MData

pyg = pytest.importorskip("torch_geometric.nn")
from torch_geometric.data import Batch as PBatch, Data as PData  # noqa: E402
from torch_geometric.nn.pool.connect.filter_edges import filter_adj as pyg_filter_adj  # noqa: E402
from torch_geometric.nn.pool.consecutive import consecutive_cluster as pyg_consecutive  # noqa: E402
from torch_geometric.nn.pool.select.topk import topk as pyg_topk  # noqa: E402


def batch_graph(sizes=(9, 6, 12), p=0.35, seed=0, F=8, dtype=torch.float32):
    """Random undirected graphs of the given sizes, batched; one isolated node in the last graph."""
    g = torch.Generator().manual_seed(seed)
    edges, offset = [], 0
    for n in sizes:
        a = torch.rand(n, n, generator=g) < p
        a = torch.triu(a, 1)
        if n > 3:
            a[:, n - 1] = False
            a[n - 1, :] = False
        ei = a.nonzero().t() + offset
        edges.append(torch.cat([ei, ei.flip(0)], 1))
        offset += n
    ei = torch.cat(edges, 1)
    x = torch.randn(offset, F, generator=g, dtype=dtype)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    attr = torch.randn(ei.shape[1], 3, generator=g, dtype=dtype)
    return x, ei, batch, attr


def assert_same(a, b, atol=1e-6):
    if a is None or b is None:
        assert a is None and b is None
        return
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    if a.dtype.is_floating_point:
        torch.testing.assert_close(a, b, atol=atol, rtol=1e-5)
    else:
        assert torch.equal(a, b)


def grads(outputs, inputs):
    loss = sum((o.float() * torch.linspace(0.5, 1.5, o.numel()).view_as(o)).sum() for o in outputs
               if o is not None and o.dtype.is_floating_point and o.requires_grad)
    return torch.autograd.grad(loss, inputs, allow_unused=True)


def twins(make, seed=1):
    torch.manual_seed(seed)
    theirs = make(pyg)
    mine = make(compat)
    mine.load_state_dict(theirs.state_dict())
    back = make(pyg)
    back.load_state_dict(mine.state_dict())
    return mine, theirs


# ---------------------------------------------------------------------- topk / select / connect


@pytest.mark.parametrize("ratio", [0.5, 0.3, 1.0, 2, 3])
def test_topk_matches_pyg(ratio):
    for seed in range(3):
        x = torch.randn(30, generator=torch.Generator().manual_seed(seed))
        batch = torch.tensor([0] * 8 + [1] * 10 + [2] * 12)
        assert torch.equal(mp.topk(x, ratio, batch), pyg_topk(x, ratio, batch))
    x = torch.tensor([2.0, 4.0, 5.0, 6.0, 2.0, 9.0])
    b = torch.tensor([0, 0, 1, 1, 1, 1])
    assert torch.equal(mp.topk(x, 0.5, b, min_score=0.1), pyg_topk(x, 0.5, b, min_score=0.1))


def test_filter_adj_matches_pyg():
    _, ei, _, attr = batch_graph()
    keep = torch.tensor([0, 3, 4, 8, 10, 11, 20, 25])
    for cluster in (None, torch.arange(keep.numel()).flip(0)):
        a = mp.filter_adj(ei, attr, keep, cluster, num_nodes=27)
        b = pyg_filter_adj(ei, attr, keep, cluster, num_nodes=27)
        assert_same(a[0], b[0])
        assert_same(a[1], b[1])


def _pool_case(name):
    return {
        "topk": (lambda m: m.TopKPooling(8, ratio=0.5), True),
        "topk-int": (lambda m: m.TopKPooling(8, ratio=3, multiplier=2.0), True),
        "topk-min": (lambda m: m.TopKPooling(8, min_score=0.1, nonlinearity="sigmoid"), True),
        "sag": (lambda m: m.SAGPooling(8, ratio=0.6), True),
        "sag-gcn": (lambda m: m.SAGPooling(8, ratio=0.5, GNN=m.GCNConv, multiplier=0.5), True),
        "sag-min": (lambda m: m.SAGPooling(8, min_score=0.05), True),
    }[name]


@pytest.mark.parametrize("name", ["topk", "topk-int", "topk-min", "sag", "sag-gcn", "sag-min"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_topk_family_matches_pyg(name, dtype):
    make, _ = _pool_case(name)
    mine, theirs = twins(make)
    mine.to(dtype), theirs.to(dtype)
    x, ei, batch, attr = batch_graph(dtype=dtype)
    for use_batch in (True, False):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        b = batch if use_batch else None
        out_m = mine(xa, ei, attr, b)
        out_t = theirs(xb, ei, attr, b)
        assert len(out_m) == len(out_t) == 6
        for a, c in zip(out_m, out_t):
            assert_same(a, c)
        ga = grads(out_m, [xa, *mine.parameters()])
        gb = grads(out_t, [xb, *theirs.parameters()])
        for a, c in zip(ga, gb):
            assert_same(a, c, atol=1e-5)
    # attn: scores from another tensor
    attn = torch.randn_like(x)
    for a, c in zip(mine(x, ei, attr, batch, attn), theirs(x, ei, attr, batch, attn)):
        assert_same(a, c)
    # SAGPooling prints its GNN's class name (compat's GraphConv class is meshgraph.nn.PyGGraphConv)
    assert repr(mine) == repr(theirs).replace("(GraphConv", f"({type(getattr(mine, 'gnn', None)).__name__}")


@pytest.mark.parametrize("gnn", [None, "GraphConv", "GCNConv"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("loops", [False, True])
def test_asap_matches_pyg(gnn, weighted, loops):
    def make(m):
        return m.ASAPooling(8, ratio=0.5, GNN=None if gnn is None else getattr(m, gnn), add_self_loops=loops)

    mine, theirs = twins(make)
    # seed 2: no two nodes of a graph share their closed neighbourhood (their fitness would tie exactly, and
    # PyG's unstable sort orders exact ties by summation rounding)
    x, ei, batch, _ = batch_graph(seed=2)
    w = torch.rand(ei.shape[1], generator=torch.Generator().manual_seed(4)) + 0.1 if weighted else None
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_m, out_t = mine(xa, ei, w, batch), theirs(xb, ei, w, batch)
    assert len(out_m) == len(out_t) == 5
    for a, c in zip(out_m, out_t):
        assert_same(a, c, atol=1e-5)
    # gradients of the pooled x (torch.sparse cannot backpropagate S^T A S into the pooled edge weights, in PyG
    # either)
    for a, c in zip(grads(out_m[:1], [xa, *mine.parameters()]), grads(out_t[:1], [xb, *theirs.parameters()])):
        assert_same(a, c, atol=1e-4)
    assert repr(mine) == repr(theirs)


def test_asap_dropout_uses_the_same_rng():
    mine, theirs = twins(lambda m: m.ASAPooling(8, ratio=0.5, dropout=0.3))
    x, ei, batch, _ = batch_graph(seed=2)
    torch.manual_seed(7)
    out_m = mine(x, ei, None, batch)
    torch.manual_seed(7)
    out_t = theirs(x, ei, None, batch)
    for a, c in zip(out_m, out_t):
        assert_same(a, c, atol=1e-5)


@pytest.mark.parametrize("method", [None, "compute_edge_score_tanh", "compute_edge_score_sigmoid"])
def test_edge_pool_matches_pyg(method):
    def make(m):
        score = None if method is None else getattr(m.EdgePooling, method)
        return m.EdgePooling(8, edge_score_method=score, add_to_edge_score=0.3 if method else 0.5)

    mine, theirs = twins(make)
    x, ei, batch, _ = batch_graph()
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_m, out_t = mine(xa, ei, batch), theirs(xb, ei, batch)
    for a, c in zip(out_m[:3], out_t[:3]):
        assert_same(a, c)
    for a, c in zip(out_m[3], out_t[3]):
        assert_same(a, c)
    for a, c in zip(grads(out_m[:1], [xa, *mine.parameters()]), grads(out_t[:1], [xb, *theirs.parameters()])):
        assert_same(a, c, atol=1e-5)
    un_m, un_t = mine.unpool(out_m[0], out_m[3]), theirs.unpool(out_t[0], out_t[3])
    for a, c in zip(un_m, un_t):
        assert_same(a, c)
    assert repr(mine) == repr(theirs)


def test_edge_pool_dropout_uses_the_same_rng():
    mine, theirs = twins(lambda m: m.EdgePooling(8, dropout=0.4))
    x, ei, batch, _ = batch_graph()
    torch.manual_seed(3)
    a = mine(x, ei, batch)
    torch.manual_seed(3)
    b = theirs(x, ei, batch)
    for u, v in zip(a[:3], b[:3]):
        assert_same(u, v)


# ---------------------------------------------------------------------- cluster pooling


def _clusters(n=27, groups=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, groups, (n,), generator=g) * 3  # non-consecutive ids


def test_consecutive_cluster_matches_pyg():
    c = _clusters()
    for a, b in zip(mp.consecutive_cluster(c), pyg_consecutive(c)):
        assert torch.equal(a, b)


@pytest.mark.parametrize("fn", ["avg_pool_x", "max_pool_x"])
def test_pool_x_matches_pyg(fn):
    x, _, batch, _ = batch_graph()
    cluster = torch.cat([torch.arange(9) // 2, 5 + torch.arange(6) // 3, 7 + torch.arange(12) // 4]) * 2
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    a, b = getattr(mp, fn)(cluster, xa, batch), getattr(pyg, fn)(cluster, xb, batch)
    assert_same(a[0], b[0])
    assert_same(a[1], b[1])
    assert_same(grads(a[:1], [xa])[0], grads(b[:1], [xb])[0])
    # fixed size per graph: ids used as they are
    local = torch.cat([torch.arange(9) % 4, torch.arange(6) % 4, torch.arange(12) % 4]) + batch * 4
    a, b = getattr(mp, fn)(local, x, batch, size=4), getattr(pyg, fn)(local, x, batch, size=4)
    assert_same(a[0], b[0])
    assert a[1] is None and b[1] is None
    a, b = getattr(mp, fn)(local, x, batch, batch_size=3, size=4), getattr(pyg, fn)(local, x, batch, batch_size=3, size=4)
    assert_same(a[0], b[0])


@pytest.mark.parametrize("fn", ["avg_pool", "max_pool"])
def test_pool_data_matches_pyg(fn):
    x, ei, batch, attr = batch_graph()
    pos = torch.randn(x.shape[0], 3)
    cluster = _clusters()
    mine = getattr(mp, fn)(cluster, MBatch(x=x, edge_index=ei, edge_attr=attr, pos=pos, batch=batch))
    theirs = getattr(pyg, fn)(cluster, PBatch(x=x, edge_index=ei, edge_attr=attr, pos=pos, batch=batch))
    for key in ("x", "edge_index", "edge_attr", "pos", "batch"):
        assert_same(getattr(mine, key), getattr(theirs, key))
    assert not bool((mine.edge_index[0] == mine.edge_index[1]).any()), "pooled edges have no self-loops"
    # without batch / pos / edge_attr, and a transform
    mine = getattr(mp, fn)(cluster, MData(x=x, edge_index=ei), transform=lambda d: d)
    theirs = getattr(pyg, fn)(cluster, PData(x=x, edge_index=ei))
    assert_same(mine.x, theirs.x)
    assert_same(mine.edge_index, theirs.edge_index)
    assert mine.batch is None and mine.pos is None


@pytest.mark.parametrize("fn", ["avg_pool_neighbor_x", "max_pool_neighbor_x"])
@pytest.mark.parametrize("flow", ["source_to_target", "target_to_source"])
def test_pool_neighbor_x_matches_pyg(fn, flow):
    x, ei, _, _ = batch_graph()
    directed = ei[:, ::2]
    mine = getattr(mp, fn)(MData(x=x.clone(), edge_index=directed), flow=flow)
    theirs = getattr(pyg, fn)(PData(x=x.clone(), edge_index=directed), flow=flow)
    assert_same(mine.x, theirs.x)


def test_graclus_feeds_the_pools():
    x, ei, batch, attr = batch_graph(sizes=(20, 30))
    cluster = mp.graclus(ei, num_nodes=x.shape[0], generator=torch.Generator().manual_seed(0))
    px, pb = mp.max_pool_x(cluster, x, batch)
    C = int(torch.unique(cluster).numel())
    assert px.shape == (C, 8) and pb.shape == (C,)
    assert C >= x.shape[0] // 2
    out = mp.avg_pool(cluster, MBatch(x=x, edge_index=ei, edge_attr=attr, batch=batch))
    ref = pyg.avg_pool(cluster, PBatch(x=x, edge_index=ei, edge_attr=attr, batch=batch))
    assert_same(out.x, ref.x)
    assert_same(out.edge_index, ref.edge_index)
    assert_same(out.edge_attr, ref.edge_attr)
    torch.manual_seed(4)
    a = compat.graclus(ei, None, x.shape[0])
    torch.manual_seed(4)
    assert torch.equal(a, mp.graclus(ei, num_nodes=x.shape[0]))


def test_global_sort_pool_matches_pyg():
    from torch_geometric.nn.aggr import SortAggregation

    x, _, batch, _ = batch_graph()
    for k in (1, 5, 15):
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        a, b = mp.global_sort_pool(xa, batch, k), SortAggregation(k)(xb, batch)
        assert_same(a, b)
        assert_same(grads([a], [xa])[0], grads([b], [xb])[0])
    assert_same(mp.global_sort_pool(x, None, 4), SortAggregation(4)(x))
    assert compat.global_sort_pool is mp.global_sort_pool


# ---------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("name", ["topk", "sag", "asap", "edge"])
def test_pools_on_graphs_without_edges_and_isolated_nodes(name):
    make = {"topk": lambda m: m.TopKPooling(8), "sag": lambda m: m.SAGPooling(8),
            "asap": lambda m: m.ASAPooling(8), "edge": lambda m: m.EdgePooling(8)}[name]
    mine, theirs = twins(make)
    x = torch.randn(6, 8)
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    empty = torch.empty(2, 0, dtype=torch.long)
    one = torch.tensor([[0, 1], [1, 0]])  # nodes 2..5 isolated
    for ei in (empty, one):
        if name == "asap":
            out_m, out_t = mine(x, ei, None, batch), theirs(x, ei, None, batch)
        elif name == "edge":
            out_m, out_t = mine(x, ei, batch)[:3], theirs(x, ei, batch)[:3]
        else:
            out_m, out_t = mine(x, ei, None, batch), theirs(x, ei, None, batch)
        for a, c in zip(out_m, out_t):
            assert_same(a, c, atol=1e-5)


def test_topk_pooling_on_an_empty_graph():
    pool = ours.TopKPooling(4)
    x = torch.empty(0, 4)
    out = pool(x, torch.empty(2, 0, dtype=torch.long), None, torch.empty(0, dtype=torch.long))
    assert out[0].shape == (0, 4) and out[1].shape == (2, 0) and out[4].shape == (0,)


def test_pool_x_on_an_empty_graph():
    x = torch.empty(0, 3)
    out, b = mp.avg_pool_x(torch.empty(0, dtype=torch.long), x, torch.empty(0, dtype=torch.long))
    assert out.shape == (0, 3) and b.shape == (0,)


def test_bad_input_names_the_argument():
    for bad in (-0.5, 0, 0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="ratio"):
            ours.TopKPooling(8, ratio=bad)
        with pytest.raises(ValueError, match="ratio"):
            ours.SAGPooling(8, ratio=bad)
        with pytest.raises(ValueError, match="ratio"):
            ours.ASAPooling(8, ratio=bad)
    with pytest.raises(TypeError, match="ratio"):
        ours.TopKPooling(8, ratio="half")
    with pytest.raises(ValueError, match="ratio"):
        ours.TopKPooling(8, ratio=None)
    x, ei, batch, attr = batch_graph()
    with pytest.raises(ValueError, match=r"ratio \(k = 13\).*largest has 12"):
        ours.TopKPooling(8, ratio=13)(x, ei, attr, batch)
    with pytest.raises(ValueError, match="ratio"):
        mp.topk(x[:, 0], -1, batch)
    with pytest.raises(ValueError, match="in_channels"):
        ours.TopKPooling(5)(x, ei, attr, batch)
    with pytest.raises(ValueError, match="in_channels"):
        ours.ASAPooling(5)(x, ei, None, batch)
    with pytest.raises(ValueError, match="in_channels"):
        ours.EdgePooling(5)(x, ei, batch)
    with pytest.raises(ValueError, match="edge_attr"):
        ours.TopKPooling(8)(x, ei, attr[:-1], batch)
    with pytest.raises(ValueError, match="batch"):
        ours.SAGPooling(8)(x, ei, None, batch[:-1])
    with pytest.raises(ValueError, match="edge_index"):
        ours.TopKPooling(8)(x, ei[0], None, batch)
    with pytest.raises(ValueError, match="cluster"):
        mp.avg_pool_x(torch.zeros(3, dtype=torch.long), x, batch)
    with pytest.raises(ValueError, match="k must be"):
        mp.global_sort_pool(x, batch, 0)
    with pytest.raises(ValueError, match="flow"):
        mp.avg_pool_neighbor_x(MData(x=x, edge_index=ei), flow="up")


def test_compat_tree_mirrors_pyg():
    import meshgraph.compat.pyg.nn.pool as cpool
    from meshgraph.compat.pyg.nn.pool.connect import Connect, ConnectOutput, FilterEdges
    from meshgraph.compat.pyg.nn.pool.select import Select, SelectOutput, SelectTopK
    import importlib

    # the package binds avg_pool / max_pool / graclus to the functions (as PyG does): import the modules by path
    asap, avg_pool, edge_pool, max_pool, sag_pool, topk_pool, pool, graclus = (
        importlib.import_module(f"meshgraph.compat.pyg.nn.pool.{m}")
        for m in ("asap", "avg_pool", "edge_pool", "max_pool", "sag_pool", "topk_pool", "pool", "graclus"))
    assert graclus.graclus is compat.graclus
    assert cpool.TopKPooling is topk_pool.TopKPooling is ours.TopKPooling
    assert sag_pool.SAGPooling is ours.SAGPooling and asap.ASAPooling is ours.ASAPooling
    assert edge_pool.EdgePooling is ours.EdgePooling and edge_pool.UnpoolInfo is mp.UnpoolInfo
    assert avg_pool.avg_pool_x is mp.avg_pool_x and max_pool.max_pool_neighbor_x is mp.max_pool_neighbor_x
    assert pool.pool_edge is mp.pool_edge
    assert (Connect, ConnectOutput, FilterEdges, Select, SelectOutput, SelectTopK) == (
        mp.Connect, mp.ConnectOutput, mp.FilterEdges, mp.Select, mp.SelectOutput, mp.SelectTopK)
