"""taubin_smoothing (against PyTorch3D's formula written densely), remove_unreferenced_verts, merge_close_verts:
tensors and batches, semantics, bad input."""

import pytest
import torch

from meshgraph.graph import GraphBatch
from meshgraph.ops.mesh_processing import merge_close_verts, remove_unreferenced_verts, taubin_smoothing
from meshgraph.structures import Meshes


def _cube():
    v = torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
                     dtype=torch.float64)
    f = torch.tensor([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5],
                      [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]])
    return v, f


def _dense_taubin(verts, faces, lambd, mu, num_iter):
    """PyTorch3D's iteration with a dense matrix: L_ij = 1 / (|vi - vj| + 1e-12) on the unique face edges."""
    e = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).sort(1).values.unique(dim=0)
    V = verts.shape[0]
    v = verts
    for _ in range(num_iter):
        for t in (lambd, mu):
            W = torch.zeros(V, V, dtype=v.dtype)
            w = 1.0 / ((v[e[:, 0]] - v[e[:, 1]]).norm(dim=1) + 1e-12)
            W[e[:, 0], e[:, 1]] = w
            W[e[:, 1], e[:, 0]] = w
            v = (1 - t) * v + t * (W @ v) / W.sum(1, keepdim=True)
    return v


def test_taubin_matches_dense_formula_on_a_batch():
    v, f = _cube()
    v2 = v * 2 + 0.1 * torch.randn_like(v)
    meshes = Meshes([v + 0.05 * torch.randn_like(v), v2], [f, f])
    out = taubin_smoothing(meshes, lambd=0.5, mu=-0.52, num_iter=3)
    assert isinstance(out, Meshes)
    for got, src in zip(out.verts_list(), meshes.verts_list()):
        torch.testing.assert_close(got, _dense_taubin(src, f, 0.5, -0.52, 3))
    for a, b in zip(out.faces_list(), meshes.faces_list()):
        assert torch.equal(a, b)


def test_taubin_zero_iterations_is_identity_and_gradient_flows():
    v, f = _cube()
    v = v.clone().requires_grad_()
    out = taubin_smoothing(Meshes([v], [f]), num_iter=0)
    assert torch.equal(out.verts_packed(), v.detach())
    smoothed = taubin_smoothing(Meshes([v], [f]), num_iter=2).verts_packed()
    smoothed.pow(2).sum().backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0


def test_taubin_isolated_vertex_stays_and_graphbatch_works():
    v, f = _cube()
    v = torch.cat([v, torch.tensor([[5.0, 5.0, 5.0]], dtype=torch.float64)])
    out = taubin_smoothing(Meshes([v], [f]), num_iter=2)
    assert torch.equal(out.verts_packed()[-1], v[-1])
    assert torch.isfinite(out.verts_packed()).all()
    gb = GraphBatch.from_meshes([v], [f])
    out_gb = taubin_smoothing(gb, num_iter=2)
    assert isinstance(out_gb, GraphBatch)
    torch.testing.assert_close(out_gb.pos_packed(), out.verts_packed())


def test_taubin_bad_input():
    with pytest.raises(TypeError, match="mesh batch"):
        taubin_smoothing(torch.zeros(3, 3))
    v, f = _cube()
    with pytest.raises(ValueError, match="num_iter"):
        taubin_smoothing(Meshes([v], [f]), num_iter=-1)


def test_remove_unreferenced_verts_tensors():
    v = torch.randn(6, 3)
    f = torch.tensor([[4, 1, 5], [5, 1, 4]], dtype=torch.int32)
    nv, nf, kept = remove_unreferenced_verts(v, f)
    assert kept.tolist() == [1, 4, 5]
    assert torch.equal(nv, v[[1, 4, 5]])
    assert nf.dtype == torch.int32 and nf.tolist() == [[1, 0, 2], [2, 0, 1]]
    assert torch.equal(nv[nf.long()], v[f.long()])  # same triangles
    nv, nf, kept = remove_unreferenced_verts(v, torch.zeros(0, 3, dtype=torch.int64))
    assert nv.shape == (0, 3) and nf.shape == (0, 3) and kept.numel() == 0


