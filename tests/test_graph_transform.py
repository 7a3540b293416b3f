"""GraphBatch.transform: per-graph 4 x 4 transforms (row-vector convention) applied to positions and normals in one
batched product, checked against an independent float64 NumPy computation graph by graph."""

import numpy as np
import pytest
import torch

import meshgraph as mg
from meshgraph import Graph, GraphBatch
from meshgraph.graph import NORMALS
from meshgraph.transforms import Rotate, Transform3d, Translate, random_rotations


def _batch(sizes=(5, 0, 7), seed=0, dtype=torch.float64, normals=True):
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for n in sizes:
        vf = {NORMALS: torch.randn(n, 3, generator=g, dtype=dtype)} if normals else None
        graphs.append(Graph(torch.randn(n, 3, generator=g, dtype=dtype), vertex_features=vf))
    return GraphBatch(graphs)


def _matrices(n, seed=1, projective=False, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(n, 4, 4, generator=g, dtype=dtype)
    if not projective:
        M[:, :, 3] = 0
        M[:, 3, 3] = 1
    else:
        M[:, 3, 3] += 4.0  # keep w away from 0
    return M


def _expect(batch, M):
    """Per graph in NumPy: [p, 1] @ M divided by w; normals @ inv(M3^T)."""
    out_p, out_n = [], []
    for i, (p, n) in enumerate(zip(batch.pos_list(), batch.normals_list())):
        m = M[i if M.shape[0] > 1 else 0].numpy()
        h = np.concatenate([p.numpy(), np.ones((len(p), 1))], 1) @ m
        out_p.append(h[:, :3] / h[:, 3:])
        out_n.append(n.numpy() @ np.linalg.inv(m[:3, :3].T))
    return np.concatenate(out_p), np.concatenate(out_n)


@pytest.mark.parametrize("projective", [False, True])
@pytest.mark.parametrize("n_mats", [1, 3])
def test_matches_numpy_per_graph(projective, n_mats):
    b = _batch()
    M = _matrices(n_mats, projective=projective)
    out = b.transform(M)
    p, n = _expect(b, M)
    np.testing.assert_allclose(out.pos_packed().numpy(), p, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out.normals_packed().numpy(), n, rtol=1e-10, atol=1e-10)
    assert torch.equal(b.pos_packed(), _batch().pos_packed())  # the input batch is unchanged


def test_takes_transform3d_and_shares_topology():
    verts = [torch.rand(4, 3), torch.rand(6, 3)]
    faces = [torch.tensor([[0, 1, 2], [0, 2, 3]]), torch.tensor([[0, 1, 2], [3, 4, 5]])]
    b = GraphBatch.from_meshes(verts, faces)
    adj, edges = b.adjacency(), b.edges_packed()
    R = random_rotations(2, dtype=torch.float32)
    t = Rotate(R).compose(Translate(torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])))
    out = b.transform(t)
    expect = torch.cat([t[i].transform_points(v) for i, v in enumerate(verts)])
    torch.testing.assert_close(out.pos_packed(), expect)
    assert out.adjacency() is adj and out.edges_packed() is edges
    # geometry derived from positions is recomputed: a rotation + translation keeps the areas, moves normals
    torch.testing.assert_close(out.faces_areas_packed(), b.faces_areas_packed())
    torch.testing.assert_close(out.faces_normals_packed(),
                               torch.cat([b.faces_normals_packed()[:2] @ R[0], b.faces_normals_packed()[2:] @ R[1]]))


def test_eps_clamps_w_like_transform3d():
    b = _batch(sizes=(3,), normals=False)
    M = torch.eye(4, dtype=torch.float64)
    M[:, 3] = torch.tensor([0.0, 0.0, 0.0, 0.0])  # w = 0 for every point
    t = Transform3d(matrix=M[None], dtype=torch.float64)
    out = b.transform(t, eps=1e-3)
    torch.testing.assert_close(out.pos_packed(), t.transform_points(b.pos_packed(), eps=1e-3))
    assert torch.isfinite(out.pos_packed()).all()


def test_gradients_reach_points_normals_and_matrices():
    pts = [torch.randn(4, 3, dtype=torch.float64, requires_grad=True), torch.randn(3, 3, dtype=torch.float64, requires_grad=True)]
    nrm = [torch.randn(4, 3, dtype=torch.float64), torch.randn(3, 3, dtype=torch.float64)]
    M = _matrices(2, projective=True).requires_grad_(True)

    def f(p0, p1, m):
        b = GraphBatch.from_pointclouds([p0, p1], **{NORMALS: nrm})
        out = b.transform(m)
        return out.pos_packed(), out.normals_packed()

    assert torch.autograd.gradcheck(f, (*pts, M))


def test_bad_input():
    b = _batch()
    with pytest.raises(ValueError, match="1 or 3"):
        b.transform(torch.eye(4, dtype=torch.float64).expand(2, 4, 4))
    with pytest.raises(ValueError, match="4, 4"):
        b.transform(torch.eye(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="Transform3d"):
        b.transform("rotate")
    with pytest.raises(ValueError, match="3-D positions"):
        GraphBatch([Graph(torch.rand(3, 2))]).transform(torch.eye(4))


def test_float32_and_compile():
    b = _batch(dtype=torch.float32)
    M = _matrices(3, dtype=torch.float32)
    eager = b.transform(M).pos_packed()
    p, _ = _expect(GraphBatch([Graph(x.double(), vertex_features={NORMALS: n.double()}) for x, n in
                               zip(b.pos_list(), b.normals_list())]), M.double())
    np.testing.assert_allclose(eager.numpy(), p, rtol=1e-4, atol=1e-5)
    compiled = torch.compile(lambda m: b.transform(m).pos_packed(), fullgraph=True)
    torch.testing.assert_close(compiled(M), eager)
