"""meshgraph.utils_graph against PyG's torch_geometric.utils: with the same seeds the random functions give PyG's
exact output (same global-RNG draws); a torch.Generator gives reproducible draws that leave the global RNGs alone
and still satisfy the samplers' contracts (negatives are distinct non-edges without loops, structured negatives
are non-neighbours, dropout keeps a subset in order); subgraphs, masks, homophily, one_hot, grid and the random
graph generators match PyG on random inputs, including empty and edge-free graphs; bad input gets ValueErrors;
the compat mirror has PyG's signatures; RandomLinkSplit's negatives come from the public negative_sampling."""

import inspect
import random
import warnings

import numpy as np
import pytest
import torch

import meshgraph.compat.pyg.utils as compat
import meshgraph.utils_graph as mg
from meshgraph.ops.edge_utils import subgraph

pyg = pytest.importorskip("torch_geometric.utils")


def seeded(fn, *args, seed=3, **kwargs):
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    return fn(*args, **kwargs)


def assert_same(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, (a, b)
        assert torch.equal(a, b), (a, b)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def random_graph(N=30, E=120, seed=0, loops=True):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N, (2, E), generator=g)
    if not loops:
        ei = ei[:, ei[0] != ei[1]]
    return ei


def edge_set(ei):
    return set(map(tuple, ei.t().tolist()))


# ---------------------------------------------------------------------- same seed, same result as PyG

RANDOM_CASES = [
    ("negative_sampling", lambda ei: (ei,), {}),
    ("negative_sampling", lambda ei: (ei,), {"method": "dense"}),
    ("negative_sampling", lambda ei: (ei,), {"force_undirected": True}),
    ("negative_sampling", lambda ei: (ei, (30, 35)), {}),
    ("negative_sampling", lambda ei: (ei, 30, 0.5), {}),
    ("negative_sampling", lambda ei: (ei, 30, 400), {}),  # more than there are: three rounds, then short
    ("structured_negative_sampling", lambda ei: (ei,), {}),
    ("structured_negative_sampling", lambda ei: (ei, 30, False), {}),
    ("dropout_edge", lambda ei: (ei,), {}),
    ("dropout_edge", lambda ei: (ei, 0.3, True), {}),
    ("dropout_node", lambda ei: (ei,), {}),
    ("dropout_node", lambda ei: (ei, 0.4, 40, True, True), {}),
    ("erdos_renyi_graph", lambda ei: (12, 0.3), {}),
    ("erdos_renyi_graph", lambda ei: (12, 0.3, True), {}),
    ("stochastic_blockmodel_graph", lambda ei: ([3, 5, 4], [[0.6, 0.1, 0.2], [0.1, 0.5, 0.3], [0.2, 0.3, 0.7]]), {}),
    ("stochastic_blockmodel_graph", lambda ei: ([3, 5], [[0.6, 0.1], [0.4, 0.5]], True), {}),
    ("barabasi_albert_graph", lambda ei: (20, 3), {}),
]


@pytest.mark.parametrize("name,args,kwargs", RANDOM_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(RANDOM_CASES)])
def test_random_functions_match_pyg_with_the_same_seed(name, args, kwargs):
    ei = random_graph()
    a = args(ei)
    expected = seeded(getattr(pyg, name), *a, **kwargs)
    assert_same(seeded(getattr(mg, name), *a, **kwargs), expected)
    assert_same(seeded(getattr(compat, name), *a, **kwargs), expected)


def test_batched_negative_sampling_matches_pyg():
    batch = torch.arange(30) // 10
    ei = pyg.sort_edge_index(random_graph())
    ei = ei[:, batch[ei[0]] == batch[ei[1]]]
    for b in (batch, (batch, batch)):
        for kw in ({}, {"method": "dense"}, {"num_neg_samples": 4}):
            assert_same(seeded(mg.batched_negative_sampling, ei, b, **kw),
                        seeded(pyg.batched_negative_sampling, ei, b, **kw))


