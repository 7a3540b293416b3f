"""Graph / GraphBatch: views agree with each other, topology, indexing, pytree, mesh helpers, bad input."""

import pytest
import torch
import torch.utils._pytree as pytree
from hypothesis import given, settings
from hypothesis import strategies as st

import meshgraph as mg
from meshgraph import Graph, GraphBatch

TET_FACES = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])


def tetra(scale=1.0, feat_width=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Graph(torch.randn(4, 3, generator=g) * scale, TET_FACES, vertex_features={"f": torch.randn(4, feat_width, generator=g)})


def mixed_batch():
    cloud = Graph(torch.randn(6, 3), vertex_features={"f": torch.randn(6, 5)})
    cite = Graph(num_verts=3, edge_index=torch.tensor([[0, 1, 2], [1, 2, 2]]), edge_features={"w": torch.tensor([1.0, 2.0, 3.0])})
    return GraphBatch([tetra(), cloud, cite])


@st.composite
def graphs(draw):
    kind = draw(st.sampled_from(["mesh", "cloud", "graph", "empty"]))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    if kind == "empty":
        return Graph(torch.zeros(0, 3), vertex_features={"x": torch.zeros(0, 2)})
    v = draw(st.integers(1, 12))
    pos = torch.randn(v, 3, generator=g)
    x = torch.randn(v, 2, generator=g)
    if kind == "mesh":
        f = draw(st.integers(0, 10))
        faces = torch.randint(0, v, (f, 3), generator=g)
        return Graph(pos, faces, vertex_features={"x": x})
    if kind == "cloud":
        return Graph(pos, vertex_features={"x": x})
    e = draw(st.integers(0, 20))
    edges = torch.randint(0, v, (2, e), generator=g)  # duplicates and self loops allowed
    return Graph(num_verts=v, edge_index=edges, vertex_features={"x": x}, edge_features={"w": torch.randn(e, generator=g)})


@settings(max_examples=60, deadline=None)
@given(st.lists(graphs(), min_size=1, max_size=6))
def test_views_agree_for_random_batches(gs):
    b = GraphBatch(gs)
    n = len(gs)
    counts = [g.num_verts for g in gs]
    assert len(b) == n and b.num_verts_per_graph.tolist() == counts
    assert b.verts_ptr.tolist() == [sum(counts[:i]) for i in range(n + 1)]
    assert b.graph_index.tolist() == [i for i, c in enumerate(counts) for _ in range(c)]
    x_list = b.list("x")
    padded = b.padded("x")
    assert padded.shape == (n, max(counts, default=0), 2)
    for i, g in enumerate(gs):
        assert torch.equal(x_list[i], g.vertex_features["x"])
        assert torch.equal(padded[i, : counts[i]], g.vertex_features["x"])
        assert not padded[i, counts[i]:].any()
        assert torch.equal(b.packed("x")[b.graph_index == i], g.vertex_features["x"])
        e_local = b.edge_index_list()[i]
        assert torch.equal(e_local, g.edge_index if g.edge_index is not None else torch.zeros(2, 0, dtype=torch.int64))
        if g.faces is not None:
            assert torch.equal(b.faces_list()[i], g.faces)
    # packed edges are the local edges shifted by each graph's vertex offset
    if b.num_edges:
        src_graph = b.graph_index[b.edge_index[0]]
        assert torch.equal(src_graph, b.edge_graph_index)
        assert torch.equal(b.graph_index[b.edge_index[1]], b.edge_graph_index)
    # the CSR by destination lists exactly the edges
    rowptr, col, perm = b.csr()
    assert rowptr.numel() == b.num_verts + 1 and int(rowptr[-1]) == b.num_edges
    dst = torch.repeat_interleave(torch.arange(b.num_verts), rowptr.diff())
    assert torch.equal(b.edge_index[1, perm], dst) and torch.equal(b.edge_index[0, perm], col)
    # round trips: list of graphs, pytree, indexing
    again = GraphBatch(b.graphs())
    assert torch.equal(again.packed("x"), b.packed("x")) and torch.equal(again.edge_index, b.edge_index)
    leaves, spec = pytree.tree_flatten(b)
    rebuilt = pytree.tree_unflatten(leaves, spec)
    assert torch.equal(rebuilt.edge_index, b.edge_index) and rebuilt.num_verts_per_graph.tolist() == counts
    if n:
        last = b[n - 1]
        assert last.num_verts == counts[-1] and torch.equal(last.packed("x"), gs[-1].vertex_features["x"])


def test_empty_batch_has_consistent_empty_views():
    b = GraphBatch([])
    assert len(b) == 0 and b.num_verts == 0 and b.verts_ptr.tolist() == [0]
    assert b.edge_index.shape == (2, 0) and b.faces_packed().shape == (0, 3)
    assert b.csr().rowptr.tolist() == [0] and b.graph_index.numel() == 0


def test_mixed_kinds_in_one_batch():
    b = mixed_batch()
    assert b.has("pos") == (True, True, False)
    assert b.has("f") == (True, True, False)
    assert b.has("w") == (False, False, True)
    assert b.num_verts == 13 and b.num_faces == 4
    assert b.num_edges == 12 + 3  # tetra: 6 undirected edges, both directions; citation graph: 3 explicit
    assert torch.equal(b.edge_packed("w"), torch.tensor([0.0] * 12 + [1.0, 2.0, 3.0]))
    assert b.is_mesh() == (True, False, False)
    # the citation graph has no positions: its rows of pos are zero and it comes back without pos
    assert b.graphs()[2].pos is None and not b.pos_packed()[10:].any()


def test_edges_from_faces_are_unique_undirected_and_both_directions():
    faces = torch.tensor([[0, 1, 2], [2, 1, 3], [0, 0, 1]])  # shared edge 1-2, one degenerate face
    g = Graph(torch.randn(4, 3), faces)
    und = mg.graph.edges_from_faces(faces)
    assert und.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]
    pairs = set(map(tuple, g.edge_index.t().tolist()))
    assert pairs == {(a, b) for a, b in und.tolist()} | {(b, a) for a, b in und.tolist()}
    assert g.edge_index.shape[1] == 10


