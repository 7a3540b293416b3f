"""compat.pytorch3d.structures: Meshes / Pointclouds (GraphBatch subclasses) against values computed here."""

import numpy as np
import pytest
import torch
import torch.utils._pytree as pytree

import meshgraph as mg
from meshgraph.compat.pytorch3d.structures import (
    Meshes,
    Pointclouds,
    join_meshes_as_batch,
    join_meshes_as_scene,
    join_pointclouds_as_batch,
    join_pointclouds_as_scene,
    list_to_packed,
    list_to_padded,
    packed_to_list,
    padded_to_list,
)
from meshgraph.compat.pytorch3d.structures.utils import padded_to_packed
from meshgraph.structures import as_graph_batch


def random_meshes(n=3, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    verts, faces = [], []
    for i in range(n):
        v = 4 + 3 * i
        verts.append(torch.rand(v, 3, generator=g, dtype=dtype))
        faces.append(torch.randint(0, v, (2 + 4 * i, 3), generator=g))
    return verts, faces


def test_meshes_is_a_graph_batch_with_list_padded_packed_views():
    verts, faces = random_meshes()
    m = Meshes(verts, faces)
    assert isinstance(m, mg.GraphBatch) and len(m) == 3
    nv, nf = [len(v) for v in verts], [len(f) for f in faces]
    assert m.num_verts_per_mesh().tolist() == nv and m.num_faces_per_mesh().tolist() == nf
    assert torch.equal(m.verts_packed(), torch.cat(verts))
    off = np.concatenate([[0], np.cumsum(nv)])
    assert torch.equal(m.faces_packed(), torch.cat([f + int(off[i]) for i, f in enumerate(faces)]))
    padded, fpadded = m.verts_padded(), m.faces_padded()
    assert padded.shape == (3, max(nv), 3) and fpadded.shape == (3, max(nf), 3)
    for i in range(3):
        assert torch.equal(padded[i, : nv[i]], verts[i]) and not padded[i, nv[i]:].any()
        assert torch.equal(fpadded[i, : nf[i]], faces[i]) and (fpadded[i, nf[i]:] == -1).all()
        assert m.verts_list()[i] is verts[i]  # the given tensors, as PyTorch3D
        assert torch.equal(m.faces_list()[i], faces[i])
    assert m.mesh_to_verts_packed_first_idx().tolist() == off[:-1].tolist()
    assert m.mesh_to_faces_packed_first_idx().tolist() == np.concatenate([[0], np.cumsum(nf)])[:-1].tolist()
    assert m.verts_packed_to_mesh_idx().tolist() == [i for i in range(3) for _ in range(nv[i])]
    assert m.faces_packed_to_mesh_idx().tolist() == [i for i in range(3) for _ in range(nf[i])]
    idx = m.verts_padded_to_packed_idx()
    assert torch.equal(padded.reshape(-1, 3)[idx], m.verts_packed())
    assert m.get_mesh_verts_faces(1)[0] is verts[1]
    assert m.equisized is False and m.valid.tolist() == [True] * 3 and not m.isempty()


def test_meshes_from_padded_tensors_and_face_padding_rules():
    verts = torch.rand(2, 5, 3)
    faces = torch.tensor([[[0, 1, 2], [1, 2, 3], [-1, -1, -1]], [[0, 2, 4], [-1, -1, -1], [-1, -1, -1]]])
    m = Meshes(verts=verts, faces=faces)
    assert m.num_verts_per_mesh().tolist() == [5, 5]  # padded verts: every mesh has V vertices
    assert m.num_faces_per_mesh().tolist() == [2, 1]
    assert torch.equal(m.faces_list()[1], torch.tensor([[0, 2, 4]]))
    with pytest.raises(ValueError, match="Padding of faces"):
        Meshes(verts=verts, faces=torch.tensor([[[-1, -1, -1], [0, 1, 2]], [[0, 1, 2], [0, 1, 2]]]))
    with pytest.raises(ValueError, match="incorrect dimensions"):
        Meshes(verts=torch.rand(2, 5, 2), faces=faces)
    # list input: rows holding -1 are dropped; an empty mesh may be torch.tensor([])
    m = Meshes([torch.rand(3, 3), torch.tensor([])], [torch.tensor([[0, 1, 2], [0, -1, 1]]), torch.tensor([])])
    assert m.num_faces_per_mesh().tolist() == [1, 0] and m.valid.tolist() == [True, False]
    assert Meshes([], []).isempty() and len(Meshes([], [])) == 0
    with pytest.raises(ValueError, match="faces\\[0\\]"):
        Meshes([torch.rand(3, 3)], [torch.tensor([[0, 1, 3]])])


def test_edges_match_numpy_unique_and_keep_degenerate_sides():
    verts, faces = random_meshes(seed=3)
    faces[0][0] = torch.tensor([1, 1, 2])  # a degenerate face: its (1, 1) side is an edge in PyTorch3D
    m = Meshes(verts, faces)
    fp = m.faces_packed().numpy()
    sides = np.sort(np.concatenate([fp[:, [1, 2]], fp[:, [2, 0]], fp[:, [0, 1]]]), axis=1)
    uniq, first, inverse = np.unique(sides, axis=0, return_index=True, return_inverse=True)
    assert np.array_equal(m.edges_packed().numpy(), uniq)
    owner = np.concatenate([m.faces_packed_to_mesh_idx().numpy()] * 3)[first]
    assert np.array_equal(m.edges_packed_to_mesh_idx().numpy(), owner)
    assert m.num_edges_per_mesh().tolist() == np.bincount(owner, minlength=3).tolist()
    assert m.num_edges_per_mesh().dtype == torch.int32
    assert m.mesh_to_edges_packed_first_idx().tolist() == [0, *np.cumsum(np.bincount(owner, minlength=3))[:-1]]
    assert np.array_equal(m.faces_packed_to_edges_packed().numpy(), inverse.reshape(3, -1).T)
    assert [1, 1] in m.edges_packed().tolist()
    # the mesh edge loss sees the zero-length edge too (PyTorch3D's count of edges)
    per_mesh = np.bincount(owner, minlength=3)
    e = m.edges_packed()
    lengths = (m.verts_packed()[e[:, 0]] - m.verts_packed()[e[:, 1]]).norm(dim=1) ** 2
    expected = sum(lengths[torch.as_tensor(owner) == i].sum() / per_mesh[i] for i in range(3)) / 3
    assert torch.allclose(mg.losses.mesh_edge_loss(m), expected)


def test_face_and_vertex_normals_areas_bounding_boxes():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 2]])
    faces = torch.tensor([[0, 1, 2], [0, 3, 1]])
    m = Meshes([verts, verts * 2], [faces, faces[:1]])
    assert torch.allclose(m.faces_areas_packed(), torch.tensor([0.5, 1.0, 2.0]))
    fn = torch.tensor([[0.0, 0, 1], [0, 1, 0], [0, 0, 1]])
    assert torch.allclose(m.faces_normals_packed(), fn)
    assert torch.allclose(m.faces_normals_padded()[1, 0], fn[2]) and not m.faces_normals_padded()[1, 1].any()
    assert torch.allclose(m.faces_normals_list()[0], fn[:2])
    # vertex normals: area-weighted sum of the face normals around each vertex, normalized
    vn = m.verts_normals_packed()
    assert torch.allclose(vn[0], torch.nn.functional.normalize(torch.tensor([0.0, 2.0, 1.0]), dim=0))
    assert torch.allclose(vn[2], torch.tensor([0.0, 0, 1])) and torch.allclose(vn[3], torch.tensor([0.0, 1, 0]))
    assert torch.allclose(m.verts_normals_padded()[1, :3], torch.tensor([[0.0, 0, 1]] * 3))
    assert not m.verts_normals_padded()[1, 3].any()  # vertex in no face
    bb = m.get_bounding_boxes()
    assert torch.equal(bb[0], torch.tensor([[0.0, 1], [0, 1], [0, 2]])) and torch.equal(bb[1], 2 * bb[0])