def test_dropout_adj_matches_pyg_and_warns():
    ei = random_graph()
    attr = torch.randn(ei.size(1), 3)
    for kw in ({}, {"force_undirected": True}, {"training": False}):
        with pytest.warns(UserWarning, match="'dropout_adj' is deprecated"):
            expected = seeded(pyg.dropout_adj, ei, attr, **kw)
        with pytest.warns(UserWarning, match="'dropout_adj' is deprecated"):
            assert_same(seeded(compat.dropout_adj, ei, attr, **kw), expected)


# ---------------------------------------------------------------------- sampler contracts


@pytest.mark.parametrize("method", ["sparse", "dense"])
@pytest.mark.parametrize("force_undirected", [False, True])
def test_negative_sampling_gives_distinct_non_edges_without_loops(method, force_undirected):
    ei = random_graph(N=20, E=150, seed=4)
    if force_undirected:  # as in PyG, force_undirected reads the pairs i < j of an undirected input
        ei = pyg.to_undirected(ei)
    gen = torch.Generator().manual_seed(0)
    neg = mg.negative_sampling(ei, 20, 60, method, force_undirected, generator=gen)
    assert neg.dtype == ei.dtype and neg.dim() == 2 and neg.size(0) == 2
    pairs = edge_set(neg)
    known = edge_set(ei)
    if force_undirected:
        known |= {(j, i) for i, j in known}
        assert pairs == {(j, i) for i, j in pairs}
    assert not pairs & known
    assert all(i != j for i, j in pairs)
    assert len(pairs) == neg.size(1)  # distinct
    assert neg.size(1) == 60


def test_negative_sampling_bipartite_and_complete_graph():
    ei = torch.tensor([[0, 0, 1, 2], [0, 3, 1, 2]])
    neg = mg.negative_sampling(ei, (3, 4), 8, generator=torch.Generator().manual_seed(1))
    assert not edge_set(neg) & edge_set(ei)
    assert int(neg[0].max()) < 3 and int(neg[1].max()) < 4
    full = torch.stack(torch.meshgrid(torch.arange(4), torch.arange(4), indexing="ij")).view(2, -1)
    full = full[:, full[0] != full[1]]
    assert mg.negative_sampling(full, 4).shape == (2, 0)
    assert compat.negative_sampling(full, 4).shape == (2, 0)
    assert mg.negative_sampling(torch.tensor([[0], [1]]), 5, 0).shape == (2, 0)


def test_generator_draws_are_reproducible_and_leave_global_rng_alone():
    ei = random_graph()
    fns = [
        lambda g: mg.negative_sampling(ei, generator=g),
        lambda g: mg.negative_sampling(ei, method="dense", generator=g),
        lambda g: mg.structured_negative_sampling(ei, generator=g)[2],
        lambda g: mg.dropout_edge(ei, generator=g)[1],
        lambda g: mg.dropout_node(ei, generator=g)[2],
        lambda g: mg.dropout_adj(ei, generator=g)[0],
        lambda g: mg.erdos_renyi_graph(15, 0.2, generator=g),
        lambda g: mg.stochastic_blockmodel_graph([4, 6], [[0.5, 0.1], [0.1, 0.5]], generator=g),
        lambda g: mg.barabasi_albert_graph(15, 2, generator=g),
    ]
    for fn in fns:
        torch.manual_seed(0)
        random.seed(0)
        np.random.seed(0)
        state = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dropout_adj's deprecation
            a = fn(torch.Generator().manual_seed(7))
            b = fn(torch.Generator().manual_seed(7))
            c = fn(torch.Generator().manual_seed(8))
        assert torch.equal(a, b)
        assert a.shape != c.shape or not torch.equal(a, c)
        assert torch.equal(torch.get_rng_state(), state[0])
        assert random.getstate() == state[1]
        assert np.array_equal(np.random.get_state()[1], state[2])


