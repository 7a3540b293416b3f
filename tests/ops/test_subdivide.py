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