def test_laplacian_packed_is_the_uniform_laplacian():
    verts, faces = random_meshes(2, seed=5)
    m = Meshes(verts, faces)
    V = m.verts_packed().shape[0]
    A = torch.zeros(V, V)
    for u, v in m.edges_packed().tolist():
        A[u, v] = A[v, u] = 1 if u != v else 2  # a (u, u) side counts twice, as in PyTorch3D's laplacian
    deg = torch.zeros(V)
    for u, v in m.edges_packed().tolist():
        deg[u] += 1
        deg[v] += 1
    L = torch.zeros(V, V)
    for u, v in m.edges_packed().tolist():
        L[u, v] += 1 / deg[u]
        L[v, u] += 1 / deg[v]
    L -= torch.eye(V)
    assert torch.allclose(m.laplacian_packed().to_dense(), L)


def test_offset_and_scale_keep_cached_views_right():
    verts, faces = random_meshes(seed=7)
    m = Meshes(verts, faces)
    before_normals = m.faces_normals_packed().clone()
    padded = m.verts_padded()
    off = torch.rand(m.verts_packed().shape)
    out = m.offset_verts(off)
    assert type(out) is Meshes and torch.equal(m.verts_padded(), padded)  # out of place
    m.offset_verts_(off)
    assert torch.allclose(m.verts_packed(), torch.cat(verts) + off)
    assert torch.allclose(m.verts_padded()[1, : len(verts[1])], verts[1] + off[len(verts[0]) : len(verts[0]) + len(verts[1])])
    assert torch.allclose(m.verts_list()[2], verts[2] + off[-len(verts[2]):])
    fresh = Meshes([v for v in m.verts_list()], faces)
    assert torch.allclose(m.faces_normals_packed(), fresh.faces_normals_packed())
    assert not torch.allclose(m.faces_normals_packed(), before_normals)
    m.offset_verts_(torch.tensor([1.0, 2, 3]))
    assert torch.allclose(m.verts_packed(), torch.cat(verts) + off + torch.tensor([1.0, 2, 3]))
    with pytest.raises(ValueError):
        m.offset_verts_(torch.rand(2, 3))
    s = Meshes(verts, faces).scale_verts(torch.tensor([1.0, 2.0, 3.0]))
    assert all(torch.allclose(s.verts_list()[i], verts[i] * (i + 1)) for i in range(3))
    s.scale_verts_(0.5)
    assert torch.allclose(s.verts_padded()[2, : len(verts[2])], verts[2] * 1.5)
    assert torch.allclose(s.faces_areas_packed(), Meshes([v.clone() for v in s.verts_list()], faces).faces_areas_packed())