@pytest.mark.parametrize("loops", [True, False])
def test_structured_negative_sampling_gives_non_neighbours(loops):
    ei = random_graph(N=15, E=60, seed=2)
    i, j, k = mg.structured_negative_sampling(ei, 15, loops, generator=torch.Generator().manual_seed(3))
    assert torch.equal(i, ei[0]) and torch.equal(j, ei[1])
    known = edge_set(ei)
    assert all((a, b) not in known for a, b in zip(i.tolist(), k.tolist()))
    if not loops:
        assert bool((i != k).all())
    assert mg.structured_negative_sampling_feasible(ei, 15, loops) == pyg.structured_negative_sampling_feasible(
        ei, 15, loops)
    star = torch.tensor([[0, 0, 0, 1], [1, 2, 3, 0]])
    assert mg.structured_negative_sampling_feasible(star, 4, True) is True
    assert mg.structured_negative_sampling_feasible(star, 4, False) is False


def test_dropout_keeps_a_subset_in_order():
    ei = random_graph()
    kept, mask = mg.dropout_edge(ei, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(kept, ei[:, mask])
    assert 0 < mask.sum() < ei.size(1)
    out, emask, nmask = mg.dropout_node(ei, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, ei[:, emask])
    assert bool((nmask[out[0]] & nmask[out[1]]).all())
    assert torch.equal(mg.dropout_edge(ei, 0.5, training=False)[0], ei)
    assert mg.dropout_edge(ei, 1.0)[0].shape == (2, 0)
    for fn in (mg.dropout_edge, mg.dropout_node, compat.dropout_edge):
        with pytest.raises(ValueError, match="between 0 and 1"):
            fn(ei, 1.5)


# ---------------------------------------------------------------------- deterministic functions


def test_subgraphs_match_pyg():
    ei = random_graph()
    attr = torch.randn(ei.size(1), 2)
    for subset in (torch.tensor([7, 3, 12, 0, 25]), [5, 1, 9], torch.rand(30) < 0.4):
        for relabel in (False, True):
            assert_same(subgraph(subset, ei, attr, relabel, 30, return_edge_mask=True),
                        pyg.subgraph(subset, ei, attr, relabel, 30, return_edge_mask=True))
    for subset in ((torch.tensor([5, 2, 3, 20]), torch.tensor([3, 2, 11])), ([1, 4], [0, 2, 8]),
                   (torch.rand(30) < 0.5, torch.rand(30) < 0.5)):
        for relabel in (False, True):
            assert_same(mg.bipartite_subgraph(subset, ei, attr, relabel, (30, 30), True),
                        pyg.bipartite_subgraph(subset, ei, attr, relabel, (30, 30), True))
    for node_idx in (4, [0, 9], torch.tensor([17, 2, 5])):
        for kw in ({}, {"relabel_nodes": True}, {"flow": "target_to_source"}, {"directed": True},
                   {"num_nodes": 40, "relabel_nodes": True}):
            for hops in (0, 1, 3):
                assert_same(mg.k_hop_subgraph(node_idx, hops, ei, **kw), pyg.k_hop_subgraph(node_idx, hops, ei, **kw))
    with pytest.raises(ValueError, match="flow"):
        mg.k_hop_subgraph(0, 1, ei, flow="up")


def test_k_hop_subgraph_on_graph_without_edges():
    ei = torch.empty(2, 0, dtype=torch.long)
    subset, out, mapping, mask = mg.k_hop_subgraph([2, 0], 2, ei, num_nodes=4, relabel_nodes=True)
    assert subset.tolist() == [0, 2] and out.shape == (2, 0) and mapping.tolist() == [1, 0] and mask.numel() == 0


def test_get_num_hops():
    import meshgraph.nn as mnn

    model = torch.nn.Sequential(mnn.GCNConv(3, 4), torch.nn.ReLU(), mnn.SAGEConv(4, 4), torch.nn.Linear(4, 2))
    assert mg.get_num_hops(model) == 2


@pytest.mark.parametrize("method", ["edge", "node", "edge_insensitive"])
def test_homophily_matches_pyg(method):
    ei = random_graph(seed=5)
    y = torch.randint(0, 4, (30,), generator=torch.Generator().manual_seed(1))
    batch = torch.arange(30) // 12
    assert mg.homophily(ei, y, method=method) == pytest.approx(pyg.homophily(ei, y, method=method))
    out, ref = mg.homophily(ei, y, batch, method), pyg.homophily(ei, y, batch, method)
    torch.testing.assert_close(out, ref)
    adj = torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.size(1)), (30, 30)).coalesce()  # adj_t layout
    assert mg.homophily(adj, y, method="edge") == pytest.approx(pyg.homophily(pyg.coalesce(ei), y, method="edge"))
    with pytest.raises(ValueError, match="method"):
        mg.homophily(ei, y, method="nodes")


