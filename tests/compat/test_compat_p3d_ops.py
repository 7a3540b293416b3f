"""meshgraph.compat.pytorch3d.ops / .loss: PyTorch3D 0.7.9's call shapes, semantics checked against brute force and
hand-computed values, and PyTorch3D's own structures (duck-typed) accepted."""

import itertools

import pytest
import torch

from meshgraph.compat.pytorch3d.loss import (
    chamfer_distance,
    mesh_edge_loss,
    mesh_laplacian_smoothing,
    mesh_normal_consistency,
    point_mesh_edge_distance,
    point_mesh_face_distance,
)
from meshgraph.compat.pytorch3d.ops import (
    GraphConv,
    SubdivideMeshes,
    ball_query,
    cot_laplacian,
    cubify,
    knn_points,
    laplacian,
    norm_laplacian,
    padded_to_packed,
    sample_farthest_points,
    sample_points_from_meshes,
    vert_align,
)
from meshgraph.compat.pytorch3d.ops.graph_conv import gather_scatter, gather_scatter_python
from meshgraph.compat.pytorch3d.ops.knn import _KNN
from meshgraph.compat.pytorch3d.ops.sample_farthest_points import sample_farthest_points_naive
from meshgraph.compat.pytorch3d.ops.utils import masked_gather
from meshgraph.structures import Meshes, Pointclouds

VERTS = torch.tensor([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]])
EDGES = torch.tensor([[0, 1], [0, 2]])


class ForeignMeshes:
    """Stands for PyTorch3D's own Meshes: only its public methods, no meshgraph base class."""

    def __init__(self, verts, faces):
        self._v, self._f = verts, faces

    def verts_list(self):
        return self._v

    def faces_list(self):
        return self._f

    def verts_packed(self):
        return torch.cat(self._v)

    def __len__(self):
        return len(self._v)


class ForeignPointclouds:
    def __init__(self, points):
        self._p = points

    def points_list(self):
        return self._p

    def points_packed(self):
        return torch.cat(self._p)

    def normals_list(self):
        return None

    def features_list(self):
        return None

    def __len__(self):
        return len(self._p)


def random_meshes(seed=0, sizes=((8, 10), (6, 7))):
    g = torch.Generator().manual_seed(seed)
    verts = [torch.rand(v, 3, generator=g) for v, _ in sizes]
    faces = [torch.stack([torch.randperm(v, generator=g)[:3] for _ in range(f)]) for v, f in sizes]
    return verts, faces


def test_graph_conv_is_pytorch3ds_undirected_sum_with_its_repr_and_empty_graph():
    conv = GraphConv(3, 1)
    assert conv.directed is False
    with torch.no_grad():
        conv.w0.weight.copy_(torch.tensor([[1.0, 1, 1]]))
        conv.w1.weight.copy_(torch.tensor([[-1.0, -1, -1]]))
        conv.w0.bias.zero_()
        conv.w1.bias.zero_()
    expected = torch.tensor([[6.0 - 15 - 24], [15.0 - 6], [24.0 - 6]])
    torch.testing.assert_close(conv(VERTS, EDGES), expected)
    conv.directed = True
    torch.testing.assert_close(conv(VERTS, EDGES), torch.tensor([[6.0 - 15 - 24], [15.0], [24.0]]))
    assert repr(GraphConv(32, 64, directed=True)) == "GraphConv(32 -> 64, directed=True)"
    empty = torch.tensor([], requires_grad=True)
    y = GraphConv(3, 2)(empty, torch.tensor([]))
    assert y.shape == (0, 2) and y.requires_grad
    with pytest.raises(ValueError, match="Invalid GraphConv initialization"):
        GraphConv(3, 2, init="uniform")


def test_gather_scatter_positional_directed_and_python_version_match_a_dense_adjacency():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 4, generator=g)
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [1, 1]])
    A = torch.zeros(6, 6)
    for i, j in edges.tolist():
        A[i, j] += 1  # vertex i receives x[j]
    for directed, adj in ((True, A), (False, A + A.t())):
        torch.testing.assert_close(gather_scatter(x, edges, directed), adj @ x)
        torch.testing.assert_close(gather_scatter_python(x, edges, directed), adj @ x)