def test_assigned_vertex_normals_are_dropped_when_vertices_move():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    given = torch.tensor([[1.0, 0, 0]] * 3)
    m = Meshes([verts], [torch.tensor([[0, 1, 2]])], verts_normals=[given])
    assert m.has_verts_normals() and torch.equal(m.verts_normals_packed(), given)
    m.offset_verts_(torch.tensor([0.0, 0, 1]))  # a translation keeps them
    assert torch.equal(m.verts_normals_packed(), given)
    m.offset_verts_(torch.zeros(3, 3))  # per-vertex offsets: recomputed from the surface
    assert torch.allclose(m.verts_normals_packed(), torch.tensor([[0.0, 0, 1]] * 3))


def test_update_padded_shares_topology_and_backpropagates():
    verts, faces = random_meshes(seed=9)
    m = Meshes(verts, faces)
    m.edges_packed()
    new = torch.rand(m.verts_padded().shape, requires_grad=True)
    u = m.update_padded(new)
    assert type(u) is Meshes and u.verts_padded() is new
    assert torch.equal(u.verts_packed(), new.reshape(-1, 3)[m.verts_padded_to_packed_idx()])
    assert u.edges_packed() is m.edges_packed() and torch.equal(u.faces_packed(), m.faces_packed())
    u.verts_packed().sum().backward()
    expected = torch.zeros_like(new)
    for i, v in enumerate(verts):
        expected[i, : len(v)] = 1
    assert torch.equal(new.grad, expected)
    with pytest.raises(ValueError, match="number of points"):
        m.update_padded(torch.rand(3, 2, 3))


