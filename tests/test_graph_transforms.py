"""meshgraph.transforms.graph against PyG's own transforms (torch_geometric 2.8, a test oracle only).

Each transform runs on a compat Data and PyG runs on an equal PyG Data; outputs must be identical (random ones
seeded with torch.manual_seed / random.seed: the same draws). KNNGraph / RadiusGraph need torch_cluster in PyG,
which is not installed: they are checked against brute-force neighbour lists. GraphBatch inputs are checked
against PyG applied to each graph's Data in turn; SamplePoints on a GraphBatch draws as PyTorch3D does (meshgraph's
sample_points_from_meshes), so there its distribution is tested.
"""

import math
import random

import pytest
import torch

from meshgraph import Graph, GraphBatch
from meshgraph.records import Batch, Data
from meshgraph.transforms import graph as T

PT = pytest.importorskip("torch_geometric.transforms")
PygData = pytest.importorskip("torch_geometric.data").Data


def pair(**kwargs):
    """(compat Data, PyG Data) over equal (cloned) values."""
    ours = Data(**{k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()})
    theirs = PygData(**{k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()})
    return ours, theirs


def assert_same(ours, theirs, exact=True):
    assert sorted(ours.keys()) == sorted(theirs.keys())
    for key in theirs.keys():
        a, b = ours[key], theirs[key]
        if isinstance(b, torch.Tensor):
            assert a.dtype == b.dtype and a.shape == b.shape, key
            if b.layout != torch.strided:
                a, b = a.to_dense(), b.to_dense()
            if exact:
                assert torch.equal(a, b), key
            else:
                torch.testing.assert_close(a, b, msg=key)
        else:
            assert a == b, key


def graph_inputs():
    torch.manual_seed(0)
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 0, 2], [1, 0, 2, 1, 3, 3, 2]])
    return dict(x=torch.rand(5, 3), edge_index=edge_index, edge_weight=torch.rand(7),
                edge_attr=torch.rand(7, 2), pos=torch.randn(5, 3), num_nodes=5)


# ---------------------------------------------------------------------- deterministic transforms vs PyG


@pytest.mark.parametrize("name,args", [
    ("NormalizeFeatures", ()), ("ToUndirected", ()), ("RemoveIsolatedNodes", ()), ("GCNNorm", ()),
    ("Center", ()), ("NormalizeScale", ()), ("AddRandomWalkPE", (3,)), ("ToSparseTensor", ()),
])
def test_deterministic_transform_matches_pyg(name, args):
    ours, theirs = pair(**graph_inputs())
    assert_same(getattr(T, name)(*args)(ours), getattr(PT, name)(*args)(theirs))
    assert repr(getattr(T, name)(*args)) == repr(getattr(PT, name)(*args))


@pytest.mark.parametrize("reduce", ["add", "mean", "max", "min", "mul"])
def test_to_undirected_reduces_duplicates_as_pyg(reduce):
    ours, theirs = pair(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 0]]), edge_weight=torch.tensor([1., 2., 3., 4.]),
                        edge_attr=torch.arange(8.).view(4, 2), num_nodes=4)
    assert_same(T.ToUndirected(reduce)(ours), PT.ToUndirected(reduce)(theirs))


@pytest.mark.parametrize("attr,fill", [("edge_weight", 1.0), ("edge_weight", 5), ("edge_attr", "add"),
                                       ("edge_attr", "mean"), ("edge_attr", torch.tensor([7.0, 8.0])),
                                       ("missing", 1.0)])
def test_add_self_loops_matches_pyg(attr, fill):
    ours, theirs = pair(**graph_inputs())
    assert_same(T.AddSelfLoops(attr, fill)(ours), PT.AddSelfLoops(attr, fill)(theirs))


def test_remove_isolated_nodes_keeps_self_loop_nodes_as_pyg():
    ours, theirs = pair(x=torch.arange(6.), edge_index=torch.tensor([[0, 4, 5], [4, 0, 5]]), edge_attr=torch.arange(3))
    out = T.RemoveIsolatedNodes()(ours)
    assert_same(out, PT.RemoveIsolatedNodes()(theirs))
    assert out.x.tolist() == [0.0, 4.0, 5.0]


