"""HeteroGraph against PyG's HeteroData built from the same tensors: stores and shorthands, metadata, sizes,
to_homogeneous / to_heterogeneous, subgraphs, batching (Batch.from_data_list, DataLoader) and separation; pytree
flattening, to / clone, mesh node types; validate's ValueErrors name the edge type."""

import copy

import pytest
import torch
import torch.utils._pytree as pytree

from meshgraph import Graph, GraphBatch, HeteroBatch, HeteroGraph
from meshgraph.compat.pyg.data import HeteroData
from meshgraph.loader import DataLoader
from meshgraph.records import Batch, Data

pyg_data = pytest.importorskip("torch_geometric.data")


def _fill(data, n_paper=6, n_author=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    data["paper"].x = torch.randn(n_paper, 5, generator=g)
    data["paper"].y = torch.randint(3, (n_paper,), generator=g)
    data["author"].x = torch.randn(n_author, 3, generator=g)
    data["author", "writes", "paper"].edge_index = torch.stack(
        [torch.randint(n_author, (9,), generator=g), torch.randint(n_paper, (9,), generator=g)])
    data["author", "writes", "paper"].edge_attr = torch.randn(9, 2, generator=g)
    data["paper", "cites", "paper"].edge_index = torch.randint(n_paper, (2, 7), generator=g)
    data["paper", "cites", "paper"].edge_attr = torch.randn(7, 2, generator=g)
    data.tag = "scene"
    return data


def _same_store(a, b):
    assert list(a.keys()) == list(b.keys())
    for k in a.keys():
        va, vb = a[k], b[k]
        if isinstance(va, torch.Tensor):
            torch.testing.assert_close(va, vb, equal_nan=True)
        else:
            assert va == vb


def _same(mine, theirs):
    assert mine.node_types == theirs.node_types and mine.edge_types == theirs.edge_types
    for t in mine.node_types + mine.edge_types:
        _same_store(mine[t], theirs[t])


def test_stores_shorthands_and_metadata_match_pyg():
    mine, theirs = _fill(HeteroGraph()), _fill(pyg_data.HeteroData())
    _same(mine, theirs)
    assert mine.metadata() == theirs.metadata()
    assert mine["author", "paper"] is mine["author", "writes", "paper"]
    assert mine["cites"] is mine["paper", "cites", "paper"]
    assert mine["paper", "author"]._key == ("paper", "to", "author")  # new edge type with the default relation
    del mine["paper", "author"]
    assert (mine.num_nodes, mine.num_edges) == (theirs.num_nodes, theirs.num_edges)
    assert mine.num_node_features == theirs.num_node_features
    assert mine.num_edge_features == theirs.num_edge_features
    assert sorted(mine.keys()) == sorted(theirs.keys()) and len(mine) == len(theirs)
    assert sorted(mine.node_attrs()) == sorted(theirs.node_attrs())
    assert sorted(mine.edge_attrs()) == sorted(theirs.edge_attrs())
    for k, v in theirs.x_dict.items():
        assert torch.equal(mine.x_dict[k], v)
    assert set(mine.edge_index_dict) == set(theirs.edge_index_dict)
    assert mine.tag == "scene" and mine["tag"] == "scene"
    assert mine["paper", "cites", "paper"].size() == (6, 6) and mine["author", "paper"].size() == (4, 6)
    with pytest.raises(KeyError, match="did not find"):
        mine.collect("nothing")
    with pytest.raises(AttributeError, match="already present as a node type"):
        mine.paper = 1


def test_to_homogeneous_and_back_match_pyg():
    mine, theirs = _fill(HeteroGraph()), _fill(pyg_data.HeteroData())
    hm, ht = mine.to_homogeneous(), theirs.to_homogeneous()
    assert sorted(hm.keys()) == sorted(ht.keys())
    for k in ht.keys():
        if isinstance(ht[k], torch.Tensor):
            torch.testing.assert_close(hm[k], ht[k], equal_nan=True)  # author.y filled with -1, x zero-padded
    assert hm._node_type_names == ht._node_type_names and hm._edge_type_names == ht._edge_type_names
    back = hm.to_heterogeneous()
    assert isinstance(back, HeteroGraph)
    _same(back, ht.to_heterogeneous())
    for t in mine.edge_types:
        assert torch.equal(back[t].edge_index, mine[t].edge_index)
    again = HeteroGraph.from_homogeneous(hm)
    assert torch.equal(again["paper"].x, mine["paper"].x)
    plain = Data(edge_index=hm.edge_index, x=hm.x)  # no names: types named by their ids, as PyG
    _same(plain.to_heterogeneous(hm.node_type, hm.edge_type), pyg_data.Data(edge_index=ht.edge_index, x=ht.x)
          .to_heterogeneous(ht.node_type, ht.edge_type))


def test_subgraphs_match_pyg():
    mine, theirs = _fill(HeteroGraph()), _fill(pyg_data.HeteroData())
    subset = {"paper": torch.tensor([4, 0, 2]), "author": torch.tensor([True, False, True, True])}
    _same(mine.subgraph(subset), theirs.subgraph(subset))
    _same(mine.node_type_subgraph(["paper"]), theirs.node_type_subgraph(["paper"]))
    _same(mine.edge_type_subgraph([("author", "paper")]), theirs.edge_type_subgraph([("author", "paper")]))
    es = {("paper", "cites", "paper"): torch.tensor([0, 3])}
    _same(mine.edge_subgraph(es), theirs.edge_subgraph(es))
    assert mine.subgraph(subset)["paper"].num_nodes == 3
    with pytest.raises(ValueError, match="'venue'"):
        mine.subgraph({"venue": torch.tensor([0])})


def test_batching_matches_pyg_and_separates():
    mine = [_fill(HeteroGraph(), 6 - i, 4 + i, seed=i) for i in range(3)]
    theirs = [_fill(pyg_data.HeteroData(), 6 - i, 4 + i, seed=i) for i in range(3)]
    bm, bt = Batch.from_data_list(mine), pyg_data.Batch.from_data_list(theirs)
    assert isinstance(bm, HeteroBatch) and bm.num_graphs == 3
    assert len(bm) == len(bt) == 3 and len(mine[0]) == len(theirs[0])  # a batch's len is its graph count, as PyG's
    _same(bm, bt)  # edge_index shifted per type by its own source / destination counts
    assert bm.tag == bt.tag
    for i in range(3):
        _same(bm[i], mine[i])
        assert bm[i].tag == "scene"
    assert [g["author"].num_nodes for g in bm.to_data_list()] == [4, 5, 6]
    loader = DataLoader(mine, batch_size=2)
    first = next(iter(loader))
    _same(first, pyg_data.Batch.from_data_list(theirs[:2]))
    with pytest.raises(ValueError, match="metadata"):
        extra = _fill(HeteroGraph())
        extra["venue"].x = torch.randn(2, 1)
        Batch.from_data_list([mine[0], extra])


def test_copies_to_and_pytree():
    data = _fill(HeteroGraph())
    c = copy.copy(data)
    assert c["paper"] is not data["paper"] and c["paper"].x is data["paper"].x and c["paper"]._parent() is c
    d = copy.deepcopy(data)
    assert d["paper"].x is not data["paper"].x and d["paper"]._parent() is d
    cl = data.clone()
    cl["paper"].x.add_(1)
    assert not torch.equal(cl["paper"].x, data["paper"].x)
    h = data.clone().apply(lambda t: t.double() if t.is_floating_point() else t)
    assert h["author"].x.dtype == torch.float64 and h["paper"].y.dtype == torch.long
    assert data.to("cpu")["paper"].x.device.type == "cpu"
    leaves, spec = pytree.tree_flatten(_fill(HeteroGraph()))
    assert all(isinstance(v, torch.Tensor) for v in leaves) and len(leaves) == 7
    back = pytree.tree_unflatten([v * 2 if v.is_floating_point() else v for v in leaves], spec)
    assert isinstance(back, HeteroGraph) and back.tag == "scene" and back.metadata() == data.metadata()
    torch.testing.assert_close(back["paper"].x, 2 * _fill(HeteroGraph())["paper"].x)


def test_compile_takes_a_hetero_graph():
    data = _fill(HeteroGraph())

    def f(g):
        return g["paper"].x.sum() + g["author"].x.sum() * 2

    torch.testing.assert_close(torch.compile(f, backend="eager")(data), f(data))


def _mesh(n, shift=0.0):
    pos = torch.rand(n, 3) + shift
    faces = torch.stack([torch.arange(n - 2), torch.arange(1, n - 1), torch.arange(2, n)], dim=1)
    return Graph(pos=pos, faces=faces)


def test_mesh_node_type_in_a_scene_graph():
    scene = HeteroGraph()
    scene["object"].mesh = GraphBatch([_mesh(5), _mesh(4)])
    scene["light"].x = torch.randn(2, 3)
    scene["light", "illuminates", "object"].edge_index = torch.tensor([[0, 1, 1], [0, 4, 8]])
    assert scene["object"].num_nodes == 9 and scene.num_nodes == 11
    assert scene.validate()
    scene2 = HeteroGraph()
    scene2["object"].mesh = _mesh(6, 1.0)  # a Graph is kept as a one-graph GraphBatch
    scene2["light"].x = torch.randn(1, 3)
    scene2["light", "illuminates", "object"].edge_index = torch.tensor([[0], [5]])
    batch = Batch.from_data_list([scene, scene2])
    assert batch["object"].mesh.num_graphs == 3 and batch["object"].num_nodes == 15
    assert batch["light", "object"].edge_index.tolist() == [[0, 1, 1, 2], [0, 4, 8, 14]]
    assert batch["object"].batch.tolist() == [0] * 9 + [1] * 6
    back = batch[1]
    assert back["object"].mesh.num_graphs == 1
    torch.testing.assert_close(back["object"].mesh.packed(), scene2["object"].mesh.packed())
    moved = scene.clone().apply(lambda t: t.double() if t.is_floating_point() else t)
    assert moved["object"].mesh.packed().dtype == torch.float64
    assert scene["object"].mesh.packed().dtype == torch.float32
    leaves, spec = pytree.tree_flatten(scene)
    assert isinstance(pytree.tree_unflatten(leaves, spec)["object"].mesh, GraphBatch)
    with pytest.raises(ValueError, match="holds a mesh"):
        scene.subgraph({"object": torch.tensor([0, 1])})


def test_validate_names_the_edge_type():
    data = HeteroData()
    data["a", "to", "b"].edge_index = torch.tensor([[0], [0]])
    with pytest.raises(ValueError, match="do not exist as node types"):
        data.validate()
    data["a"].num_nodes, data["b"].num_nodes = 2, 1
    assert data.validate()
    data["a", "to", "b"].edge_index = torch.tensor([[0, 1], [0, 3]])
    with pytest.raises(ValueError, match=r"\('a', 'to', 'b'\) contains larger destination indices"):
        data.validate()
    data["a", "to", "b"].edge_index = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"\('a', 'to', 'b'\) needs to be of shape"):
        data.validate()
    with pytest.warns(UserWarning, match="needs to be of shape"):
        assert not data.validate(raise_on_error=False)
    with pytest.raises(ValueError, match="references node types"):
        bad = HeteroGraph()
        bad["x", "to", "y"].edge_index = torch.tensor([[0], [0]])
        bad.to_homogeneous()