def test_duplicate_edges_and_self_loops_are_kept_as_given():
    g = Graph(num_verts=2, edge_index=torch.tensor([[0, 0, 1], [1, 1, 1]]))
    b = GraphBatch([g, g])
    assert b.edge_index.tolist() == [[0, 0, 1, 2, 2, 3], [1, 1, 1, 3, 3, 3]]
    assert b.csr().rowptr.tolist() == [0, 0, 3, 3, 6]


def test_csr_int32_and_by_source_are_cached():
    b = mixed_batch()
    c = b.csr(index_dtype=torch.int32)
    assert c.col.dtype == torch.int32 and b.csr(index_dtype=torch.int32) is c
    rowptr, col, perm = b.csr(by="src")
    src = torch.repeat_interleave(torch.arange(b.num_verts), rowptr.diff())
    assert torch.equal(b.edge_index[0, perm], src) and torch.equal(b.edge_index[1, perm], col)
    with pytest.raises(ValueError, match="by"):
        b.csr(by="up")
    with pytest.raises(TypeError, match="index_dtype"):
        b.csr(index_dtype=torch.float32)


def test_faces_padded_uses_minus_one_padding():
    b = GraphBatch([tetra(), Graph(torch.randn(3, 3), torch.tensor([[0, 1, 2]]))])
    fp = b.faces_padded()
    assert fp.shape == (2, 4, 3)
    assert torch.equal(fp[0], TET_FACES) and fp[1, 0].tolist() == [0, 1, 2] and (fp[1, 1:] == -1).all()


def test_update_features_keeps_views_consistent():
    b = mixed_batch()
    old_padded = b.padded("f")
    new = torch.arange(b.num_verts * 5, dtype=torch.float32).reshape(-1, 5)
    b.update_features("f", new)
    assert torch.equal(b.padded("f")[0, :4], new[:4]) and not torch.equal(b.padded("f"), old_padded)
    assert torch.equal(b.list("f")[1], new[4:10])
    pos = b.pos_packed() * 2
    areas = b.face_areas()
    b.update_features("pos", pos)
    torch.testing.assert_close(b.face_areas(), areas * 4)
    b.update_features("label", torch.zeros(b.num_verts, dtype=torch.int64))
    assert b.has("label") == (True, True, True)
    with pytest.raises(ValueError, match="rows"):
        b.update_features("f", torch.zeros(3, 5))
    with pytest.raises(TypeError, match="pos"):
        b.update_features("pos", torch.zeros(b.num_verts, 3, dtype=torch.int64))
    b.update_edge_features("w", torch.ones(b.num_edges))
    assert torch.equal(b.edge_list("w")[2], torch.ones(3))