def test_gcn_norm_on_sparse_adj_t_matches_pyg():
    adj = torch.sparse_coo_tensor(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), torch.ones(4), (3, 3)).to_sparse_csr()
    ours, theirs = pair(adj_t=adj)
    out, expected = T.GCNNorm()(ours), PT.GCNNorm()(theirs)
    # PyG 2.8 stores gcn_norm's whole (adj_t, None) pair for a torch.sparse adj_t (it expects torch_sparse's
    # SparseTensor, for which gcn_norm returns the matrix alone); the matrix is stored here
    assert isinstance(expected.adj_t, tuple) and out.adj_t.layout == torch.sparse_csr
    torch.testing.assert_close(out.adj_t.to_dense(), expected.adj_t[0].to_dense())


@pytest.mark.parametrize("face", [torch.tensor([[0, 0], [1, 1], [2, 3]]), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]).t()])
@pytest.mark.parametrize("remove_faces", [True, False])
def test_face_to_edge_matches_pyg(face, remove_faces):
    ours, theirs = pair(face=face, num_nodes=5)
    assert_same(T.FaceToEdge(remove_faces)(ours), PT.FaceToEdge(remove_faces)(theirs))


def test_linear_transformation_matches_pyg():
    M = torch.randn(3, 3)
    ours, theirs = pair(pos=torch.randn(6, 3))
    assert_same(T.LinearTransformation(M)(ours), PT.LinearTransformation(M)(theirs))


def test_random_walk_pe_sparse_path_matches_pyg():
    N = 2100  # above PyG's dense threshold: torch.sparse CSR products
    ring = torch.arange(N)
    ei = torch.stack([torch.cat([ring, (ring + 1) % N]), torch.cat([(ring + 1) % N, ring])])
    ours, theirs = pair(edge_index=ei, num_nodes=N)
    assert_same(T.AddRandomWalkPE(4, attr_name=None)(ours), PT.AddRandomWalkPE(4, attr_name=None)(theirs), exact=False)


@pytest.mark.parametrize("N,undirected", [(6, True), (6, False), (120, True)])
def test_laplacian_eigenvector_pe_matches_pyg(N, undirected):
    g = torch.Generator().manual_seed(1)
    ring = torch.arange(N)
    chords = torch.randint(0, N, (2, N), generator=g)
    ei = torch.cat([torch.stack([ring, (ring + 1) % N]), chords], dim=1)
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    ours, theirs = pair(x=torch.rand(N, 2), edge_index=ei)
    torch.manual_seed(3)
    a = T.AddLaplacianEigenvectorPE(2, is_undirected=undirected)(ours).laplacian_eigenvector_pe
    torch.manual_seed(3)
    b = PT.AddLaplacianEigenvectorPE(2, is_undirected=undirected)(theirs).laplacian_eigenvector_pe
    assert a.shape == b.shape == (N, 2) and a.dtype == b.dtype
    # the degree sums may differ by an ulp (fused segment sum): compare up to the eigensolver's sign freedom
    torch.testing.assert_close(a.abs(), b.abs(), atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------- random transforms, seeded, vs PyG


def seeded(fn, seed=0):
    torch.manual_seed(seed)
    random.seed(seed)
    return fn()


@pytest.mark.parametrize("kwargs", [dict(split="train_rest", num_val=0.2, num_test=3),
                                    dict(split="test_rest", num_train_per_class=2, num_val=3, num_splits=2),
                                    dict(split="random", num_train_per_class=1, num_val=2, num_test=0.3)])
def test_random_node_split_matches_pyg(kwargs):
    ours, theirs = pair(x=torch.rand(20, 2), y=torch.arange(20) % 3)
    assert_same(seeded(lambda: T.RandomNodeSplit(**kwargs)(ours)), seeded(lambda: PT.RandomNodeSplit(**kwargs)(theirs)))


@pytest.mark.parametrize("kwargs", [dict(), dict(is_undirected=True, num_val=2, num_test=0),
                                    dict(neg_sampling_ratio=2.0, split_labels=True),
                                    dict(disjoint_train_ratio=0.5, add_negative_train_samples=False)])
def test_random_link_split_matches_pyg(kwargs):
    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 0, 5], [1, 0, 2, 1, 3, 2, 4, 3, 5, 4, 5, 0]])
    ours, theirs = pair(edge_index=ei, edge_attr=torch.rand(12, 3), num_nodes=30)
    a = seeded(lambda: T.RandomLinkSplit(**kwargs)(ours))
    b = seeded(lambda: PT.RandomLinkSplit(**kwargs)(theirs))
    for x, y in zip(a, b):
        assert_same(x, y)
    assert_same(ours, theirs)  # the input is left as it was