def test_subdivide_meshes_module_precomputed_and_per_batch_agree_and_carry_features():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    faces = torch.tensor([[0, 1, 2], [2, 1, 3]])
    meshes = Meshes([verts, verts + 1], [faces, faces])
    feats = torch.arange(8.0)[:, None].repeat(1, 2)
    plain, f_plain = SubdivideMeshes()(meshes, feats)
    module = SubdivideMeshes(meshes)
    assert "_subdivided_faces" in module.state_dict()
    pre, f_pre = module(meshes, feats)
    assert f_plain.shape == (18, 2) and f_pre.shape == (2, 9, 2)
    torch.testing.assert_close(f_pre.reshape(-1, 2), f_plain)
    for a, b in zip(plain.verts_list() + plain.faces_list(), pre.verts_list() + pre.faces_list()):
        torch.testing.assert_close(a, b)
    # midpoints of edges (0,1) (0,2) (1,2) (1,3) (2,3): the features average like positions
    torch.testing.assert_close(f_plain[4:9, 0], torch.tensor([0.5, 1.0, 1.5, 2.0, 2.5]))
    # subdivide_faces numbers new vertices after all packed vertices, by packed edge (PyTorch3D's layout)
    sub = module.subdivide_faces(Meshes([verts], [faces]))
    assert sub.tolist() == [[0, 4, 5], [2, 6, 8], [1, 6, 4], [1, 7, 6], [2, 5, 6], [3, 8, 7], [6, 5, 4],
                            [7, 8, 6]]
    assert isinstance(plain, Meshes)


def test_cubify_returns_meshes_and_texture_feats_as_an_atlas():
    vox = torch.zeros(2, 2, 2, 2)
    vox[0, 0, 0, 0] = 1
    out = cubify(vox, 0.5)
    assert isinstance(out, Meshes)
    assert out.num_verts_per_mesh().tolist() == [8, 0] and out.num_faces_per_mesh().tolist() == [12, 0]
    assert cubify(torch.zeros(0, 2, 2, 2), 0.5).isempty()
    # align="center": one 1 x 1 texel per face, the features of the face's voxel
    vox2 = vox.clone()
    vox2[1, 1, 0, 1] = 1  # mesh 1: one voxel at d=1, h=0, w=1
    feats = torch.rand(2, 3, 2, 2, 2)
    tex = cubify(vox2, 0.5, feats=feats, align="center").textures
    atlas = tex.atlas_list()
    assert [a.shape for a in atlas] == [(12, 1, 1, 3)] * 2
    torch.testing.assert_close(atlas[0][:, 0, 0], feats[0, :, 0, 0, 0].expand(12, 3))
    torch.testing.assert_close(atlas[1][:, 0, 0], feats[1, :, 1, 0, 1].expand(12, 3))
    assert cubify(vox2, 0.5, feats=feats).textures is None  # other alignments ignore feats (PyTorch3D's rule)
    with pytest.raises(ValueError, match="Align mode must be one of"):
        cubify(vox, 0.5, align="topright")


def test_pytorch3d_structures_are_accepted_by_every_mesh_function():
    verts, faces = random_meshes()
    ours, foreign = Meshes(verts, faces), ForeignMeshes(verts, faces)
    for fn in (mesh_edge_loss, mesh_normal_consistency, mesh_laplacian_smoothing):
        torch.testing.assert_close(fn(foreign), fn(ours))
    torch.manual_seed(0)
    a = sample_points_from_meshes(foreign, 50, return_normals=True)
    torch.manual_seed(0)
    b = sample_points_from_meshes(ours, 50, return_normals=True)
    torch.testing.assert_close(a, b)
    clouds = ForeignPointclouds([a[0][0], a[0][1]])
    torch.testing.assert_close(point_mesh_face_distance(foreign, clouds), point_mesh_face_distance(ours, clouds))
    sub = SubdivideMeshes()(foreign)
    assert sub.num_verts_per_mesh().tolist() == SubdivideMeshes()(ours).num_verts_per_mesh().tolist()
    feats = torch.rand(2, 4, 5, 5)
    torch.testing.assert_close(vert_align(feats, foreign, return_packed=True), vert_align(feats, ours, return_packed=True))


def test_chamfer_on_empty_pointclouds_is_zero():
    loss, normals = chamfer_distance(Pointclouds([]), Pointclouds([]))
    assert float(loss) == 0.0 and normals is None


def test_sample_points_rejects_nan_like_pytorch3d():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, float("nan"), 0]])
    with pytest.raises(ValueError, match="Meshes contain nan or inf"):
        sample_points_from_meshes(Meshes([verts], [torch.tensor([[0, 1, 2]])]), 5)


def test_mesh_edge_loss_counts_zero_length_edges():
    m = Meshes([torch.tensor([[0.0, 0, 0], [2, 0, 0]])], [torch.tensor([[0, 1, 1]])])
    torch.testing.assert_close(mesh_edge_loss(m), torch.tensor(2.0))  # (4 + 0) / 2 edges