def test_indexing_slices_lists_and_masks():
    b = mixed_batch()
    assert len(b[1:]) == 2 and b[1:].num_verts == 9
    sel = b[[2, 0]]
    assert sel.num_verts_per_graph.tolist() == [3, 4]
    assert torch.equal(sel.edge_index_list()[0], torch.tensor([[0, 1, 2], [1, 2, 2]]))
    assert torch.equal(sel.faces_list()[1], TET_FACES)
    assert b[torch.tensor([True, False, True])].num_verts == 7
    assert b[-1].num_verts == 3 and b[torch.tensor([1])].num_verts == 6
    with pytest.raises(IndexError):
        b[3]
    with pytest.raises(TypeError):
        b["a"]


def test_collate_works_as_dataloader_collate_fn():
    data = [tetra(seed=i) for i in range(5)]
    loader = torch.utils.data.DataLoader(data, batch_size=2, collate_fn=GraphBatch.collate)
    batches = list(loader)
    assert [len(x) for x in batches] == [2, 2, 1]
    assert batches[0].num_verts == 8 and batches[0].faces_packed().max() == 7
    both = GraphBatch.collate([batches[0], data[4]])
    assert len(both) == 3 and torch.equal(both.list("f")[2], data[4].vertex_features["f"])


def test_to_clone_detach():
    b = mixed_batch()
    b.update_features("f", b.packed("f").requires_grad_(True))
    d = b.detach()
    assert not d.packed("f").requires_grad and b.packed("f").requires_grad
    c = b.clone()
    assert torch.equal(c.packed("f"), b.packed("f")) and c.packed("f").data_ptr() != b.packed("f").data_ptr()
    h = b.to(torch.float64)
    assert h.pos_packed().dtype == torch.float64 and h.edge_index.dtype == torch.int64
    assert b.to("cpu").device == torch.device("cpu")