def test_masks_one_hot_select_narrow_match_pyg():
    index = torch.tensor([4, 0, 2, 2])
    assert_same(mg.index_to_mask(index), pyg.index_to_mask(index))
    assert_same(mg.index_to_mask(index, 8), pyg.index_to_mask(index, 8))
    mask = torch.tensor([True, False, True, True, False])
    assert_same(mg.mask_to_index(mask), pyg.mask_to_index(mask))
    src = torch.randn(3, 5, 2)
    for dim in (1, -2):
        assert_same(mg.mask_select(src, dim, mask), pyg.mask_select(src, dim, mask))
        assert_same(mg.select(src, mask, dim), pyg.select(src, mask, dim))
        assert_same(mg.select(src, torch.tensor([4, 1]), dim), pyg.select(src, torch.tensor([4, 1]), dim))
        assert_same(mg.narrow(src, dim, 1, 3), pyg.narrow(src, dim, 1, 3))
    assert mg.select(list("abcde"), mask, 0) == pyg.select(list("abcde"), mask, 0)
    assert mg.narrow(list("abcde"), 0, 1, 2) == ["b", "c"]
    sp = torch.eye(5).to_sparse()
    torch.testing.assert_close(mg.narrow(sp, 0, 1, 2).to_dense(), torch.eye(5)[1:3])
    with pytest.raises(ValueError, match="entries"):
        mg.mask_select(src, 0, mask)
    for kw in ({}, {"num_classes": 6}, {"dtype": torch.long}):
        assert_same(mg.one_hot(index, **kw), pyg.one_hot(index, **kw))
    assert mg.one_hot(torch.empty(0, dtype=torch.long), 3).shape == (0, 3)
    with pytest.raises(ValueError, match="one-dimensional"):
        mg.one_hot(index.view(2, 2))


@pytest.mark.parametrize("h,w", [(1, 1), (2, 3), (4, 4), (5, 2)])
def test_grid_matches_pyg(h, w):
    assert_same(mg.grid(h, w), pyg.grid(h, w))
    assert_same(mg.grid(h, w, dtype=torch.float64), pyg.grid(h, w, dtype=torch.float64))


def test_random_graph_generators_bad_input():
    with pytest.raises(ValueError, match="num_edges"):
        mg.barabasi_albert_graph(3, 3)
    with pytest.raises(ValueError, match="symmetric"):
        mg.stochastic_blockmodel_graph([2, 2], [[0.5, 0.1], [0.3, 0.5]])
    with pytest.raises(ValueError, match="edge_probs"):
        mg.stochastic_blockmodel_graph([2, 2], [[0.5, 0.1, 0.1]])
    with pytest.raises(ValueError, match="method"):
        mg.negative_sampling(random_graph(), method="fast")