def test_random_link_split_with_labels_and_too_few_negatives_matches_pyg():
    ei = torch.tensor([[0, 0, 1, 1, 2, 2], [1, 3, 0, 2, 0, 1]])
    ours, theirs = pair(edge_index=ei, edge_label=torch.tensor([0, 1, 0, 1, 0, 1]), num_nodes=4)
    with pytest.warns(UserWarning, match="not enough negative edges"):
        a = seeded(lambda: T.RandomLinkSplit(num_val=0.34, num_test=0.34, neg_sampling_ratio=2)(ours))
    with pytest.warns(UserWarning, match="not enough negative edges"):
        b = seeded(lambda: PT.RandomLinkSplit(num_val=0.34, num_test=0.34, neg_sampling_ratio=2)(theirs))
    for x, y in zip(a, b):
        assert_same(x, y)


def hetero_pair():
    """(meshgraph HeteroGraph, PyG HeteroData) over equal values: a non-bipartite type with an undirected edge set,
    a bipartite type with its reverse, and a label on the bipartite type."""
    from meshgraph import HeteroGraph
    from torch_geometric.data import HeteroData

    g = torch.Generator().manual_seed(5)
    pp = torch.randint(0, 12, (2, 30), generator=g)
    pp = torch.cat([pp, pp.flip(0)], 1).unique(dim=1)
    pa = torch.randint(0, 12, (2, 40), generator=g) % torch.tensor([[12], [9]])
    pa = pa.unique(dim=1)
    values = {
        ("p", "x"): torch.rand(12, 2, generator=g), ("a", "x"): torch.rand(9, 3, generator=g),
        (("p", "to", "p"), "edge_index"): pp, (("p", "to", "p"), "edge_attr"): torch.rand(pp.size(1), 2, generator=g),
        (("p", "writes", "a"), "edge_index"): pa,
        (("p", "writes", "a"), "edge_label"): torch.randint(0, 3, (pa.size(1),), generator=g),
        (("p", "writes", "a"), "w"): torch.rand(pa.size(1), generator=g),
        (("a", "rev_writes", "p"), "edge_index"): pa.flip(0), (("a", "rev_writes", "p"), "stale"): torch.rand(pa.size(1)),
    }
    ours, theirs = HeteroGraph(), HeteroData()
    for (t, k), v in values.items():
        ours[t][k] = v.clone()
        theirs[t][k] = v.clone()
    return ours, theirs


def assert_same_hetero(ours, theirs):
    assert sorted(ours.node_types) == sorted(theirs.node_types)
    assert sorted(ours.edge_types) == sorted(theirs.edge_types)
    for t in theirs.node_types + theirs.edge_types:
        a, b = ours[t], theirs[t]
        assert sorted(a.keys()) == sorted(b.keys()), t
        for k in b.keys():
            assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), (t, k)