def test_mesh_helpers_on_known_geometry():
    # unit right triangle in the z=0 plane plus a second triangle making a unit square
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    b = GraphBatch([Graph(pos, faces)])
    torch.testing.assert_close(b.face_areas(), torch.tensor([0.5, 0.5], dtype=torch.float64))
    torch.testing.assert_close(b.vertex_normals(), torch.tensor([[0.0, 0, 1]] * 4, dtype=torch.float64))
    L = b.laplacian().to_dense()
    assert torch.allclose(L.diagonal(), -torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(L.sum(1), torch.zeros(4, dtype=torch.float64))  # rows of the uniform L sum to 0
    C, inv_areas = b.cot_laplacian()
    C = C.to_dense()
    # edge 0-2 is the diagonal: both opposite angles are 90 degrees -> cot = 0; edge 0-1 is opposite a 45 degree angle
    torch.testing.assert_close(C[0, 2], torch.tensor(0.0, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(C[0, 1], torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(C, C.t())
    torch.testing.assert_close(inv_areas[:, 0], torch.tensor([1.0, 2.0, 1.0, 2.0], dtype=torch.float64))


def test_cot_laplacian_is_differentiable():
    pos = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = GraphBatch([Graph(pos, TET_FACES)])
    L, _ = b.cot_laplacian()
    (L.to_dense() ** 2).sum().backward()
    assert pos.grad is not None and torch.isfinite(pos.grad).all()


def test_pytree_compile_fullgraph_matches_eager():
    b = mixed_batch()

    def f(batch):
        x = batch.padded("f")
        return mg.ops.padded_to_packed(x * 2, batch.first_idxs, batch.num_verts) + batch.packed("f")

    compiled = torch.compile(f, fullgraph=True)
    torch.testing.assert_close(compiled(b), f(b))
    torch._dynamo.reset()


def test_pytree_export_and_tree_map():
    b = mixed_batch()

    class M(torch.nn.Module):
        def forward(self, batch: GraphBatch):
            return mg.ops.packed_to_padded(batch.packed("f"), batch.first_idxs, batch.max_verts).sum(1)

    ep = torch.export.export(M(), (b,))
    torch.testing.assert_close(ep.module()(b), M()(b))
    doubled = pytree.tree_map(lambda t: t * 2 if t.is_floating_point() else t, b)
    assert isinstance(doubled, GraphBatch) and torch.equal(doubled.packed("f"), b.packed("f") * 2)


def test_vmap_over_weights_with_a_batch_argument():
    b = mixed_batch()
    w = torch.randn(7, 5)
    out = torch.vmap(lambda wi, batch: (batch.packed("f") * wi).sum(), in_dims=(0, None))(w, b)
    torch.testing.assert_close(out, (b.packed("f")[None] * w[:, None]).sum((1, 2)))


def test_bad_graph_inputs_name_the_argument():
    with pytest.raises(ValueError, match="faces"):
        Graph(torch.randn(3, 3), torch.tensor([[0, 1, 3]]))  # vertex 3 does not exist
    with pytest.raises(ValueError, match="faces"):
        Graph(torch.randn(3, 3), torch.tensor([[0, 1, -1]]))
    with pytest.raises(ValueError, match="faces"):
        Graph(torch.randn(3, 3), torch.tensor([[0, 1]]))
    with pytest.raises(TypeError, match="faces"):
        Graph(torch.randn(3, 3), torch.tensor([[0.0, 1, 2]]))
    with pytest.raises(ValueError, match="edge_index"):
        Graph(num_verts=2, edge_index=torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="edge_index"):
        Graph(num_verts=2, edge_index=torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="pos"):
        Graph(torch.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="pos"):
        Graph(torch.zeros(3))
    with pytest.raises(ValueError, match="num_verts"):
        Graph(num_verts=-1)
    with pytest.raises(ValueError, match="num_verts|vertices"):
        Graph()
    with pytest.raises(ValueError, match="vertex_features"):
        Graph(torch.zeros(3, 3), vertex_features={"x": torch.zeros(4, 2)})
    with pytest.raises(ValueError, match="edge_features"):
        Graph(num_verts=2, edge_index=torch.tensor([[0], [1]]), edge_features={"w": torch.zeros(2)})
    with pytest.raises(TypeError, match="graphs\\[1\\]"):
        GraphBatch([tetra(), "not a graph"])
    with pytest.raises(ValueError, match="feature 'f'"):
        GraphBatch([tetra(feat_width=5), tetra(feat_width=6)])


def test_split_balances_vertices_and_keeps_every_graph():
    gs = [Graph(torch.randn(n, 3)) for n in (10, 1, 1, 1, 9, 2)]
    parts = GraphBatch(gs).split(2)
    assert [p.num_verts for p in parts] == [12, 12] and [len(p) for p in parts] == [3, 3]
    assert sum(p.num_verts for p in parts) == 24
    assert torch.equal(torch.cat([p.pos_packed() for p in parts]), GraphBatch(gs).pos_packed())
    assert len(GraphBatch(gs[:2]).split(5)) == 2
    with pytest.raises(ValueError, match="chunks"):
        GraphBatch(gs).split(0)


def test_parallel_scatter_splits_graph_batches_and_tensors():
    from meshgraph.parallel import scatter

    b = GraphBatch([tetra(seed=i) for i in range(4)])
    y = torch.arange(4)
    parts = scatter((b, y, "tag"), ["cpu", "cpu"])
    assert len(parts) == 2
    (b0, y0, t0), (b1, y1, t1) = parts
    assert len(b0) == 2 and len(b1) == 2 and y0.tolist() == [0, 1] and t1 == "tag"
    assert torch.equal(torch.cat([b0.packed("f"), b1.packed("f")]), b.packed("f"))
    kw = scatter({"batch": b}, ["cpu", "cpu"])
    assert len(kw[1]["batch"]) == 2


def test_from_packed_builds_a_batch_over_packed_tensors_without_copies():
    pos = torch.randn(7, 3)
    ei = torch.tensor([[0, 1, 4, 5], [1, 2, 5, 6]])
    w = torch.rand(4)
    b = GraphBatch.from_packed([3, 4], edge_index=ei, num_edges=[2, 2], vertex_features={"pos": pos},
                               edge_features={"w": w})
    assert b.num_graphs == 2 and b.num_verts == 7 and b.packed("pos").data_ptr() == pos.data_ptr()
    assert torch.equal(b.edge_index_list()[1], torch.tensor([[1, 2], [2, 3]]))  # local indices of graph 1
    torch.testing.assert_close(b.edge_list("w")[1], w[2:])
    x = torch.randn(7, 2)
    torch.testing.assert_close(mg.ops.gather_scatter(x, b), mg.ops.gather_scatter(x, ei))
    with pytest.raises(ValueError, match="num_edges"):
        GraphBatch.from_packed([3, 4], edge_index=ei, num_edges=[1, 2])
    with pytest.raises(ValueError, match="rows"):
        GraphBatch.from_packed([3, 4], vertex_features={"pos": pos[:5]})
    with pytest.raises(ValueError, match="edge_index"):
        GraphBatch.from_packed([3], edge_index=torch.zeros(3, 2, dtype=torch.int64))