def test_indexing_split_extend_clone_to_keep_the_class():
    verts, faces = random_meshes(4, seed=11)
    m = Meshes(verts, faces)
    for sub, picks in [(m[1], [1]), (m[[0, 2]], [0, 2]), (m[1:3], [1, 2]),
                       (m[torch.tensor([True, False, False, True])], [0, 3]), (m[torch.tensor([3, 1])], [3, 1])]:
        assert type(sub) is Meshes and len(sub) == len(picks)
        assert all(sub.verts_list()[k] is verts[i] for k, i in enumerate(picks))
        assert all(torch.equal(sub.faces_list()[k], faces[i]) for k, i in enumerate(picks))
    with pytest.raises(IndexError):
        m[torch.tensor([1.0])]
    with pytest.raises(IndexError):
        m[1.5]
    parts = m.split([1, 3])
    assert [len(p) for p in parts] == [1, 3] and all(type(p) is Meshes for p in parts)
    assert parts[1].verts_list() == verts[1:]
    with pytest.raises(ValueError):
        m.split([1, 0.5])
    chunks = m.split(2)  # an int keeps GraphBatch's meaning: 2 chunks balanced by vertex count
    assert len(chunks) == 2 and sum(len(p) for p in chunks) == 4 and all(type(p) is Meshes for p in chunks)
    e = m.extend(2)
    assert type(e) is Meshes and len(e) == 8 and torch.equal(e.verts_list()[1], verts[0])
    assert e.verts_list()[0].data_ptr() != e.verts_list()[1].data_ptr()
    c = m.clone()
    assert type(c) is Meshes and c.verts_packed().data_ptr() != m.verts_packed().data_ptr()
    assert torch.equal(c.verts_packed(), m.verts_packed())
    assert m.to("cpu") is m and type(m.to("cpu", copy=True)) is Meshes
    assert m.to("cpu", copy=True).verts_packed().data_ptr() != m.verts_packed().data_ptr()
    g = Meshes([v.requires_grad_() for v in verts], faces).detach()
    assert type(g) is Meshes and not g.verts_packed().requires_grad
    flat, spec = pytree.tree_flatten(m)
    back = pytree.tree_unflatten(flat, spec)
    assert type(back) is Meshes and torch.equal(back.faces_padded(), m.faces_padded())


def test_submeshes_keep_used_vertices_in_order():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    m = Meshes([verts], [faces])
    sub = m.submeshes([[torch.tensor([1]), torch.tensor([0, 1])]])
    assert len(sub) == 2
    assert torch.equal(sub.verts_list()[0], verts[[0, 2, 3]]) and torch.equal(sub.faces_list()[0], torch.tensor([[0, 1, 2]]))
    assert torch.equal(sub.verts_list()[1], verts) and torch.equal(sub.faces_list()[1], faces)


def test_joins():
    verts, faces = random_meshes(3, seed=13)
    a, b = Meshes(verts[:1], faces[:1]), Meshes(verts[1:], faces[1:])
    j = join_meshes_as_batch([a, b])
    assert type(j) is Meshes and len(j) == 3 and torch.equal(j.verts_packed(), torch.cat(verts))
    s = join_meshes_as_scene(j)
    assert len(s) == 1 and torch.equal(s.verts_packed(), j.verts_packed()) and torch.equal(s.faces_packed(), j.faces_packed())
    assert join_meshes_as_scene(a) is a
    with pytest.raises(ValueError):
        join_meshes_as_batch(a)
    p = [torch.rand(4, 3), torch.rand(2, 3)]
    n = [torch.rand(4, 3), torch.rand(2, 3)]
    c = join_pointclouds_as_batch([Pointclouds(p[:1], normals=n[:1]), Pointclouds(p[1:], normals=n[1:])])
    assert len(c) == 2 and torch.equal(c.normals_packed(), torch.cat(n))
    sc = join_pointclouds_as_scene(c)
    assert len(sc) == 1 and torch.equal(sc.points_packed(), torch.cat(p))
    with pytest.raises(ValueError, match="some fields"):
        join_pointclouds_as_batch([Pointclouds(p[:1], normals=n[:1]), Pointclouds(p[1:])])


