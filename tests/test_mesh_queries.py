"""Mesh-level queries: winding_number / points_inside_mesh / signed_distance / mesh_to_voxels against trimesh
(watertight cow, open bunny), analytic shapes, points on the surface, gradients, batching and bad input; and
point_mesh_face_distance(..., reduction=None)."""

import math

import pytest
import torch

import meshgraph as mg
from meshgraph.losses import point_mesh_face_distance
from meshgraph.losses.point_mesh import point_triangle_distance_sq
from meshgraph.ops.mesh_queries import mesh_to_voxels, points_inside_mesh, signed_distance, winding_number
from meshgraph.utils import ico_sphere, torus

import trimesh  # noqa: E402  (a dependency; the oracle)


def _load(shared_data, name):
    from meshgraph.io import load_mesh

    m = load_mesh(shared_data / name, dtype=torch.float64)
    v = m.pos - m.pos.mean(0)
    return v / v.norm(dim=1).max(), m.faces.long()


def _near_surface(v, f, n, g, noise=0.05):
    t = v[f[torch.randint(0, f.shape[0], (n,), generator=g)]]
    w = torch.rand(n, 3, generator=g, dtype=v.dtype)
    w = w / w.sum(1, keepdim=True)
    return (w[:, :, None] * t).sum(1) + noise * torch.randn(n, 3, generator=g, dtype=v.dtype)


def test_cow_inside_outside_and_signed_distance_match_trimesh(shared_data):
    v, f = _load(shared_data, "cow.obj")
    tm = trimesh.Trimesh(v.numpy(), f.numpy(), process=False)
    assert tm.is_watertight  # meshgraph's loader merges the texture seams: the oracle's exact contains applies
    g = torch.Generator().manual_seed(0)
    pts = torch.cat([_near_surface(v, f, 600, g), torch.rand(200, 3, generator=g, dtype=torch.float64) * 2 - 1])
    meshes = mg.GraphBatch.from_meshes([v], [f])
    inside = points_inside_mesh(pts, meshes)
    assert torch.equal(inside, torch.as_tensor(tm.contains(pts.numpy())))
    sd = signed_distance(pts, meshes)
    expected = -torch.as_tensor(trimesh.proximity.signed_distance(tm, pts.numpy()))
    torch.testing.assert_close(sd, expected, rtol=1e-5, atol=1e-7)  # trimesh projects differently: ~1e-8 apart


def test_bunny_open_mesh_signed_distance_magnitude_and_winding_sign(shared_data):
    """The bunny has holes: trimesh's sign comes from ray parity there, ours from the winding number; the
    magnitudes agree, and so do the signs away from the holes (where |w - 1/2| is large)."""
    v, f = _load(shared_data, "stanford-bunny.obj")
    tm = trimesh.Trimesh(v.numpy(), f.numpy(), process=False)
    assert not tm.is_watertight
    g = torch.Generator().manual_seed(1)
    pts = _near_surface(v, f, 400, g)
    meshes = mg.GraphBatch.from_meshes([v], [f])
    sd = signed_distance(pts, meshes)
    expected = -torch.as_tensor(trimesh.proximity.signed_distance(tm, pts.numpy()))
    # ours is the exact minimum; trimesh's candidate search (rtree boxes) can overshoot on a few points
    assert (sd.abs() <= expected.abs() + 1e-9).all()
    assert ((sd.abs() - expected.abs()).abs() < 1e-7).float().mean() > 0.98
    w = winding_number(pts, meshes)
    clear = (w - 0.5).abs() > 0.3
    assert clear.float().mean() > 0.9
    assert ((sd[clear] < 0) == (expected[clear] < 0)).float().mean() > 0.98


