"""Interop: networkx, scipy.sparse, PyG, trimesh, PyTorch3D (the last through a stand-in module, since
PyTorch3D has no installable CPU wheel)."""

import sys
import types

import networkx as nx
import pytest
import scipy.sparse as sp
import torch

from meshgraph import Graph, GraphBatch
from meshgraph import convert as C

FACES = torch.tensor([[0, 1, 2], [0, 2, 3]])


def mesh(seed=0):
    g = torch.Generator().manual_seed(seed)
    return Graph(torch.randn(4, 3, generator=g), FACES, vertex_features={"feat": torch.randn(4, 6, generator=g)})


def citation():
    return Graph(
        num_verts=4, edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]),
        vertex_features={"x": torch.randn(4, 3)}, edge_features={"w": torch.tensor([0.5, 1.0, 1.5, 2.0])},
    )


def assert_same_graph(a: Graph, b: Graph, check_edges=True):
    assert a.num_verts == b.num_verts
    assert set(a.vertex_features) == set(b.vertex_features)
    for k in a.vertex_features:
        torch.testing.assert_close(b.vertex_features[k], a.vertex_features[k])
    if check_edges:
        assert torch.equal(a.edge_index, b.edge_index)
        for k in a.edge_features:
            torch.testing.assert_close(b.edge_features[k], a.edge_features[k])


def test_networkx_round_trip_keeps_features():
    g = citation()
    h = C.from_networkx(C.to_networkx(g))
    assert_same_graph(g, h)
    m = mesh()
    hm = C.from_networkx(C.to_networkx(m))
    assert_same_graph(m, hm, check_edges=False)
    assert torch.equal(hm.faces, m.faces) and hm.edge_index.shape == m.edge_index.shape


def test_from_undirected_networkx_gives_both_directions():
    G = nx.karate_club_graph()
    g = C.from_networkx(G)
    assert g.num_verts == 34 and g.edge_index.shape[1] == 2 * G.number_of_edges()
    assert "weight" in g.edge_features


def test_scipy_sparse_round_trip_keeps_weights():
    g = citation()
    A = C.to_scipy_sparse(g, edge_weight="w")
    assert A.shape == (4, 4) and A.toarray()[0, 1] == 0.5
    h = C.from_scipy_sparse(A, edge_weight="w")
    assert torch.equal(h.edge_index, g.edge_index)
    torch.testing.assert_close(h.edge_features["w"], g.edge_features["w"])
    b = GraphBatch([g, g])
    assert C.to_scipy_sparse(b).shape == (8, 8) and C.to_scipy_sparse(b).nnz == 8
    with pytest.raises(ValueError, match="square"):
        C.from_scipy_sparse(sp.coo_matrix((2, 3)))
    with pytest.raises(TypeError, match="matrix"):
        C.from_scipy_sparse(torch.zeros(2, 2))


def test_pyg_round_trip_data_and_batch():
    pytest.importorskip("torch_geometric")
    g = citation()
    d = C.to_pyg(g)
    assert d.num_nodes == 4 and torch.equal(d.edge_index, g.edge_index) and torch.equal(d.w, g.edge_features["w"])
    assert_same_graph(g, C.from_pyg(d))
    b = GraphBatch([mesh(0), mesh(1)])
    pb = C.to_pyg(b)
    assert pb.num_graphs == 2 and torch.equal(pb.batch, b.graph_index) and torch.equal(pb.edge_index, b.edge_index)
    assert torch.equal(pb.face.t(), b.faces_packed())
    back = C.from_pyg(pb)
    assert torch.equal(back.pos_packed(), b.pos_packed()) and torch.equal(back.packed("feat"), b.packed("feat"))
    assert torch.equal(back.faces_packed(), b.faces_packed())


def test_trimesh_round_trip_keeps_vertex_features():
    m = mesh()
    t = C.to_trimesh(m)
    assert t.vertices.shape == (4, 3) and t.faces.shape == (2, 3)
    h = C.from_trimesh(t)
    assert torch.equal(h.faces, m.faces)
    torch.testing.assert_close(h.pos, m.pos)
    torch.testing.assert_close(h.vertex_features["feat"], m.vertex_features["feat"])
    with pytest.raises(ValueError, match="batch of 2"):
        C.to_trimesh(GraphBatch([m, m]))


@pytest.fixture
def fake_pytorch3d(monkeypatch):
    """Minimal stand-ins with PyTorch3D's constructor arguments and list accessors."""

    class Meshes:
        def __init__(self, verts, faces, textures=None):
            self._v, self._f, self.textures = verts, faces, textures

        def verts_list(self):
            return self._v

        def faces_list(self):
            return self._f

    class Pointclouds:
        def __init__(self, points, normals=None, features=None):
            self._p, self._n, self._f = points, normals, features

        def points_list(self):
            return self._p

        def features_list(self):
            return self._f

    class TexturesVertex:
        def __init__(self, verts_features):
            self._f = verts_features

        def verts_features_list(self):
            return self._f

    root = types.ModuleType("pytorch3d")
    structures = types.ModuleType("pytorch3d.structures")
    renderer = types.ModuleType("pytorch3d.renderer")
    structures.Meshes, structures.Pointclouds, renderer.TexturesVertex = Meshes, Pointclouds, TexturesVertex
    for name, mod in [("pytorch3d", root), ("pytorch3d.structures", structures), ("pytorch3d.renderer", renderer)]:
        monkeypatch.setitem(sys.modules, name, mod)
    return structures


def test_pytorch3d_meshes_and_pointclouds_round_trip(fake_pytorch3d):
    b = GraphBatch([mesh(0), mesh(1)])
    m = C.to_pytorch3d(b, features="feat")
    assert isinstance(m, fake_pytorch3d.Meshes)
    back = C.from_pytorch3d(m, features="feat")
    assert torch.equal(back.pos_packed(), b.pos_packed()) and torch.equal(back.faces_packed(), b.faces_packed())
    assert torch.equal(back.packed("feat"), b.packed("feat"))
    clouds = GraphBatch.from_pointclouds([torch.randn(5, 3), torch.randn(2, 3)], feat=[torch.randn(5, 4), torch.randn(2, 4)])
    pc = C.to_pytorch3d(clouds, features="feat")
    assert isinstance(pc, fake_pytorch3d.Pointclouds)
    back = C.from_pytorch3d(pc, features="feat")
    assert torch.equal(back.pos_packed(), clouds.pos_packed()) and torch.equal(back.packed("feat"), clouds.packed("feat"))
    with pytest.raises(ValueError, match="mixing"):
        C.to_pytorch3d(GraphBatch([mesh(), Graph(torch.randn(3, 3))]))


def test_missing_optional_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pytorch3d", None)
    monkeypatch.setitem(sys.modules, "pytorch3d.structures", None)
    with pytest.raises(ImportError, match="pytorch3d"):
        C.to_pytorch3d(GraphBatch([mesh()]))
