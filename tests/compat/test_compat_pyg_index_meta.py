"""PyG's EdgeIndex / Index tensor subclasses keep their metadata (sparse size, sort order, undirected flag, dim size,
sortedness) through meshgraph's edge utilities and batching exactly as through PyG's own: PyG is the oracle, run
on the same inputs. meshgraph never imports PyG for this: it rebuilds the input's own subclass."""

import pytest
import torch
import torch_geometric.data as pyg_data
import torch_geometric.utils as pyg_utils
from torch_geometric import EdgeIndex, Index

import meshgraph.compat.pyg.data as mg_data
import meshgraph.compat.pyg.utils as mg_utils
from meshgraph.ops.edge_utils import maybe_num_nodes


def _meta(t):
    if isinstance(t, EdgeIndex):
        return type(t), t.sparse_size(), t.sort_order, t.is_undirected, t.tolist()
    if isinstance(t, Index):
        return type(t), t.dim_size, t.is_sorted, t.tolist()
    return type(t), t.tolist() if isinstance(t, torch.Tensor) else t


def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
    else:
        assert _meta(ours) == _meta(theirs)


def _edge_index(sort_order, undirected, loops=True):
    ei = [[0, 0, 1, 1, 2], [0, 1, 0, 2, 1]] if loops else [[0, 1, 1, 2], [1, 0, 2, 1]]
    if sort_order == "col":
        ei = [ei[1], ei[0]]
    return EdgeIndex(ei, sparse_size=(3, 3), sort_order=sort_order, is_undirected=undirected)


@pytest.mark.parametrize("sort_order", [None, "row", "col"])
@pytest.mark.parametrize("undirected", [False, True])
@pytest.mark.parametrize("name", ["remove_self_loops", "segregate_self_loops", "add_self_loops",
                                  "add_remaining_self_loops"])
def test_loop_utils_keep_metadata_as_pyg(name, sort_order, undirected):
    ei = _edge_index(sort_order, undirected)
    attr = torch.arange(5.0)
    _same(getattr(mg_utils, name)(ei), getattr(pyg_utils, name)(ei))
    _same(getattr(mg_utils, name)(ei, attr), getattr(pyg_utils, name)(ei, attr))


def test_add_self_loops_grows_the_sparse_size_as_pyg():
    ei = _edge_index("row", True)
    _same(mg_utils.add_self_loops(ei, num_nodes=5), pyg_utils.add_self_loops(ei, num_nodes=5))
    assert maybe_num_nodes(ei) == pyg_utils.num_nodes.maybe_num_nodes(ei) == 3


@pytest.mark.parametrize("sort_by_row", [True, False])
@pytest.mark.parametrize("undirected", [False, True])
def test_sort_and_coalesce_set_the_sort_order(sort_by_row, undirected):
    # PyG 2.8.1's own sort_edge_index / coalesce raise on an EdgeIndex (its Index add_ reads .dim_size of a plain
    # tensor); their source sets the sort order and keeps the undirected flag: the values come from PyG on the
    # plain tensor, the metadata from that intent.
    raw = [[2, 1, 0, 1, 2], [1, 2, 1, 0, 1]]
    ei = EdgeIndex(raw, sparse_size=(3, 3), is_undirected=undirected)
    attr = torch.arange(5.0)
    order = "row" if sort_by_row else "col"
    for name, args in (("sort_edge_index", ()), ("coalesce", ()), ("coalesce", (attr,))):
        ours = getattr(mg_utils, name)(ei, *args, sort_by_row=sort_by_row)
        theirs = getattr(pyg_utils, name)(torch.tensor(raw), *args, sort_by_row=sort_by_row)
        out, expect = (ours[0], theirs[0]) if args else (ours, theirs)
        assert isinstance(out, EdgeIndex) and out.tolist() == expect.tolist()
        assert (out.sparse_size(), out.sort_order, out.is_undirected) == ((3, 3), order, undirected)
        if args:
            assert ours[1].tolist() == theirs[1].tolist()


@pytest.mark.parametrize("orders", [("row", "row"), ("row", "col"), ("col", "col"), (None, "row")])
def test_batching_edge_index_as_pyg(orders):
    pieces = [_edge_index(orders[0], True, loops=False),
              EdgeIndex([[0, 1, 1, 2, 3], [1, 0, 2, 3, 2]] if orders[1] != "col" else [[1, 0, 2, 3, 2], [0, 1, 1, 2, 3]],
                        sparse_size=(4, 4), sort_order=orders[1])]
    ours = mg_data.Batch.from_data_list([mg_data.Data(edge_index=e, num_nodes=e.sparse_size(0)) for e in pieces])
    theirs = pyg_data.Batch.from_data_list([pyg_data.Data(edge_index=e, num_nodes=e.sparse_size(0)) for e in pieces])
    _same(ours.edge_index, theirs.edge_index)
    for i in range(2):
        _same(ours[i].edge_index, theirs[i].edge_index)
        _same(ours[i].edge_index, pieces[i])


@pytest.mark.parametrize("sorted_first", [True, False])
def test_batching_index_as_pyg(sorted_first):
    pieces = [Index([0, 1, 1, 2], dim_size=3, is_sorted=sorted_first), Index([0, 1, 1, 2, 2, 3], dim_size=4, is_sorted=True)]
    ours = mg_data.Batch.from_data_list([mg_data.Data(index=x, num_nodes=x.dim_size) for x in pieces])
    theirs = pyg_data.Batch.from_data_list([pyg_data.Data(index=x, num_nodes=x.dim_size) for x in pieces])
    _same(ours.index, theirs.index)
    for i in range(2):
        _same(ours[i].index, pieces[i])


def test_plain_tensors_stay_plain():
    ei = torch.tensor([[0, 1, 1], [1, 0, 1]])
    for out in (mg_utils.remove_self_loops(ei)[0], mg_utils.add_self_loops(ei)[0], mg_utils.coalesce(ei)):
        assert type(out) is torch.Tensor
    b = mg_data.Batch.from_data_list([mg_data.Data(edge_index=ei, num_nodes=2)] * 2)
    assert type(b.edge_index) is torch.Tensor and type(b[1].edge_index) is torch.Tensor