def test_pointclouds_views_normals_features_and_editing():
    g = torch.Generator().manual_seed(17)
    pts = [torch.rand(5, 3, generator=g), torch.rand(0, 3), torch.rand(3, 3, generator=g)]
    feats = [torch.rand(5, 4, generator=g), None, torch.rand(3, 4, generator=g)]
    c = Pointclouds(pts, features=feats)
    assert isinstance(c, mg.GraphBatch) and len(c) == 3 and c.normals_packed() is None and c.normals_list() is None
    assert c.num_points_per_cloud().tolist() == [5, 0, 3] and c.valid.tolist() == [True, False, True]
    assert torch.equal(c.features_packed(), torch.cat([feats[0], feats[2]]))
    assert c.features_list()[1].shape == (0, 4) and c.features_padded().shape == (3, 5, 4)
    assert c.cloud_to_packed_first_idx().tolist() == [0, 5, 5] and c.packed_to_cloud_idx().tolist() == [0] * 5 + [2] * 3
    assert torch.equal(c.points_padded().reshape(-1, 3)[c.padded_to_packed_idx()], c.points_packed())
    p, n, f = c.get_cloud(2)
    assert p is pts[2] and n is None and torch.equal(f, feats[2])
    box = torch.tensor([[0.0, 0, 0], [0.5, 0.5, 0.5]])
    assert torch.equal(c.inside_box(box), ((c.points_packed() >= 0) & (c.points_packed() <= 0.5)).all(1))
    per_cloud = torch.stack([box, box * 2, box * 0])
    inside = c.inside_box(per_cloud)
    assert torch.equal(inside[:5], ((pts[0] >= 0) & (pts[0] <= 0.5)).all(1)) and not inside[5:].any()
    moved = c.offset(torch.ones(8, 3)).scale(2.0)
    assert type(moved) is Pointclouds and torch.allclose(moved.points_packed(), (c.points_packed() + 1) * 2)
    padded = Pointclouds(torch.rand(2, 4, 3), normals=torch.rand(2, 4, 3))
    assert padded.equisized and padded.normals_padded().shape == (2, 4, 3)
    new = torch.rand(2, 4, 3)
    u = padded.update_padded(new)
    assert torch.equal(u.points_packed(), new.reshape(-1, 3)) and u.normals_packed() is padded.normals_packed()
    np.random.seed(0)
    sub = Pointclouds([torch.rand(10, 3), torch.rand(3, 3)]).subsample(4)
    assert sub.num_points_per_cloud().tolist() == [4, 3]
    assert Pointclouds([]).isempty()
    with pytest.raises(ValueError, match="Normals are expected to be 3-dimensional"):
        Pointclouds([torch.rand(2, 3)], normals=[torch.rand(2, 2)])


class _PeerMeshes:
    """A stand-in for PyTorch3D's own Meshes: only the methods duck typing reads."""

    def __init__(self, verts, faces):
        self._v, self._f = verts, faces

    def verts_packed(self):
        return torch.cat(self._v)

    def verts_list(self):
        return self._v

    def faces_list(self):
        return self._f


class _PeerClouds:
    def __init__(self, pts):
        self._p = pts

    def points_packed(self):
        return torch.cat(self._p)

    def points_list(self):
        return self._p

    def normals_list(self):
        return None

    def features_list(self):
        return None


def test_as_graph_batch_takes_peer_structures_and_empty_meshes():
    verts, faces = random_meshes(2, seed=19)
    m = as_graph_batch(_PeerMeshes(verts, faces))
    assert type(m) is Meshes and torch.equal(m.faces_packed(), Meshes(verts, faces).faces_packed())
    c = as_graph_batch(_PeerClouds([torch.rand(3, 3)]))
    assert type(c) is Pointclouds and c.num_verts == 3
    ours = Meshes(verts, faces)
    assert as_graph_batch(ours) is ours
    empty = as_graph_batch(_PeerMeshes([torch.tensor([])], [torch.tensor([])]))
    assert len(empty) == 1 and empty.num_verts == 0
    b = mg.convert.from_pytorch3d(_PeerMeshes([torch.tensor([]), verts[0]], [torch.tensor([]), faces[0]]))
    assert len(b) == 2 and b.num_verts_per_graph.tolist() == [0, len(verts[0])]
    with pytest.raises(TypeError):
        as_graph_batch(object())


