"""subdivide: counts, midpoints, orientation, feature interpolation, gradients."""

import torch

import meshgraph as mg
from meshgraph.ops import subdivide
from meshgraph.utils import ico_sphere


def test_subdivide_triangle_and_batch():
    tri = mg.Graph(torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 2, 0]]), torch.tensor([[0, 1, 2]]),
                   vertex_features={"t": torch.tensor([[0.0], [2.0], [4.0]]), "label": torch.tensor([7, 8, 9])})
    cloud = mg.Graph(torch.rand(5, 3))
    out = subdivide(mg.GraphBatch([tri, cloud]))
    assert out.num_verts_per_graph.tolist() == [6, 5] and out.num_faces_per_graph.tolist() == [4, 0]
    pos = out.pos_list()[0]
    assert {tuple(p) for p in pos[3:].tolist()} == {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 1.0, 0.0)}
    n = out[0].face_normals()
    assert (n[:, 2] > 0).all()  # every new face keeps the original orientation
    torch.testing.assert_close(out[0].face_areas().sum(), torch.tensor(2.0))
    t = out.list("t")[0][:, 0]
    torch.testing.assert_close(t, pos[:, 0] + 2 * pos[:, 1])  # t = x + 2y at the corners: linear, so exact
    assert out.list("label")[0].dtype == torch.int64


def test_icosphere_levels_match_euler_and_gradients_flow():
    for level in range(4):
        s = ico_sphere(level)
        V, F = s.num_verts, s.faces.shape[0]
        E = F * 3 // 2
        assert V - E + F == 2
    base = ico_sphere(1, dtype=torch.float64)
    pos = base.pos.clone().requires_grad_(True)
    out = subdivide(mg.GraphBatch([mg.Graph(pos, base.faces)]))
    out.pos_packed().sum().backward()
    assert torch.isfinite(pos.grad).all() and (pos.grad > 1).all()  # each vertex feeds itself and its midpoints


def test_face_and_vertex_order_are_pytorch3ds():
    """Two triangles sharing edge (1, 2): PyTorch3D's SubdivideMeshes numbers the midpoints by the sorted unique
    edges (0,1)=4 (0,2)=5 (1,2)=6 (1,3)=7 (2,3)=8 and emits every corner-0 face, then every corner-1, corner-2 and
    centre face, the centre of (a, b, c) being (bc, ca, ab)."""
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    faces = torch.tensor([[0, 1, 2], [2, 1, 3]])
    out = subdivide(mg.GraphBatch([mg.Graph(verts, faces)]))
    expected = torch.tensor([[0, 4, 5], [2, 6, 8], [1, 6, 4], [1, 7, 6], [2, 5, 6], [3, 8, 7], [6, 5, 4],
                             [7, 8, 6]])
    assert out.faces_packed().tolist() == expected.tolist()
    torch.testing.assert_close(out.pos_packed()[4:], (verts[[0, 0, 1, 1, 2]] + verts[[1, 2, 2, 3, 3]]) / 2)


def test_degenerate_face_keeps_its_zero_length_edge_midpoint():
    """A face repeating a vertex has the side (i, i); PyTorch3D's edges keep it, so it gets a midpoint too."""
    out = subdivide(mg.GraphBatch([mg.Graph(torch.rand(3, 3), torch.tensor([[0, 1, 1]]))]))
    assert out.num_verts == 3 + 2  # edges (0, 1) and (1, 1)
    torch.testing.assert_close(out.pos_packed()[4], out.pos_packed()[1])