@pytest.mark.parametrize("kwargs", [
    dict(edge_types=("p", "to", "p"), is_undirected=True),
    dict(edge_types=("p", "writes", "a"), rev_edge_types=("a", "rev_writes", "p"), neg_sampling_ratio=2.0),
    dict(edge_types=[("p", "to", "p"), ("p", "writes", "a")], rev_edge_types=[None, ("a", "rev_writes", "p")],
         is_undirected=True, disjoint_train_ratio=0.3, split_labels=True),
    dict(edge_types=[("p", "to", "p"), ("p", "writes", "a")], key="edge_label", num_val=3, num_test=0.25,
         add_negative_train_samples=False, neg_sampling_ratio=0.5),
    dict(edge_types=("p", "to", "p"), rev_edge_types=("p", "to", "p"), is_undirected=True, num_val=0.3),
])
def test_random_link_split_hetero_matches_pyg(kwargs):
    """Per edge type: PyG's permutation, split, reverse-type copies, labels and (bipartite) negatives, draw for draw."""
    ours, theirs = hetero_pair()
    a = seeded(lambda: T.RandomLinkSplit(**kwargs)(ours))
    b = seeded(lambda: PT.RandomLinkSplit(**kwargs)(theirs))
    for x, y in zip(a, b):
        assert_same_hetero(x, y)
    assert_same_hetero(ours, theirs)  # the input is left as it was
    train = a[0]
    if kwargs.get("rev_edge_types") == ("a", "rev_writes", "p"):
        # the reverse type is the flipped train message-passing edges, its outdated attributes dropped
        assert torch.equal(train["a", "rev_writes", "p"].edge_index, train["p", "writes", "a"].edge_index.flip(0))
        assert "stale" not in train["a", "rev_writes", "p"]


def test_random_link_split_hetero_bad_input():
    ours, _ = hetero_pair()
    with pytest.raises(ValueError, match="edge_types"):
        T.RandomLinkSplit()(ours)
    with pytest.raises(ValueError, match="edge_types"):
        T.RandomLinkSplit(edge_types=("p", "cites", "a"))(ours)
    with pytest.raises(ValueError, match="rev_edge_types"):
        T.RandomLinkSplit(edge_types=[("p", "to", "p")], rev_edge_types=[None, None])


@pytest.mark.parametrize("name,args", [("RandomJitter", (0.3,)), ("RandomJitter", ([0.1, -2.0, 0],)),
                                       ("RandomFlip", (1,)), ("RandomFlip", (0, 0.9)), ("RandomRotate", (60, 0)),
                                       ("RandomRotate", ((10, 170), 1)), ("RandomRotate", (180, 2))])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_geometric_transform_matches_pyg(name, args, seed):
    ours, theirs = pair(pos=torch.randn(7, 3), x=torch.rand(7, 1))
    assert_same(seeded(lambda: getattr(T, name)(*args)(ours), seed), seeded(lambda: getattr(PT, name)(*args)(theirs), seed))
    assert repr(getattr(T, name)(*args)) == repr(getattr(PT, name)(*args))


def test_random_rotate_2d_matches_pyg():
    ours, theirs = pair(pos=torch.randn(5, 2))
    assert_same(seeded(lambda: T.RandomRotate(90)(ours)), seeded(lambda: PT.RandomRotate(90)(theirs)))


@pytest.mark.parametrize("include_normals,remove_faces", [(False, True), (True, False)])
def test_sample_points_matches_pyg(include_normals, remove_faces):
    pos = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 1, 0], [2, 1, 1]])
    face = torch.tensor([[0, 1], [1, 2], [2, 3]])
    ours, theirs = pair(pos=pos, face=face)
    a = seeded(lambda: T.SamplePoints(50, remove_faces, include_normals)(ours))
    b = seeded(lambda: PT.SamplePoints(50, remove_faces, include_normals)(theirs))
    assert_same(a, b)


def test_compose_matches_pyg_on_records_and_lists():
    kw = graph_inputs()
    ours, theirs = pair(**kw)
    t = T.Compose([T.Center(), T.ToUndirected(), T.AddSelfLoops()])
    p = PT.Compose([PT.Center(), PT.ToUndirected(), PT.AddSelfLoops()])
    assert repr(t) == repr(p)
    assert_same(t(ours), p(theirs))
    for a, b in zip(t([ours, ours]), p([theirs, theirs])):
        assert_same(a, b)
    f = T.ComposeFilters([lambda d: d.num_nodes > 2])
    assert f(ours) and not f((ours, Data(num_nodes=1)))