def test_points_on_the_surface_have_zero_distance():
    s = torus(0.3, 1.0, 16, 24, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    pts = _near_surface(s.pos, s.faces.long(), 300, g, noise=0.0)
    sd = signed_distance(pts, mg.GraphBatch.from_meshes([s.pos], [s.faces]))
    assert sd.abs().max() < 1e-12
    w = winding_number(pts, mg.GraphBatch.from_meshes([s.pos], [s.faces]))
    # on a face: the triangle's one-sided limit, so 0 or 1 (the two sides of the closed surface), never NaN
    assert (((w - 1).abs() < 1e-9) | (w.abs() < 1e-9)).all()


def test_signed_distance_sphere_analytic_and_gradients():
    s = ico_sphere(3, dtype=torch.float64)
    v, f = s.pos, s.faces.long()
    g = torch.Generator().manual_seed(3)
    dirs = torch.randn(200, 3, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=1, keepdim=True)
    r = torch.rand(200, 1, generator=g, dtype=torch.float64) * 1.6 + 0.2
    pts = dirs * r
    sd = signed_distance(pts, mg.GraphBatch.from_meshes([v], [f]))
    torch.testing.assert_close(sd, r[:, 0] - 1, atol=0.02, rtol=0)  # level-3 icosphere: chords within 0.02
    assert (sd[r[:, 0] < 0.95] < 0).all() and (sd[r[:, 0] > 1.01] > 0).all()
    # gradients w.r.t. points and vertices: gradcheck on a small mesh (away from kinks)
    small = ico_sphere(1, dtype=torch.float64)
    q = (torch.randn(6, 3, generator=g, dtype=torch.float64) * 0.8).requires_grad_()
    sv = small.pos.clone().requires_grad_()
    torch.autograd.gradcheck(lambda q, sv: signed_distance(q, mg.GraphBatch.from_meshes([sv], [small.faces])), (q, sv))


def test_batched_and_packed_queries_and_empty_mesh():
    a, b = ico_sphere(2, dtype=torch.float64), torus(0.3, 1.0, 12, 16, dtype=torch.float64)
    meshes = mg.GraphBatch.from_meshes([a.pos, b.pos], [a.faces, b.faces])
    pts = torch.rand(2, 50, 3, dtype=torch.float64) * 3 - 1.5
    wb = winding_number(pts, meshes)
    wp = winding_number(pts.reshape(-1, 3), meshes, points_per_mesh=[50, 50])
    torch.testing.assert_close(wb.reshape(-1), wp)
    w0 = winding_number(pts[0], mg.GraphBatch.from_meshes([a.pos], [a.faces]))
    w1 = winding_number(pts[1], mg.GraphBatch.from_meshes([b.pos], [b.faces]))
    torch.testing.assert_close(wb, torch.stack([w0, w1]))
    empty = mg.GraphBatch.from_meshes([a.pos], [torch.zeros(0, 3, dtype=torch.int64)])
    assert (winding_number(pts[0], empty) == 0).all()
    assert torch.isinf(signed_distance(pts[0], empty)).all()


def test_bad_inputs():
    a = ico_sphere(1, dtype=torch.float64)
    m1 = mg.GraphBatch.from_meshes([a.pos], [a.faces])
    m2 = mg.GraphBatch.from_meshes([a.pos, a.pos], [a.faces, a.faces])
    p = torch.rand(10, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="points_per_mesh"):
        winding_number(p, m2)
    with pytest.raises(ValueError, match="points_per_mesh"):
        winding_number(p, m2, points_per_mesh=[3, 3])
    with pytest.raises(ValueError, match="batch rows"):
        signed_distance(p[None], m2)
    with pytest.raises(TypeError, match="dtype"):
        winding_number(p.float(), m1)
    with pytest.raises(ValueError, match="points"):
        winding_number(p[:, :2], m1)
    with pytest.raises(TypeError, match="meshes"):
        winding_number(p, "not a mesh")
    with pytest.raises(ValueError, match="exactly one"):
        mesh_to_voxels(m1)
    with pytest.raises(ValueError, match="exactly one"):
        mesh_to_voxels(m1, grid_size=8, voxel_size=0.1)
    with pytest.raises(ValueError, match="voxel_size"):
        mesh_to_voxels(m1, voxel_size=-1.0)
    with pytest.raises(ValueError, match="bounds"):
        mesh_to_voxels(m1, grid_size=8, bounds=((0, 0, 0), (1, -1, 1)))


def test_mesh_to_voxels_sphere_and_torus_occupancy():
    s = ico_sphere(3, dtype=torch.float64)
    t = torus(0.3, 1.0, 24, 32, dtype=torch.float64)
    meshes = mg.GraphBatch.from_meshes([s.pos, t.pos], [s.faces, t.faces])
    occ, origin, size = mesh_to_voxels(meshes, grid_size=(10, 20, 24), padding=1)
    assert occ.shape == (2, 10, 20, 24) and occ.dtype == torch.bool and origin.shape == (2, 3) and size.shape == (2, 3)
    z, y, x = torch.meshgrid(torch.arange(10), torch.arange(20), torch.arange(24), indexing="ij")
    idx = torch.stack([x, y, z], -1).to(torch.float64)
    for n, inside in enumerate([
        lambda c: c.norm(dim=-1) < 1,
        lambda c: ((c[..., :2].norm(dim=-1) - 1) ** 2 + c[..., 2] ** 2).sqrt() < 0.3,
    ]):
        centres = origin[n] + (idx + 0.5) * size[n]
        analytic = inside(centres)
        # away from the surface (facet chords) the occupancy is the analytic one
        mesh = [s, t][n]
        sd = signed_distance(centres.reshape(-1, 3), mg.GraphBatch.from_meshes([mesh.pos], [mesh.faces]))
        sd = sd.reshape(analytic.shape)
        clear = sd.abs() > 0.03
        assert torch.equal(occ[n][clear], analytic[clear]) and clear.float().mean() > 0.8
        assert occ[n].any() and not occ[n][0].any()  # padding layer is empty
    # cubic voxels (the largest side decides), grid centred on the box
    torch.testing.assert_close(size[:, 0], size[:, 1])
    lo = torch.stack([s.pos.min(0).values, t.pos.min(0).values])
    hi = torch.stack([s.pos.max(0).values, t.pos.max(0).values])
    torch.testing.assert_close(origin + size * torch.tensor([24, 20, 10.0], dtype=torch.float64) / 2, (lo + hi) / 2)


def test_mesh_to_voxels_voxel_size_and_bounds_agree_with_trimesh_contains(shared_data):
    v, f = _load(shared_data, "cow.obj")
    tm = trimesh.Trimesh(v.numpy(), f.numpy(), process=False)
    meshes = mg.GraphBatch.from_meshes([v], [f])
    occ, origin, size = mesh_to_voxels(meshes, voxel_size=0.08, padding=2)
    D, H, W = occ.shape[1:]
    lo, hi = v.min(0).values, v.max(0).values
    assert (W, H, D) == tuple(int(c) + 4 for c in torch.ceil((hi - lo) / 0.08).tolist())
    torch.testing.assert_close(origin[0], lo - 0.16)
    z, y, x = torch.meshgrid(torch.arange(D), torch.arange(H), torch.arange(W), indexing="ij")
    centres = origin[0] + (torch.stack([x, y, z], -1).to(torch.float64) + 0.5) * 0.08
    assert torch.equal(occ[0], torch.as_tensor(tm.contains(centres.reshape(-1, 3).numpy())).reshape(D, H, W))
    occ_b, origin_b, size_b = mesh_to_voxels(meshes, grid_size=6, bounds=((-1, -1, -1), (1, 1, 1)))
    assert occ_b.shape == (1, 6, 6, 6)
    torch.testing.assert_close(size_b[0], torch.full((3,), 2 / 6, dtype=torch.float64))
    torch.testing.assert_close(origin_b[0], torch.full((3,), -1.0, dtype=torch.float64))


def test_point_mesh_face_distance_reduction_none():
    a, b = ico_sphere(1, dtype=torch.float64), torus(0.3, 1.0, 8, 10, dtype=torch.float64)
    va, vb = a.pos.clone().requires_grad_(), b.pos.clone().requires_grad_()
    meshes = mg.GraphBatch.from_meshes([va, vb], [a.faces, b.faces])
    pts = (torch.rand(2, 30, 3, dtype=torch.float64) * 3 - 1.5).requires_grad_()
    lengths = torch.tensor([30, 20])
    out = point_mesh_face_distance(meshes, pts, lengths, reduction=None)
    assert out.dists.shape == (2, 30) and out.face.shape == (2, 30)
    assert (out.face[1, 20:] == -1).all() and (out.dists[1, 20:] == 0).all()
    for n, (v, fc, k) in enumerate([(va, a.faces.long(), 30), (vb, b.faces.long(), 20)]):
        t = v[fc]
        d = point_triangle_distance_sq(pts[n, :k, None], t[None, :, 0], t[None, :, 1], t[None, :, 2])
        torch.testing.assert_close(out.dists[n, :k], d.min(1).values)
        off = 0 if n == 0 else a.faces.shape[0]
        torch.testing.assert_close(d.gather(1, (out.face[n, :k] - off)[:, None])[:, 0], d.min(1).values)
    g = torch.autograd.grad(out.dists.sum(), (pts, va, vb))
    ge = torch.autograd.grad(sum(point_triangle_distance_sq(pts[n, :k, None], v[fc][None, :, 0], v[fc][None, :, 1],
                                                            v[fc][None, :, 2]).min(1).values.sum()
                                 for n, (v, fc, k) in enumerate([(va, a.faces.long(), 30), (vb, b.faces.long(), 20)])),
                             (pts, va, vb))
    for x, y in zip(g, ge):
        torch.testing.assert_close(x, y)
    # packed clouds: (P,) and the default still the PyTorch3D loss
    clouds = mg.GraphBatch.from_pointclouds([pts[0].detach(), pts[1, :20].detach()])
    packed = point_mesh_face_distance(meshes, clouds, reduction=None)
    torch.testing.assert_close(packed.dists, torch.cat([out.dists[0], out.dists[1, :20]]))
    assert point_mesh_face_distance(meshes, clouds).dim() == 0
    with pytest.raises(ValueError, match="reduction"):
        point_mesh_face_distance(meshes, clouds, reduction="sum")
    # small triangles count by their sides: the face index is the original triangle's
    small = point_mesh_face_distance(meshes, clouds, min_triangle_area=10.0, reduction=None)
    assert (small.face >= 0).all() and small.face.max() < a.faces.shape[0] + b.faces.shape[0]
    assert math.isfinite(float(small.dists.sum()))
