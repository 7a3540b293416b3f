"""meshgraph.records (compat.pyg.data) Data / Batch against torch_geometric.data, and with meshgraph ops."""

import copy
import pickle

import pytest
import torch

tg_data = pytest.importorskip("torch_geometric.data")

import meshgraph as mg  # noqa: E402
from meshgraph.compat.pyg.data import Batch, Data  # noqa: E402
from meshgraph.ops import gather_scatter, global_mean_pool  # noqa: E402


def graphs(cls, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i, (n, e) in enumerate(((4, 6), (3, 2), (5, 9))):
        out.append(cls(
            x=torch.randn(n, 3, generator=g), edge_index=torch.randint(0, n, (2, e), generator=g),
            edge_attr=torch.randn(e, 2, generator=g), y=i, pos=torch.randn(n, 3, generator=g),
            face=torch.randint(0, n, (3, 2), generator=g), name=f"g{i}", tags=list(range(i + 1)),
            node_index=torch.arange(n), graph_vec=torch.randn(1, 4, generator=g),
        ))
    return out


def same_record(a, b):
    assert sorted(a.keys()) == sorted(b.keys())
    for k in a.keys():
        va, vb = a[k], b[k]
        if isinstance(va, torch.Tensor):
            assert torch.equal(va, vb), k
        else:
            assert va == vb, k
    assert str(a).replace("DataBatch", "Batch") == str(b).replace("DataBatch", "Batch")


def test_data_attributes_and_counts_match_pyg():
    ours, theirs = graphs(Data)[0], graphs(tg_data.Data)[0]
    same_record(ours, theirs)
    for attr in ("num_nodes", "num_edges", "num_node_features", "num_edge_features", "num_features"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.is_node_attr("x") and ours.is_edge_attr("edge_attr") and not ours.is_node_attr("graph_vec")
    assert sorted(ours.node_attrs()) == sorted(theirs.node_attrs())
    assert sorted(ours.edge_attrs()) == sorted(theirs.edge_attrs())
    assert "x" in ours and "missing" not in ours and ours.edge_weight is None
    ours.edge_attr = None
    assert "edge_attr" not in ours
    ours["extra"] = 5
    assert ours.extra == 5 and ours.get("nope", 7) == 7
    for name in ("has_self_loops", "has_isolated_nodes", "is_undirected", "is_coalesced"):
        assert getattr(ours, name)() == getattr(theirs, name)(), name


def test_copies_clone_to_and_pickle():
    d = graphs(Data)[0]
    c = d.clone()
    assert c.x.data_ptr() != d.x.data_ptr() and torch.equal(c.x, d.x)
    s = copy.copy(d)
    assert s.x.data_ptr() == d.x.data_ptr() and s._store is not d._store and s._store._parent() is s
    deep = copy.deepcopy(d)
    assert deep.x.data_ptr() != d.x.data_ptr() and deep._store._parent() is deep
    back = pickle.loads(pickle.dumps(d))
    same_record(back, d)
    assert d.to("cpu") is d and d.to("cpu", "x").x.device.type == "cpu"


def test_batch_collates_and_separates_like_pyg():
    ours = Batch.from_data_list(graphs(Data), follow_batch=["x", "node_index"])
    theirs = tg_data.Batch.from_data_list(graphs(tg_data.Data), follow_batch=["x", "node_index"])
    same_record(ours, theirs)
    assert ours.num_graphs == len(ours) == theirs.num_graphs == 3
    assert type(ours).__name__ == "DataBatch"
    for i in range(3):
        same_record(ours[i], theirs[i])
        same_record(ours.get_example(i), theirs.get_example(i))
    for idx in (slice(0, 2), [2, 0], torch.tensor([True, False, True]), torch.tensor([1])):
        got, want = ours[idx], theirs[idx]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            same_record(a, b)
    for a, b in zip(ours.to_data_list(), theirs.to_data_list()):
        same_record(a, b)
    again = pickle.loads(pickle.dumps(ours))
    assert type(again).__name__ == "DataBatch" and again.num_graphs == 3
    same_record(again[1], theirs[1])


def test_pyg_records_batch_into_ours():
    theirs = graphs(tg_data.Data)
    batch = Batch.from_data_list(theirs)
    assert type(batch).__name__ == "DataBatch" and isinstance(batch, Batch)
    reference = tg_data.Batch.from_data_list(graphs(tg_data.Data))
    same_record(batch, reference)
    assert type(batch[1]) is Data
    same_record(batch[1], reference[1])


def test_subclass_batching_rules_are_used():
    class Pair(Data):
        def __inc__(self, key, value, *args, **kwargs):
            if key == "edge_index_s":
                return self.x_s.size(0)
            return super().__inc__(key, value, *args, **kwargs)

        def __cat_dim__(self, key, value, *args, **kwargs):
            return None if key == "stacked" else super().__cat_dim__(key, value, *args, **kwargs)

    a = Pair(x_s=torch.zeros(3, 1), edge_index_s=torch.tensor([[0, 1], [1, 2]]), stacked=torch.ones(4))
    b = Pair(x_s=torch.zeros(2, 1), edge_index_s=torch.tensor([[1], [0]]), stacked=torch.zeros(4))
    batch = Batch.from_data_list([a, b])
    assert type(batch).__name__ == "PairBatch" and isinstance(batch, Pair)
    assert batch.edge_index_s.tolist() == [[0, 1, 4], [1, 2, 3]]
    assert batch.stacked.shape == (2, 4)
    assert batch[1].edge_index_s.tolist() == [[1], [0]] and batch[1].stacked.shape == (4,)


def test_records_feed_meshgraph_ops_without_conversion():
    data_list = graphs(Data)
    batch = Batch.from_data_list(data_list)
    x = batch.x
    ref = torch.zeros_like(x).index_add_(0, batch.edge_index[1], x[batch.edge_index[0]])
    torch.testing.assert_close(gather_scatter(x, batch), ref)
    assert batch.adjacency().rowptr.data_ptr() == batch.adjacency().rowptr.data_ptr()  # built once, cached
    torch.testing.assert_close(global_mean_pool(x, batch.batch), tg_global_mean(x, batch.batch))
    # PyG's own Data works too (duck-typed on edge_index / num_nodes).
    theirs = tg_data.Batch.from_data_list(graphs(tg_data.Data))
    torch.testing.assert_close(gather_scatter(theirs.x, theirs), ref)


def tg_global_mean(x, batch):
    from torch_geometric.nn import global_mean_pool as tg_pool

    return tg_pool(x, batch)


def test_graph_batch_view_shares_tensors():
    batch = Batch.from_data_list(graphs(Data))
    gb = batch.graph_batch()
    assert isinstance(gb, mg.GraphBatch)
    assert gb.num_graphs == 3 and gb.num_verts == batch.num_nodes and gb.num_edges == batch.num_edges
    assert gb.packed("x").data_ptr() == batch.x.data_ptr()
    assert gb.edge_index.data_ptr() == batch.edge_index.data_ptr()
    assert gb.pos_packed().data_ptr() == batch.pos.data_ptr()
    assert gb.edge_packed("edge_attr").data_ptr() == batch.edge_attr.data_ptr()
    assert torch.equal(gb.graph_index, batch.batch) and torch.equal(gb.verts_ptr, batch.ptr)
    assert torch.equal(gb.faces_packed(), batch.face.t())
    assert [t.shape[0] for t in gb.list("x")] == [4, 3, 5]
    torch.testing.assert_close(global_mean_pool(batch.x, gb), global_mean_pool(batch.x, batch.batch))


def test_adjacency_is_validated_and_rebuilt_for_new_edges():
    d = Data(x=torch.zeros(3, 1), edge_index=torch.tensor([[0, 1], [1, 2]]))
    first = d.adjacency()
    assert first.rowptr.tolist() == [0, 0, 1, 2]
    d.edge_index = torch.tensor([[2, 2], [0, 1]])
    assert d.adjacency().rowptr.tolist() == [0, 1, 2, 2]
    with pytest.raises(ValueError, match="edge_index"):
        Data(num_nodes=2, edge_index=torch.tensor([[0], [5]])).adjacency()


def test_storage_views_and_tensor_methods_match_pyg():
    from torch_geometric.data.storage import BaseStorage as TgStorage

    from meshgraph.compat.pyg.data.storage import BaseStorage

    ours, theirs = BaseStorage(x=1, y=2, z=3), TgStorage(x=1, y=2, z=3)
    for args in ((), ("x", "z", "foo")):
        for view in ("keys", "values", "items"):
            a, b = getattr(ours, view)(*args), getattr(theirs, view)(*args)
            assert str(a) == str(b) and len(a) == len(b) and list(a) == list(b)
    s = BaseStorage(x=torch.randn(1))  # one element: == compares the tensors (as PyG)
    c = s.clone()
    assert c == s and c.x.data_ptr() != s.x.data_ptr() and s.requires_grad_().x.requires_grad
    assert not s.detach().x.requires_grad and copy.deepcopy(s) == s


@pytest.mark.parametrize("name", ["NormalizeFeatures", "ToUndirected", "AddSelfLoops", "GCNNorm", "FaceToEdge",
                                  "RemoveIsolatedNodes", "LargestConnectedComponents", "OneHotDegree", "VirtualNode"])
def test_pyg_transforms_run_on_our_records_as_on_pyg_data(name):
    import torch_geometric.transforms as T

    transform = getattr(T, name)(5) if name == "OneHotDegree" else getattr(T, name)()

    def make(cls):
        g = torch.Generator().manual_seed(0)
        return cls(x=torch.rand(6, 4, generator=g), edge_index=torch.randint(0, 6, (2, 10), generator=g),
                   edge_attr=torch.rand(10, 2, generator=g), y=torch.tensor([1]), face=torch.randint(0, 6, (3, 4), generator=g),
                   train_mask=torch.ones(6, dtype=torch.bool))

    ours, theirs = transform(make(Data)), transform(make(tg_data.Data))
    assert type(ours) is Data
    same_record(ours, theirs)