def test_transforms_leave_the_input_record_unchanged():
    ours, _ = pair(**graph_inputs())
    before = {k: v.clone() for k, v in ours.to_dict().items() if isinstance(v, torch.Tensor)}
    T.Compose([T.ToUndirected(), T.AddSelfLoops(), T.NormalizeScale(), T.GCNNorm(), T.KNNGraph(2)])(ours)
    assert all(torch.equal(ours[k], v) for k, v in before.items()) and sorted(ours.keys()) == sorted([*before, "num_nodes"])


# ---------------------------------------------------------------------- knn / radius (brute force)


def brute_knn(pos, k, batch, loop=False):
    d = torch.cdist(pos, pos)
    d[batch[:, None] != batch[None, :]] = math.inf
    if not loop:
        d.fill_diagonal_(math.inf)
    edges = set()
    for i in range(pos.shape[0]):
        for j in d[i].argsort()[:k].tolist():
            if d[i, j] < math.inf:
                edges.add((j, i))
    return edges


def edge_set(edge_index):
    return set(map(tuple, edge_index.t().tolist()))


@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_on_records_and_batches(loop):
    torch.manual_seed(0)
    pos = torch.randn(12, 3)
    batch = torch.tensor([0] * 5 + [1] * 7)
    data = Batch.from_data_list([Data(pos=pos[:5], edge_attr=torch.rand(2, 1), edge_index=torch.zeros(2, 2, dtype=torch.long)),
                                 Data(pos=pos[5:], edge_attr=torch.rand(1, 1), edge_index=torch.zeros(2, 1, dtype=torch.long))])
    out = T.KNNGraph(3, loop=loop)(data)
    assert edge_set(out.edge_index) == brute_knn(pos, 3, batch, loop) and out.edge_attr is None
    und = T.KNNGraph(3, loop=loop, force_undirected=True)(data).edge_index
    expected = torch.tensor(sorted(brute_knn(pos, 3, batch, loop))).t()
    from meshgraph.ops.edge_utils import to_undirected
    assert torch.equal(und, to_undirected(expected, num_nodes=12))
    gb = GraphBatch.from_pointclouds([pos[:5], pos[5:]])
    out_gb = T.KNNGraph(3, loop=loop, force_undirected=True)(gb)
    assert isinstance(out_gb, GraphBatch) and torch.equal(out_gb.edge_index, und)
    assert out_gb.num_edges_per_graph.tolist() == [int((und[1] < 5).sum()), int((und[1] >= 5).sum())]


def test_radius_graph_on_records_and_batches():
    torch.manual_seed(1)
    pos = torch.rand(15, 2)
    batch = torch.tensor([0] * 8 + [1] * 7)
    d = torch.cdist(pos, pos)
    close = (d < 0.4) & (batch[:, None] == batch[None, :]) & ~torch.eye(15, dtype=torch.bool)
    expected = {(j, i) for i, j in close.nonzero().tolist()}
    data = Data(pos=pos, batch=batch)
    assert edge_set(T.RadiusGraph(0.4, max_num_neighbors=64)(data).edge_index) == expected
    out = T.RadiusGraph(0.4, max_num_neighbors=64)(GraphBatch.from_pointclouds([pos[:8], pos[8:]]))
    assert isinstance(out, GraphBatch) and edge_set(out.edge_index) == expected


# ---------------------------------------------------------------------- Graph / GraphBatch


def clouds(seed=0):
    g = torch.Generator().manual_seed(seed)
    sizes = [4, 1, 6]
    return [torch.randn(n, 3, generator=g) * (i + 1) + i for i, n in enumerate(sizes)]


