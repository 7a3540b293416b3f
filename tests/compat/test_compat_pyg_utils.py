"""meshgraph.ops.edge_utils / scatter and meshgraph.compat.pyg.utils against torch_geometric itself."""

import pytest
import torch

tg_utils = pytest.importorskip("torch_geometric.utils")

from meshgraph.ops import edge_utils as eu  # noqa: E402


def random_graph(seed, N=9, E=40, F=3):
    """Edges with duplicates and self loops, a (E, F) attribute and a (E,) weight."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, N, (2, E), generator=g)
    ei[:, :5] = ei[:, 5:10]  # duplicates
    ei[1, 10:14] = ei[0, 10:14]  # self loops
    ei[:, 14] = ei[:, 10]  # a duplicated self loop
    return ei, torch.randn(E, F, generator=g, dtype=torch.float64), torch.rand(E, generator=g, dtype=torch.float64)


def same(a, b):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, (a, b)
        torch.testing.assert_close(a, b)
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            same(x, y)
    else:
        assert a == b, (a, b)


@pytest.mark.parametrize("seed", range(3))
def test_self_loop_functions_match_pyg(seed):
    ei, attr, w = random_graph(seed)
    for a in (None, attr, w):
        same(eu.remove_self_loops(ei, a), tg_utils.remove_self_loops(ei, a))
        same(eu.segregate_self_loops(ei, a), tg_utils.segregate_self_loops(ei, a))
    fills = [None, 2.5, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), "add", "mean", "max", "min", "mul"]
    for fill in fills:
        for n in (None, 12):
            a = attr
            same(eu.add_self_loops(ei, a, fill, n), tg_utils.add_self_loops(ei, a, fill, n))
            same(eu.add_remaining_self_loops(ei, a, fill, n), tg_utils.add_remaining_self_loops(ei, a, fill, n))
    for n in (None, 12):
        same(eu.add_self_loops(ei, w, 0.5, n), tg_utils.add_self_loops(ei, w, 0.5, n))
        same(eu.add_remaining_self_loops(ei, w, "mean", n), tg_utils.add_remaining_self_loops(ei, w, "mean", n))
        same(eu.add_self_loops(ei, num_nodes=n), tg_utils.add_self_loops(ei, num_nodes=n))
        same(eu.add_remaining_self_loops(ei, num_nodes=n), tg_utils.add_remaining_self_loops(ei, num_nodes=n))
        same(eu.get_self_loop_attr(ei, w, n), tg_utils.get_self_loop_attr(ei, w, n))
    same(eu.add_self_loops(ei, num_nodes=(4, 7)), tg_utils.add_self_loops(ei, num_nodes=(4, 7)))
    assert eu.contains_self_loops(ei) and not eu.contains_self_loops(eu.remove_self_loops(ei)[0])


@pytest.mark.parametrize("seed", range(3))
def test_coalesce_undirected_sort_match_pyg(seed):
    ei, attr, w = random_graph(seed)
    for reduce in ("sum", "add", "mean", "max", "min", "mul"):
        for by_row in (True, False):
            same(eu.coalesce(ei, attr, None, reduce, sort_by_row=by_row),
                 tg_utils.coalesce(ei, attr, None, reduce, sort_by_row=by_row))
        same(eu.coalesce(ei, [attr, w], 15, reduce), tg_utils.coalesce(ei, [attr, w], 15, reduce))
        same(eu.to_undirected(ei, w, reduce=reduce), tg_utils.to_undirected(ei, w, reduce=reduce))
    same(eu.coalesce(ei), tg_utils.coalesce(ei))
    same(eu.coalesce(ei, None), tg_utils.coalesce(ei, None))
    same(eu.to_undirected(ei), tg_utils.to_undirected(ei))
    same(eu.to_undirected(ei, 20), tg_utils.to_undirected(ei, 20))
    same(eu.to_undirected(ei, [attr, w]), tg_utils.to_undirected(ei, [attr, w]))
    ints = torch.randint(0, 5, (ei.shape[1],))
    same(eu.coalesce(ei, ints), tg_utils.coalesce(ei, ints))
    same(eu.sort_edge_index(ei), tg_utils.sort_edge_index(ei))
    same(eu.sort_edge_index(ei, w, sort_by_row=False)[0], tg_utils.sort_edge_index(ei, w, sort_by_row=False)[0])
    und, uw = eu.to_undirected(ei, ints)  # integer weights: the merged sums are exact in either direction
    assert eu.is_undirected(und) and eu.is_undirected(und, uw) and not eu.is_undirected(ei)
    assert eu.is_undirected(und, uw) == tg_utils.is_undirected(und, uw)
    skew = uw.clone()
    skew[0] += 1
    assert eu.is_undirected(und, skew) == tg_utils.is_undirected(und, skew)


def test_coalesce_merges_duplicates_with_known_values():
    ei = torch.tensor([[1, 0, 1, 1], [2, 3, 2, 0]])
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    out, ow = eu.coalesce(ei, w)
    assert out.tolist() == [[0, 1, 1], [3, 0, 2]] and ow.tolist() == [2.0, 4.0, 4.0]
    assert eu.coalesce(ei, w, reduce="max")[1].tolist() == [2.0, 4.0, 3.0]


@pytest.mark.parametrize("seed", range(3))
def test_degree_and_isolated_nodes_match_pyg(seed):
    ei, attr, w = random_graph(seed, N=30, E=16)
    for dtype in (None, torch.long, torch.float64):
        same(eu.degree(ei[1], None, dtype), tg_utils.degree(ei[1], None, dtype))
        same(eu.degree(ei[0], 40, dtype), tg_utils.degree(ei[0], 40, dtype))
    assert eu.contains_isolated_nodes(ei, 40) == tg_utils.contains_isolated_nodes(ei, 40)
    assert eu.maybe_num_nodes(ei) == int(ei.max()) + 1 and eu.maybe_num_nodes(ei[:, :0]) == 0
    from torch_geometric.utils.num_nodes import maybe_num_nodes_dict

    typed = {("a", "to", "b"): ei, ("b", "to", "b"): ei[:, :4], ("c", "to", "a"): ei[:, 5:9]}
    for given in (None, {"b": 50}):
        assert eu.maybe_num_nodes_dict(typed, given) == maybe_num_nodes_dict(typed, given)
    for n in (None, 40):
        same(eu.remove_isolated_nodes(ei, attr, n), tg_utils.remove_isolated_nodes(ei, attr, n))


def test_empty_edge_lists():
    ei = torch.zeros((2, 0), dtype=torch.long)
    attr = torch.zeros((0, 2))
    same(eu.add_remaining_self_loops(ei, attr, num_nodes=3), tg_utils.add_remaining_self_loops(ei, attr, num_nodes=3))
    same(eu.coalesce(ei, attr), tg_utils.coalesce(ei, attr))
    same(eu.remove_self_loops(ei, attr), tg_utils.remove_self_loops(ei, attr))
    same(eu.degree(ei[0]), tg_utils.degree(ei[0]))


def test_bad_arguments_raise():
    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="edge_index"):
        eu.remove_self_loops(ei[0])
    with pytest.raises(ValueError, match="reduce"):
        eu.coalesce(ei, torch.ones(2), reduce="median")
    with pytest.raises(AttributeError, match="fill_value"):
        eu.add_self_loops(ei, torch.ones(2), fill_value=object())


def test_native_scatter_any_dim_dtype_and_reduction_matches_pyg():
    from meshgraph.ops import scatter, segment_reduce

    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 6, (20,), generator=g)
    src = torch.randn(4, 20, 3, generator=g, dtype=torch.float64)
    ints = torch.randint(-5, 5, (20, 2), generator=g)
    for reduce in ("sum", "add", "mean", "max", "min", "amax", "mul", "any"):
        if reduce != "any":  # "any" keeps one unspecified row per output
            same(scatter(src, idx, 8, reduce, dim=1), tg_utils.scatter(src, idx, 1, 8, reduce))
            same(scatter(src, idx, 8, reduce, dim=-2), tg_utils.scatter(src, idx, -2, 8, reduce))
        if reduce not in ("mean", "any"):
            same(scatter(ints, idx, None, reduce), tg_utils.scatter(ints, idx, 0, None, reduce))
    ptr = torch.tensor([0, 5, 5, 12, 20])
    for reduce in ("sum", "mean", "max", "min"):
        same(segment_reduce(src[0], ptr, reduce), tg_utils.segment(src[0], ptr, reduce))
    same(segment_reduce(ints, ptr, "sum"), ints.new_tensor([ints[:5].sum(0).tolist(), [0, 0], ints[5:12].sum(0).tolist(), ints[12:].sum(0).tolist()]))


def test_native_global_pools_take_batch_vector_none_or_graph_batch():
    import meshgraph as mg
    from meshgraph.ops import global_add_pool, global_max_pool, global_mean_pool
    from torch_geometric.nn import pool as tg_pool

    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 4, generator=g)
    batch = torch.tensor([0, 0, 2, 2, 2, 0, 3, 3, 3, 3])  # unsorted, graph 1 empty
    for ours, theirs in ((global_add_pool, tg_pool.global_add_pool), (global_mean_pool, tg_pool.global_mean_pool),
                         (global_max_pool, tg_pool.global_max_pool)):
        same(ours(x, batch), theirs(x, batch))
        same(ours(x, batch, 6), theirs(x, batch, 6))
        same(ours(x, None), theirs(x, None))
        same(ours(x[:, 0], None), theirs(x[:, 0], None))
        dense = torch.randn(3, 5, 4, generator=g)
        same(ours(dense, None), theirs(dense, None))
        b = mg.GraphBatch([mg.Graph(num_verts=4), mg.Graph(num_verts=6)])
        same(ours(x, b), theirs(x, b.graph_index))


def test_compat_utils_softmax_scatter_segment_match_pyg():
    from meshgraph.compat.pyg import utils as ours

    g = torch.Generator().manual_seed(2)
    src = torch.randn(12, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    index = torch.tensor([0, 0, 3, 3, 3, 1, 5, 5, 0, 1, 1, 3])
    ptr = torch.tensor([0, 3, 3, 7, 12])
    for dim in (0, 1, -1):
        idx = index[: src.shape[dim]] % 3
        same(ours.softmax(src, idx, dim=dim), tg_utils.softmax(src, idx, dim=dim))
    same(ours.softmax(src, index, num_nodes=8), tg_utils.softmax(src, index, num_nodes=8))
    same(ours.softmax(src, ptr=ptr), tg_utils.softmax(src, ptr=ptr))
    grad_ours = torch.autograd.grad(ours.softmax(src, index).pow(2).sum(), src)[0]
    grad_theirs = torch.autograd.grad(tg_utils.softmax(src, index).pow(2).sum(), src)[0]
    same(grad_ours, grad_theirs)
    for reduce in ("sum", "mean", "min", "max"):
        same(ours.scatter(src, index, 0, 7, reduce), tg_utils.scatter(src, index, 0, 7, reduce))
        same(ours.segment(src, ptr, reduce), tg_utils.segment(src, ptr, reduce))
    same(ours.segment_logsumexp(src[:, 0], ptr, 0), tg_utils.segment_logsumexp(src[:, 0], ptr, 0))
    with pytest.raises(ValueError, match="one-dimensional"):
        ours.scatter(src, index.view(-1, 1))
    with pytest.raises(NotImplementedError, match="index"):
        ours.softmax(src)


def test_argmax_group_functions_match_torch_scatter_and_pyg():
    import torch_scatter

    from meshgraph.compat.pyg import utils as ours
    from meshgraph.compat.pyg.utils._scatter import scatter_argmax

    g = torch.Generator().manual_seed(3)
    index = torch.randint(0, 6, (30,), generator=g)
    for src in (torch.randn(30, 4, generator=g), torch.randint(0, 4, (30, 4), generator=g)):
        same(scatter_argmax(src, index, dim_size=8), torch_scatter.scatter_max(src, index, dim=0, dim_size=8)[1])
    values = torch.randn(30, generator=g)
    for desc in (False, True):
        for consecutive in (False, True):
            same(ours.group_argsort(values, index, descending=desc, return_consecutive=consecutive),
                 tg_utils.group_argsort(values, index, descending=desc, return_consecutive=consecutive))
    parts = [torch.randn(4, 2, generator=g), torch.randn(3, 2, generator=g)]
    idx = [torch.tensor([0, 1, 1, 4]), torch.tensor([0, 2, 4])]
    same(ours.group_cat(parts, idx, return_index=True), tg_utils.group_cat(parts, idx, return_index=True))


def test_batch_vector_and_sparse_functions_match_pyg():
    from meshgraph.compat.pyg import utils as ours

    g = torch.Generator().manual_seed(4)
    batch = torch.tensor([0, 0, 0, 1, 3, 3])
    x = torch.randn(6, 2, generator=g)
    for kw in ({}, {"fill_value": -1.0}, {"max_num_nodes": 2}, {"batch_size": 5}):
        same(ours.to_dense_batch(x, batch, **kw), tg_utils.to_dense_batch(x, batch, **kw))
    same(ours.to_dense_batch(x), tg_utils.to_dense_batch(x))
    ei = torch.tensor([[0, 1, 2, 2, 4, 5, 4], [1, 0, 0, 2, 5, 4, 5]])
    w = torch.rand(7, generator=g)
    for kw in ({}, {"edge_attr": w}, {"max_num_nodes": 1}, {"batch_size": 5}):
        same(ours.to_dense_adj(ei, batch, **kw), tg_utils.to_dense_adj(ei, batch, **kw))
    same(ours.unbatch(x, batch), list(tg_utils.unbatch(x, batch)))
    same(ours.unbatch_edge_index(ei, batch), list(tg_utils.unbatch_edge_index(ei, batch)))
    for layout in (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc):
        a, b = ours.to_torch_sparse_tensor(ei, w, layout=layout), tg_utils.to_torch_sparse_tensor(ei, w, layout=layout)
        assert a.layout == b.layout
        same(a.to_dense(), b.to_dense())
        same(ours.to_edge_index(a), tg_utils.to_edge_index(b))
        if layout != torch.sparse_csc:  # PyG's remove_self_loops takes COO / CSR only
            same(ours.remove_self_loops(a)[0].to_dense(), tg_utils.remove_self_loops(b)[0].to_dense())
    coo = ours.to_torch_coo_tensor(ei, w)
    same(ours.add_self_loops(coo, fill_value=2.0)[0].to_dense(), tg_utils.add_self_loops(coo, fill_value=2.0)[0].to_dense())
    dense = torch.randint(0, 2, (2, 3, 3), generator=g).float()
    mask = torch.tensor([[True, True, False], [True, True, True]])
    same(ours.dense_to_sparse(dense), tg_utils.dense_to_sparse(dense))
    same(ours.dense_to_sparse(dense, mask), tg_utils.dense_to_sparse(dense, mask))
    same(ours.dense_to_sparse(dense[0]), tg_utils.dense_to_sparse(dense[0]))
    bipartite = torch.randint(0, 2, (2, 4, 3), generator=g).float()
    same(ours.dense_to_sparse(bipartite), tg_utils.dense_to_sparse(bipartite))
    for relabel in (False, True):
        same(ours.subgraph([0, 2, 4, 5], ei, w, relabel), tg_utils.subgraph([0, 2, 4, 5], ei, w, relabel))


def test_scipy_networkx_converters_match_pyg():
    nx = pytest.importorskip("networkx")
    pytest.importorskip("scipy")
    from torch_geometric.data import Data as TgData

    from meshgraph.compat.pyg import utils as ours
    from meshgraph.compat.pyg.data import Data

    ei = torch.tensor([[0, 1, 0, 2], [1, 0, 0, 1]])
    w = torch.tensor([1.0, 2.0, 3.0, 4.0])
    a, b = ours.to_scipy_sparse_matrix(ei, w, 4), tg_utils.to_scipy_sparse_matrix(ei, w, 4)
    assert (a != b).nnz == 0 and a.shape == b.shape
    same(ours.from_scipy_sparse_matrix(a), tg_utils.from_scipy_sparse_matrix(b))
    kw = dict(x=torch.randn(3, 2), edge_index=ei, weight=w)
    for opts in ({}, {"to_undirected": True}, {"to_undirected": "upper"}, {"remove_self_loops": True}, {"to_multi": True}):
        G1 = ours.to_networkx(Data(**kw), node_attrs=["x"], edge_attrs=["weight"], **opts)
        G2 = tg_utils.to_networkx(TgData(**kw), node_attrs=["x"], edge_attrs=["weight"], **opts)
        assert type(G1) is type(G2) and dict(G1.nodes(data=True)) == dict(G2.nodes(data=True))
        assert sorted(G1.edges(data=True), key=str) == sorted(G2.edges(data=True), key=str)
    G = nx.karate_club_graph()
    same_data = [ours.from_networkx(G), tg_utils.from_networkx(G)]
    assert sorted(same_data[0].keys()) == sorted(same_data[1].keys())
    for k in same_data[0].keys():
        v0, v1 = same_data[0][k], same_data[1][k]
        assert torch.equal(v0, v1) if isinstance(v0, torch.Tensor) else v0 == v1
    same(ours.from_networkx(G, group_edge_attrs=all).edge_attr, tg_utils.from_networkx(G, group_edge_attrs=all).edge_attr)


def test_scatter_index_adjacency_is_built_once_per_index_tensor_and_validated():
    from meshgraph.ops import scatter
    from meshgraph.ops.scatter import _index_adjacency

    batch = torch.tensor([0, 0, 1, 3, 3, 3])
    a, b = _index_adjacency(batch, 6, 4), _index_adjacency(batch, 6, 4)
    assert a.rowptr.data_ptr() == b.rowptr.data_ptr()  # cached on the tensor
    unsorted = torch.tensor([3, 0, 1, 3, 0, 3])
    x = torch.randn(6, 2, dtype=torch.float64)
    for idx in (batch, unsorted):
        for reduce in ("sum", "max"):
            same(scatter(x, idx, 5, reduce), tg_utils.scatter(x, idx, 0, 5, reduce))
    with pytest.raises(ValueError, match="index"):
        scatter(x, unsorted, 3)
    with pytest.raises(ValueError, match="index"):
        scatter(torch.ones(6, dtype=torch.long), unsorted, 3)