def test_compat_signatures_are_pygs_without_generator():
    for name in ("negative_sampling", "batched_negative_sampling", "structured_negative_sampling", "dropout_edge",
                 "dropout_node", "dropout_adj", "erdos_renyi_graph", "stochastic_blockmodel_graph",
                 "barabasi_albert_graph", "bipartite_subgraph", "k_hop_subgraph", "homophily", "one_hot",
                 "index_to_mask", "mask_to_index", "mask_select", "select", "narrow", "grid", "get_num_hops",
                 "structured_negative_sampling_feasible"):
        ours = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(compat, name)).parameters.values()]
        theirs = [(p.name, p.kind, p.default) for p in inspect.signature(getattr(pyg, name)).parameters.values()]
        assert ours == theirs, name


def test_random_link_split_negatives_come_from_negative_sampling():
    from meshgraph.compat.pyg.data import Data
    from meshgraph.compat.pyg.transforms import RandomLinkSplit

    ei = random_graph(N=40, E=200, seed=8, loops=False)
    data = Data(x=torch.randn(40, 3), edge_index=ei, num_nodes=40)
    torch.manual_seed(0)
    random.seed(0)
    train, val, test = RandomLinkSplit(num_val=0.1, num_test=0.2)(data)
    torch.manual_seed(0)
    random.seed(0)
    E = ei.size(1)
    torch.randperm(E)  # the split's permutation, then the negatives
    num_val, num_test = int(0.1 * E), int(0.2 * E)
    neg = mg.negative_sampling(ei, 40, E, method="sparse")
    assert neg.size(1) == E
    assert torch.equal(val.edge_label_index[:, num_val:], neg[:, :num_val])
    assert torch.equal(test.edge_label_index[:, num_test:], neg[:, num_val:num_val + num_test])
    assert torch.equal(train.edge_label_index[:, E - num_val - num_test:], neg[:, num_val + num_test:])


def test_meshgraph_utils_namespace_exports_the_graph_utilities():
    import meshgraph.utils as mu
    from meshgraph.ops import edge_utils

    for name in ("negative_sampling", "k_hop_subgraph", "dropout_edge", "homophily", "one_hot", "grid"):
        assert getattr(mu, name) is getattr(mg, name)
    for name in ("to_undirected", "coalesce", "subgraph", "get_self_loop_attr", "to_dense_batch"):
        assert getattr(mu, name) is getattr(edge_utils, name)


def test_dropout_path_drops_exactly_the_walked_edges():
    """dropout_path removes the edges that the seeded walks traverse (recomputed here from the same draws), keeps
    the rest in input order, and is a no-op when not training or p == 0."""
    import meshgraph.utils_graph as ug
    from meshgraph.ops.random_walk import random_walk

    g = torch.Generator().manual_seed(3)
    ei = torch.randint(0, 20, (2, 60), generator=g)
    kept, mask = ug.dropout_path(ei, p=0.3, walk_length=4, num_nodes=20, generator=torch.Generator().manual_seed(5))
    assert torch.equal(kept, ei[:, mask])
    # the same draws by hand: the start mask over the row-sorted edges, then the walks
    gen = torch.Generator().manual_seed(5)
    order = torch.argsort(ei[0] * 20 + ei[1], stable=True)
    row, col = ei[0][order], ei[1][order]
    start = row[torch.rand(60, generator=gen) <= 0.3]
    rowptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.bincount(row, minlength=20).cumsum(0)])
    walk = random_walk(rowptr, col, start, 4, 1.0, 1.0, gen)
    walked = set(zip(walk[:, :-1].reshape(-1).tolist(), walk[:, 1:].reshape(-1).tolist()))
    expect = torch.tensor([(u, v) not in walked for u, v in ei.t().tolist()])
    assert torch.equal(mask, expect) and (~mask).any()
    same, m = ug.dropout_path(ei, p=0.3, training=False)
    assert same is ei and m.all()
    with pytest.raises(ValueError, match="probability"):
        ug.dropout_path(ei, p=1.5)