@pytest.mark.parametrize("ours,theirs", [
    (lambda: T.Center(), lambda: PT.Center()), (lambda: T.NormalizeScale(), lambda: PT.NormalizeScale()),
    (lambda: T.RandomJitter([0.1, 0.2, 0.3]), lambda: PT.RandomJitter([0.1, 0.2, 0.3])),
    (lambda: T.RandomFlip(2, 0.5), lambda: PT.RandomFlip(2, 0.5)),
    (lambda: T.RandomRotate(90, 1), lambda: PT.RandomRotate(90, 1)),
    (lambda: T.LinearTransformation(torch.eye(3) * 2), lambda: PT.LinearTransformation(torch.eye(3) * 2)),
])
def test_graph_batch_is_transformed_graph_by_graph_as_pyg(ours, theirs):
    pts = clouds()
    gb = GraphBatch.from_pointclouds(pts, features=[torch.rand(p.shape[0], 2) for p in pts])
    out = seeded(lambda: ours()(gb))
    t = theirs()
    expected = seeded(lambda: [t(PygData(pos=p.clone())).pos for p in pts])
    assert isinstance(out, GraphBatch) and out is not gb
    for a, b in zip(out.pos_list(), expected):
        torch.testing.assert_close(a, b, equal_nan=True)  # NormalizeScale of a one-point graph: 0 / 0, as PyG
    assert torch.equal(gb.pos_packed(), torch.cat(pts))  # input unchanged
    assert torch.equal(out.packed("features"), gb.packed("features"))


def test_graph_input_gives_a_graph():
    g = Graph(torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 2, 0]]), torch.tensor([[0, 1, 2]]))
    out = T.Compose([T.Center(), T.FaceToEdge()])(g)
    assert isinstance(out, Graph) and out.faces is None
    torch.testing.assert_close(out.pos.mean(0), torch.zeros(3))
    assert out.edge_index.tolist() == [[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]]


def test_face_to_edge_on_graph_batch_matches_pyg_per_mesh():
    v1, f1 = torch.rand(4, 3), torch.tensor([[0, 1, 2], [1, 2, 3]])
    v2, f2 = torch.rand(5, 3), torch.tensor([[0, 1, 4], [2, 3, 4], [0, 3, 4]])
    cloud = Graph(torch.rand(3, 3), edge_index=torch.tensor([[0, 1], [1, 2]]))
    gb = GraphBatch([Graph(v1, f1), cloud, Graph(v2, f2)])
    out = T.FaceToEdge()(gb)
    for i, (v, f) in enumerate([(v1, f1), (v2, f2)]):
        expected = PT.FaceToEdge()(PygData(pos=v, face=f.t())).edge_index
        assert torch.equal(out.edge_index_list()[2 * i], expected)
    assert out.edge_index_list()[1].tolist() == [[0, 1], [1, 2]]  # no faces: unchanged
    assert out.num_faces == 0 and T.FaceToEdge(remove_faces=False)(gb).num_faces == 5


def test_sample_points_on_graph_batch_is_area_weighted():
    # PyG's draw is one multinomial + one (num, 2) rand per record; on a GraphBatch meshgraph samples every mesh
    # at once with PyTorch3D's draws, so the samples differ from PyG's: check their distribution instead.
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [3, 0, 0], [3, 3, 0]])  # areas 0.5 and 3
    faces = torch.tensor([[0, 1, 2], [1, 3, 4]])
    gb = GraphBatch.from_meshes([verts, verts * 2], [faces, faces])
    torch.manual_seed(0)
    out = T.SamplePoints(20000, include_normals=True)(gb)
    assert isinstance(out, GraphBatch) and out.num_verts_per_graph.tolist() == [20000, 20000] and out.num_faces == 0
    p = out.pos_list()[0]
    in_small = (p[:, 0] + p[:, 1] <= 1 + 1e-6) & (p[:, 0] <= 1 + 1e-6)
    assert abs(in_small.float().mean().item() - 1 / 7) < 0.01
    assert torch.allclose(p[:, 2], torch.zeros(()), atol=1e-6)
    assert torch.allclose(out.packed("normal")[:, 2].abs(), torch.ones(()))
    small = p[in_small]  # uniform inside the small triangle: mean at its centroid
    torch.testing.assert_close(small[:, :2].mean(0), torch.tensor([1 / 3, 1 / 3]), atol=0.02, rtol=0)


def test_unsupported_transforms_refuse_a_graph_batch():
    gb = GraphBatch.from_pointclouds(clouds())
    with pytest.raises(TypeError, match="data"):
        T.ToUndirected()(gb)
    with pytest.raises(TypeError, match="data"):
        T.Compose([T.Center(), T.GCNNorm()])(gb)