def test_remove_unreferenced_verts_batch():
    v, f = _cube()
    extra = torch.cat([torch.full((2, 3), 9.0, dtype=torch.float64), v])
    meshes = Meshes([extra, v], [f + 2, f[:2]])
    out = remove_unreferenced_verts(meshes)
    assert isinstance(out, Meshes)
    assert out.num_verts_per_mesh().tolist() == [8, 4]
    assert torch.equal(out.verts_list()[0], v)
    assert torch.equal(out.verts_list()[0][out.faces_list()[0]], v[f])
    assert torch.equal(out.verts_list()[1][out.faces_list()[1]], v[f[:2]])


def test_remove_unreferenced_verts_bad_input():
    v = torch.randn(4, 3)
    with pytest.raises(ValueError, match="faces"):
        remove_unreferenced_verts(v, torch.tensor([[0, 1, 4]]))
    with pytest.raises(ValueError, match="faces is required"):
        remove_unreferenced_verts(v)
    with pytest.raises(TypeError):
        remove_unreferenced_verts(v, torch.tensor([[0.0, 1.0, 2.0]]))


def test_merge_close_verts_welds_a_split_cube():
    # every triangle with its own three vertices (a "triangle soup"), with jitter below tol
    v, f = _cube()
    soup = v[f].reshape(-1, 3) + 1e-7 * torch.rand(36, 3, dtype=torch.float64)
    soup_faces = torch.arange(36).reshape(12, 3)
    nv, nf, index = merge_close_verts(soup, soup_faces, tol=1e-5)
    assert nv.shape == (8, 3) and nf.shape == (12, 3) and index.shape == (36,)
    # each merged vertex sits at its lowest-index member, and the triangles are the cube's
    for new in range(8):
        members = (index == new).nonzero()[:, 0]
        assert torch.equal(nv[new], soup[members.min()])
    torch.testing.assert_close(nv[nf], soup[soup_faces], atol=1e-6, rtol=0)


def test_merge_close_verts_chain_drop_degenerate_and_tol_zero():
    v = torch.tensor([[0.0, 0, 0], [0.6, 0, 0], [1.2, 0, 0], [5.0, 0, 0], [5.0, 1, 0], [0.0, 0, 0]])
    f = torch.tensor([[0, 1, 3], [3, 4, 2], [0, 5, 4]])
    nv, nf, index = merge_close_verts(v, f, tol=0.6)  # 0-1-2 chained (inclusive), 5 duplicates 0
    assert index.tolist() == [0, 0, 0, 1, 2, 0]
    assert torch.equal(nv, v[[0, 3, 4]])
    assert nf.tolist() == [[1, 2, 0]]  # [0,1,3] and [0,5,4] collapse
    nv0, nf0, index0 = merge_close_verts(v, f, tol=0)
    assert index0.tolist() == [0, 1, 2, 3, 4, 0]
    assert nf0.tolist() == [[0, 1, 3], [3, 4, 2]]


def test_merge_close_verts_batch_keeps_meshes_apart():
    v, f = _cube()
    meshes = Meshes([v, v], [f, f])  # identical meshes: vertices of different meshes never merge
    out = merge_close_verts(meshes, tol=1e-3)
    assert out.num_verts_per_mesh().tolist() == [8, 8]
    doubled = Meshes([torch.cat([v, v])], [torch.cat([f, f + 8])])
    out = merge_close_verts(doubled, tol=1e-3)
    assert out.num_verts_per_mesh().tolist() == [8] and out.num_faces_per_mesh().tolist() == [24]


def test_merge_close_verts_bad_input():
    v, f = _cube()
    with pytest.raises(ValueError, match="tol"):
        merge_close_verts(v, f, tol=-1)
    with pytest.raises(ValueError, match="faces must be None"):
        merge_close_verts(Meshes([v], [f]), f)
    nv, nf, index = merge_close_verts(v[:0], f[:0], tol=0.1)
    assert nv.shape == (0, 3) and nf.shape == (0, 3) and index.numel() == 0