def test_to_undirected_adds_reverse_types_as_pyg():
    from torch_geometric.transforms import ToUndirected as PygToUndirected

    from meshgraph.transforms import ToUndirected

    for merge in (True, False):
        mine = ToUndirected(merge=merge)(_fill(HeteroGraph()))
        theirs = PygToUndirected(merge=merge)(_fill(pyg_data.HeteroData()))
        assert sorted(mine.edge_types) == sorted(theirs.edge_types)
        for t in theirs.edge_types:
            _same_store(mine[t], theirs[t])


def test_remove_isolated_nodes_per_type_as_pyg():
    from torch_geometric.transforms import RemoveIsolatedNodes as PygRemove

    from meshgraph.transforms import RemoveIsolatedNodes

    def build(data):
        data["p"].x = torch.arange(6)
        data["a"].x = torch.arange(6)
        data["i"].num_nodes = 4
        data["p", "1", "p"].edge_index = torch.tensor([[0, 1, 2], [0, 1, 3]])
        data["p", "2", "a"].edge_index = torch.tensor([[1, 3, 5], [0, 1, 2]])
        data["p", "2", "a"].edge_attr = torch.arange(3)
        return data

    mine, theirs = RemoveIsolatedNodes()(build(HeteroGraph())), PygRemove()(build(pyg_data.HeteroData()))
    assert [mine[t].num_nodes for t in ("p", "a", "i")] == [theirs[t].num_nodes for t in ("p", "a", "i")] == [5, 3, 0]
    for t in theirs.node_types + theirs.edge_types:
        _same_store(mine[t], theirs[t])