# ---------------------------------------------------------------------- edge cases


def test_graph_without_edges():
    for t, p in [(T.ToUndirected(), PT.ToUndirected()), (T.AddSelfLoops(), PT.AddSelfLoops()),
                 (T.GCNNorm(), PT.GCNNorm()), (T.RemoveIsolatedNodes(), PT.RemoveIsolatedNodes()),
                 (T.AddRandomWalkPE(2), PT.AddRandomWalkPE(2))]:
        ours, theirs = pair(x=torch.rand(3, 2), edge_index=torch.zeros(2, 0, dtype=torch.long))
        assert_same(t(ours), p(theirs))
    out = T.AddSelfLoops()(Data(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=3))
    assert out.edge_index.tolist() == [[0, 1, 2], [0, 1, 2]]


def test_record_without_edge_index_loses_every_node_in_remove_isolated_nodes():
    ours, theirs = pair(x=torch.rand(3, 2))
    assert_same(T.RemoveIsolatedNodes()(ours), PT.RemoveIsolatedNodes()(theirs))


def test_empty_graph():
    empty = dict(x=torch.zeros(0, 2), pos=torch.zeros(0, 3), edge_index=torch.zeros(2, 0, dtype=torch.long))
    for t, p in [(T.ToUndirected(), PT.ToUndirected()), (T.AddSelfLoops(), PT.AddSelfLoops()),
                 (T.Center(), PT.Center()), (T.RandomJitter(0.1), PT.RandomJitter(0.1)),
                 (T.NormalizeFeatures(), PT.NormalizeFeatures()), (T.RemoveIsolatedNodes(), PT.RemoveIsolatedNodes())]:
        ours, theirs = pair(**empty)
        assert_same(t(ours), p(theirs))
    assert T.NormalizeScale()(Data(**empty)).pos.shape == (0, 3)  # PyG fails on the empty max; here: unchanged
    assert T.KNNGraph(2)(Data(**empty)).edge_index.shape == (2, 0)
    gb = GraphBatch([Graph(torch.zeros(0, 3)), Graph(torch.rand(3, 3))])
    for t in [T.Center(), T.NormalizeScale(), T.RandomJitter(0.1), T.RandomFlip(0), T.RandomRotate(30), T.KNNGraph(2)]:
        out = t(gb)
        assert out.num_verts_per_graph.tolist() == [0, 3]
    assert T.Center()(GraphBatch()).num_graphs == 0


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("make,name", [
    (lambda: T.ToUndirected(reduce="median"), "reduce"), (lambda: T.AddSelfLoops(fill_value="median"), "fill_value"),
    (lambda: T.RandomNodeSplit(split="all"), "split"), (lambda: T.RandomNodeSplit(num_splits=0), "num_splits"),
    (lambda: T.RandomNodeSplit(num_val=-1), "num_val"), (lambda: T.RandomNodeSplit(num_test=1.5), "num_test"),
    (lambda: T.RandomNodeSplit(split="random", key=None), "key"),
    (lambda: T.RandomLinkSplit(num_val=-0.1), "num_val"), (lambda: T.RandomLinkSplit(neg_sampling_ratio=-1), "neg_sampling_ratio"),
    (lambda: T.AddLaplacianEigenvectorPE(0), "k"), (lambda: T.AddRandomWalkPE(0), "walk_length"),
    (lambda: T.KNNGraph(k=0), "k"), (lambda: T.KNNGraph(flow="up"), "flow"), (lambda: T.RadiusGraph(-1.0), "r"),
    (lambda: T.RadiusGraph(1.0, max_num_neighbors=0), "max_num_neighbors"), (lambda: T.SamplePoints(0), "num"),
    (lambda: T.RandomJitter("a"), "translate"), (lambda: T.RandomFlip(0, p=2), "p"), (lambda: T.RandomFlip(0.5), "axis"),
    (lambda: T.RandomRotate((1, 2, 3)), "degrees"), (lambda: T.RandomRotate(10, axis=3), "axis"),
    (lambda: T.LinearTransformation(torch.rand(2, 3)), "matrix"), (lambda: T.ToSparseTensor(layout=torch.strided), "layout"),
])
def test_bad_arguments_raise_value_error_naming_them(make, name):
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize("t,name", [
    (T.Center(), None), (T.NormalizeScale(), "pos"), (T.RandomJitter(0.1), "pos"), (T.RandomFlip(0), "pos"),
    (T.RandomRotate(10), "pos"), (T.KNNGraph(), "pos"), (T.RadiusGraph(1.0), "pos"), (T.SamplePoints(3), "pos"),
    (T.AddRandomWalkPE(2), "edge_index"), (T.AddLaplacianEigenvectorPE(1), "edge_index"),
    (T.RandomLinkSplit(), "edge_index"), (T.GCNNorm(), "edge_index"),
])
def test_missing_attributes_raise_value_error_naming_them(t, name):
    data = Data(x=torch.rand(4, 2))
    if name is None:  # Center: nothing to center, as in PyG
        assert torch.equal(t(data).x, data.x)
        return
    with pytest.raises(ValueError, match=name):
        t(data)