def test_as_graph_batch_keeps_a_peer_structures_conversion_while_its_tensors_are_unchanged():
    verts, faces = random_meshes(2, seed=23)
    peer = _PeerMeshes([v.clone() for v in verts], faces)
    first = as_graph_batch(peer)
    adj = first.adjacency()
    assert as_graph_batch(peer) is first and as_graph_batch(peer).adjacency() is adj  # built once, reused
    peer._v[0].add_(1.0)  # an in-place edit bumps the version: converted again, with the new values
    second = as_graph_batch(peer)
    assert second is not first and torch.equal(second.verts_packed(), torch.cat(peer._v))
    peer._v = [v * 2 for v in peer._v]  # new tensors (PyTorch3D's offset_verts_ replaces its lists)
    third = as_graph_batch(peer)
    assert third is not second and torch.equal(third.verts_packed(), torch.cat(peer._v))
    clouds = _PeerClouds([torch.rand(5, 3)])
    assert as_graph_batch(clouds) is as_graph_batch(clouds)
    # never kept: tensors that require grad (one autograd graph must not serve two calls), inference tensors
    leaf = _PeerMeshes([v.clone().requires_grad_(True) for v in verts], faces)
    a, b = as_graph_batch(leaf), as_graph_batch(leaf)
    assert a is not b
    a.verts_packed().sum().backward()
    b.verts_packed().sum().backward()  # each call has its own graph
    assert torch.equal(leaf._v[0].grad, torch.full_like(verts[0], 2.0))
    with torch.inference_mode():
        inf = _PeerMeshes([v.clone() for v in verts], [f.clone() for f in faces])
    assert as_graph_batch(inf) is not as_graph_batch(inf)


def test_struct_utils_conversions():
    x = [torch.rand(2, 3), torch.tensor([]), torch.rand(4, 1)]
    p = list_to_padded(x, pad_value=-1.0)
    assert p.shape == (3, 4, 3) and torch.equal(p[0, :2], x[0]) and (p[0, 2:] == -1).all() and (p[1] == -1).all()
    assert torch.equal(p[2, :, :1], x[2]) and (p[2, :, 1:] == -1).all()
    back = padded_to_list(p, [[2, 3], [0, 3], [4, 1]])
    assert torch.equal(back[0], x[0]) and back[1].shape == (0, 3) and torch.equal(back[2], x[2])
    y = [torch.rand(2, 3), torch.rand(3, 3)]
    packed, sizes, first, owner = list_to_packed(y)
    assert torch.equal(packed, torch.cat(y)) and sizes.tolist() == [2, 3] and first.tolist() == [0, 2]
    assert owner.tolist() == [0, 0, 1, 1, 1]
    assert [t.shape[0] for t in packed_to_list(packed, [2, 3])] == [2, 3]
    pad = list_to_padded(y)
    assert torch.equal(padded_to_packed(pad, split_size=[2, 3]), packed)
    assert padded_to_packed(pad).shape == (6, 3)


def test_estimate_normals_on_a_sphere_and_assignment():
    from meshgraph.structures import estimate_pointcloud_local_coord_frames

    g = torch.Generator().manual_seed(23)
    dirs = [torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=1) for n in (300, 200)]
    clouds = Pointclouds(dirs)
    normals = clouds.estimate_normals(neighborhood_size=12, assign_to_self=True)
    assert normals.shape == (2, 300, 3) and not normals[1, 200:].any()
    for i, d in enumerate(dirs):
        n = normals[i, : len(d)]
        # the normal of a sphere is radial (up to orientation): |cos| close to 1
        assert (n * d).sum(1).abs().min() > 0.95
        assert torch.allclose(n.norm(dim=1), torch.ones(len(d), dtype=torch.float64))
    assert torch.equal(clouds.normals_padded(), normals) and torch.equal(clouds.normals_list()[1], normals[1, :200])
    curv, frames = estimate_pointcloud_local_coord_frames(clouds, 12)
    assert (curv[:, :, 0] <= curv[:, :, 1]).all() and (curv[:, :, 1] <= curv[:, :, 2]).all()
    # the frame is right-handed and orthonormal where there are points
    f = frames[0]
    assert torch.allclose(f.transpose(1, 2) @ f, torch.eye(3, dtype=torch.float64).expand(300, 3, 3), atol=1e-8)
    # disambiguated normals point to where most neighbours are: on a convex surface, inward
    assert ((normals[0] * dirs[0]).sum(1) < 0).all()
    with pytest.raises(ValueError, match="neighborhood_size"):
        clouds.estimate_normals(neighborhood_size=200)