# ---------------------------------------------------------------------- networkx (issue 15)


def _graph_items(G):
    return dict(G.nodes(data=True)), sorted(G.edges(data=True), key=str), dict(G.graph)


@pytest.mark.parametrize("opts", [{}, {"remove_self_loops": True}, {"to_multi": True}])
def test_to_networkx_of_hetero_graph_matches_pyg(opts):
    """Node types numbered one after another, `type` on every node / edge, (N, 1) and (N, F) rows as lists, graph
    attributes; loops of the non-bipartite type dropped with remove_self_loops: PyG's to_networkx, item for item."""
    pytest.importorskip("networkx")
    from torch_geometric.utils import to_networkx as pyg_to_networkx

    from meshgraph.compat.pyg.utils import to_networkx

    ours, theirs = _fill(HeteroGraph()), _fill(pyg_data.HeteroData())
    for d in (ours, theirs):
        d["paper", "cites", "paper"].edge_index[:, 0] = 2  # a self loop
        d["paper"].z = torch.arange(6.0).view(6, 1)
        d["author"].z = [f"a{i}" for i in range(4)]  # a list: items as they are
        d.gid = torch.tensor([7])
    kw = dict(node_attrs=["x"], edge_attrs=["edge_attr"], graph_attrs=["gid", "tag"], **opts)
    G1, G2 = to_networkx(ours, **kw), pyg_to_networkx(theirs, **kw)
    assert type(G1) is type(G2)
    assert _graph_items(G1) == _graph_items(G2)
    assert ours.node_offsets == theirs.node_offsets == {"paper": 0, "author": 6}
    G1 = to_networkx(ours, node_attrs=["z"])
    assert dict(G1.nodes(data=True)) == dict(pyg_to_networkx(theirs, node_attrs=["z"]).nodes(data=True))
    assert G1.nodes[3] == {"type": "paper", "z": [3.0]} and G1.nodes[7] == {"type": "author", "z": "a1"}


def test_to_networkx_of_hetero_graph_rejects_to_undirected():
    pytest.importorskip("networkx")
    from meshgraph.compat.pyg.utils import to_networkx

    for value in (True, "upper", "lower"):
        with pytest.raises(ValueError, match="to_undirected"):
            to_networkx(_fill(HeteroGraph()), to_undirected=value)
    with pytest.raises(ValueError, match="to_undirected"):
        to_networkx(Data(edge_index=torch.tensor([[0], [1]]), num_nodes=2), to_undirected="both")