def test_laplacians_match_dense_definitions():
    verts, faces = random_meshes(3, sizes=((9, 12),))
    v, f = verts[0], faces[0]
    e = Meshes([v], [f]).edges_packed()
    V = v.shape[0]
    A = torch.zeros(V, V)
    for i, j in e.tolist():
        A[i, j] = A[j, i] = 1
    deg = A.sum(1, keepdim=True)
    torch.testing.assert_close(laplacian(v, e).to_dense(), torch.where(deg > 0, A / deg, A) - torch.eye(V))
    W = torch.zeros(V, V)
    for i, j in e.tolist():
        W[i, j] = W[j, i] = 1 / ((v[i] - v[j]).norm() + 1e-12)
    torch.testing.assert_close(norm_laplacian(v, e).to_dense(), W)
    C, area = torch.zeros(V, V), torch.zeros(V)
    for a, b, c in f.tolist():
        for k, (i, j) in zip((a, b, c), ((b, c), (c, a), (a, b))):  # angle at corner k faces edge (i, j)
            u, w = v[i] - v[k], v[j] - v[k]
            cot = (u * w).sum() / torch.linalg.cross(u, w).norm()
            C[i, j] += cot
            C[j, i] += cot
        tri = torch.linalg.cross(v[b] - v[a], v[c] - v[a]).norm() / 2
        area[[a, b, c]] += tri
    L, inv = cot_laplacian(v, f)
    torch.testing.assert_close(L.to_dense(), C, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(inv[:, 0], torch.where(area > 0, 1 / area, area), rtol=1e-4, atol=1e-4)


def test_point_mesh_edge_distance_matches_brute_force():
    g = torch.Generator().manual_seed(4)
    verts, faces = random_meshes(4, sizes=((7, 6),))
    meshes = Meshes(verts, faces)
    pts = torch.rand(1, 20, 3, generator=g)
    e = meshes.edges_packed()
    a, b = verts[0][e[:, 0]], verts[0][e[:, 1]]
    t = (((pts[0][:, None] - a) * (b - a)).sum(-1) / (b - a).square().sum(-1).clamp(min=1e-12)).clamp(0, 1)
    d = (pts[0][:, None] - (a + t[..., None] * (b - a))).square().sum(-1)  # (P, E)
    expected = d.min(1).values.mean() + d.min(0).values.mean()
    torch.testing.assert_close(point_mesh_edge_distance(meshes, Pointclouds([pts[0]])), expected)


def test_point_mesh_face_distance_default_min_triangle_area_is_pytorch3ds():
    tri = torch.tensor([[0.0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]])  # area 0.005 >= 5e-3: a triangle
    tiny = tri * 0.5  # area 0.00125 < 5e-3: counted by its sides
    p = Pointclouds([torch.tensor([[0.02, 0.02, 0.3]])])
    torch.testing.assert_close(point_mesh_face_distance(Meshes([tri], [torch.tensor([[0, 1, 2]])]), p),
                               torch.tensor(2 * 0.09))
    torch.testing.assert_close(point_mesh_face_distance(Meshes([tiny], [torch.tensor([[0, 1, 2]])]), p),
                               torch.tensor(2 * (0.09 + 0.01**2 / 2)))  # nearest side: the hypotenuse


def test_point_ops_keep_pytorch3ds_call_shapes():
    g = torch.Generator().manual_seed(5)
    x, y = torch.rand(2, 10, 3, generator=g), torch.rand(2, 12, 3, generator=g)
    out = knn_points(x, y, K=2)
    assert isinstance(out, _KNN) and out._fields == ("dists", "idx", "knn")
    with pytest.raises(ValueError, match="Support for 1 or 2 norm."):
        knn_points(x, y, norm=3)
    bq = ball_query(x, y, K=3, radius=0.4, return_nn=False, skip_points_outside_cube=True)
    torch.testing.assert_close(bq.idx, ball_query(x, y, K=3, radius=0.4).idx)
    pts, idx = sample_farthest_points(x, K=[4, 3])
    pts_n, idx_n = sample_farthest_points_naive(x, K=[4, 3])
    assert idx.tolist() == idx_n.tolist() and idx[1, 3] == -1
    torch.testing.assert_close(pts, pts_n)
    torch.testing.assert_close(masked_gather(x, idx), pts)
    with pytest.raises(ValueError, match="K and points must have"):
        sample_farthest_points_naive(x, K=torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="points and lengths must have"):
        sample_farthest_points(x, lengths=torch.tensor([1, 2, 3]))


def test_padded_to_packed_max_size_dim():
    padded = torch.arange(2 * 3 * 4.0).view(2, 3, 4)  # (N, D, M): sizes along dim 2
    first = torch.tensor([0, 4])
    packed = padded_to_packed(padded, first, 7, max_size_dim=2)
    expected = torch.cat([padded[0].t(), padded[1].t()[:3]])
    torch.testing.assert_close(packed, expected)


@pytest.mark.parametrize("reduction", itertools.product(["mean", "sum", None], ["mean", "sum", "max"]))
def test_chamfer_reductions_match_brute_force(reduction):
    batch_reduction, point_reduction = reduction
    g = torch.Generator().manual_seed(6)
    x, y = torch.rand(3, 9, 3, generator=g), torch.rand(3, 7, 3, generator=g)
    xl, yl = torch.tensor([9, 4, 1]), torch.tensor([7, 7, 2])
    per = []
    for i in range(3):
        d = ((x[i, : xl[i], None] - y[i, None, : yl[i]]) ** 2).sum(-1)
        a, b = d.min(1).values, d.min(0).values
        if point_reduction == "mean":
            per.append(a.mean() + b.mean())
        elif point_reduction == "sum":
            per.append(a.sum() + b.sum())
        else:
            per.append(torch.maximum(a.max(), b.max()))
    per = torch.stack(per)
    expected = {"mean": per.mean(), "sum": per.sum(), None: per}[batch_reduction]
    loss, _ = chamfer_distance(x, y, x_lengths=xl, y_lengths=yl, batch_reduction=batch_reduction,
                               point_reduction=point_reduction)
    torch.testing.assert_close(loss, expected)


def test_graph_conv_loads_a_pytorch3d_state_dict():
    state = {"w0.weight": torch.randn(4, 3), "w0.bias": torch.randn(4), "w1.weight": torch.randn(4, 3),
             "w1.bias": torch.randn(4)}
    conv = GraphConv(3, 4)
    conv.load_state_dict(state)
    x = torch.randn(3, 3)
    expected = x @ state["w0.weight"].t() + state["w0.bias"]
    expected = expected + torch.stack([(x[1] + x[2]), x[0], x[0]]) @ state["w1.weight"].t() + torch.tensor(
        [2.0, 1.0, 1.0])[:, None] * state["w1.bias"]
    torch.testing.assert_close(conv(x, EDGES), expected)


class VertexColors:
    """A texture object with PyTorch3D's protocol: sample_textures(fragments, faces_packed=...) -> (N, H, W, K, C)."""

    def __init__(self, colors):
        self.colors = colors  # (sum V, C)

    def sample_textures(self, fragments, faces_packed=None):
        face_colors = self.colors[faces_packed]  # (F, 3, C)
        picked = face_colors[fragments.pix_to_face.clamp(min=0)]  # (N, S, 1, 1, 3, C)
        return (fragments.bary_coords[..., None] * picked).sum(-2)


def test_sample_points_return_textures_interpolates_the_texture_at_the_samples():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    meshes = Meshes([verts], [torch.tensor([[0, 1, 2]])], textures=VertexColors(verts[:, :2] * 10))
    pts, normals, tex = sample_points_from_meshes(meshes, 20, return_normals=True, return_textures=True)
    assert tex.shape == (1, 20, 2)
    torch.testing.assert_close(tex, pts[..., :2] * 10)  # colours linear in position: exact at every sample
    torch.testing.assert_close(normals, torch.tensor([0.0, 0, 1]).expand(1, 20, 3))
    with pytest.raises(ValueError, match="Meshes do not contain textures."):
        sample_points_from_meshes(Meshes([verts], [torch.tensor([[0, 1, 2]])]), 5, return_textures=True)


def test_mesh_face_areas_normals_match_the_structures_and_hand_values():
    from meshgraph.compat.pytorch3d.ops import mesh_face_areas_normals
    from meshgraph.compat.pytorch3d.structures import Meshes

    verts = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 3], [1, 1, 1]], requires_grad=True)
    faces = torch.tensor([[0, 1, 2], [0, 1, 3], [0, 4, 4]])  # the last face is degenerate
    areas, normals = mesh_face_areas_normals(verts, faces)
    torch.testing.assert_close(areas, torch.tensor([2.0, 3.0, 0.0]))
    torch.testing.assert_close(normals, torch.tensor([[0.0, 0, 1], [0, -1, 0], [0, 0, 0]]))
    m = Meshes([verts], [faces])
    torch.testing.assert_close(areas, m.faces_areas_packed())
    torch.testing.assert_close(normals, m.faces_normals_packed())
    areas.sum().backward()
    assert torch.isfinite(verts.grad).all()
    with pytest.raises(ValueError, match="faces"):
        mesh_face_areas_normals(verts, torch.tensor([[0, 1, 9]]))