def test_bad_record_values_raise_value_error():
    with pytest.raises(ValueError, match="face"):
        T.FaceToEdge()(Data(face=torch.zeros(2, 3, dtype=torch.long), num_nodes=3))
    with pytest.raises(ValueError, match="translate"):
        T.RandomJitter([0.1, 0.2])(Data(pos=torch.rand(3, 3)))
    with pytest.raises(ValueError, match="axis"):
        T.RandomFlip(2)(Data(pos=torch.rand(3, 2)))
    with pytest.raises(ValueError, match="k must be smaller"):
        T.AddLaplacianEigenvectorPE(3)(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2))
    with pytest.raises(ValueError, match="Insufficient"):
        T.RandomLinkSplit(num_val=1, num_test=1)(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2))


# ---------------------------------------------------------------------- PyG's own records, PyG's documented outputs


@pytest.mark.parametrize("name,args", [("ToUndirected", ()), ("AddSelfLoops", ()), ("RemoveIsolatedNodes", ()),
                                       ("RandomNodeSplit", ("random", 1, 1, 1, 1)), ("AddRandomWalkPE", (2,)),
                                       ("GCNNorm", ()), ("FaceToEdge", ()), ("SamplePoints", (4,)),
                                       ("NormalizeScale", ()), ("RandomRotate", (30,))])
def test_transforms_take_pyg_records(name, args):
    kw = dict(x=torch.rand(5, 3), edge_index=torch.tensor([[0, 1, 1, 2, 3], [1, 0, 2, 1, 4]]), pos=torch.randn(5, 3),
              face=torch.tensor([[0], [1], [2]]), y=torch.arange(5) % 2)
    a = seeded(lambda: getattr(T, name)(*args)(PygData(**kw)))
    b = seeded(lambda: getattr(PT, name)(*args)(PygData(**kw)))
    assert type(a) is PygData
    assert_same(a, b)


def test_knn_and_radius_graph_give_pygs_documented_edges():
    # PyG's test_knn_graph / test_radius_graph (which need pyg_lib, absent here)
    pos = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [-2.0, 0.0], [0.0, -2.0]])
    out = T.KNNGraph(k=2, force_undirected=True)(Data(pos=pos))
    assert out.edge_index.tolist() == [[0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5],
                                       [1, 2, 3, 4, 5, 0, 2, 3, 5, 0, 1, 0, 1, 4, 0, 3, 0, 1]]
    from meshgraph.ops.edge_utils import coalesce
    out = T.RadiusGraph(r=1.5)(Data(pos=pos))
    assert coalesce(out.edge_index).tolist() == [[0, 0, 1, 1, 1, 2, 3, 3], [1, 3, 0, 2, 3, 1, 0, 1]]
    assert repr(T.KNNGraph()) == "KNNGraph(k=6)" and repr(T.RadiusGraph(r=1)) == "RadiusGraph(r=1)"
