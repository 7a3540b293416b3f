"""Losses and surface sampling vs independent brute-force computations."""

import math

import pytest
import torch

import meshgraph as mg
from meshgraph.losses import (
    chamfer_distance,
    mesh_edge_loss,
    mesh_laplacian_smoothing,
    mesh_normal_consistency,
    point_mesh_face_distance,
)
from meshgraph.ops import sample_points_from_meshes
from meshgraph.utils import ico_sphere


def brute_chamfer(x, y, lx, ly):
    out = []
    for n in range(x.shape[0]):
        a, b = x[n, : lx[n]], y[n, : ly[n]]
        d = ((a[:, None] - b[None]) ** 2).sum(-1)
        out.append(d.min(1).values.mean() + d.min(0).values.mean())
    return torch.stack(out)


def test_chamfer_matches_brute_force_with_lengths_and_reductions(device):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 50, 3, generator=g, dtype=torch.float64).to(device)
    y = torch.rand(3, 40, 3, generator=g, dtype=torch.float64).to(device)
    lx, ly = torch.tensor([50, 20, 33], device=device), torch.tensor([40, 40, 5], device=device)
    per = brute_chamfer(x, y, lx, ly)
    loss, normals = chamfer_distance(x, y, lx, ly)
    torch.testing.assert_close(loss, per.mean())
    assert normals is None
    torch.testing.assert_close(chamfer_distance(x, y, lx, ly, batch_reduction="sum")[0], per.sum())
    torch.testing.assert_close(chamfer_distance(x, y, lx, ly, batch_reduction=None)[0], per)
    w = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64, device=device)
    torch.testing.assert_close(chamfer_distance(x, y, lx, ly, weights=w)[0], (per * w).sum() / w.sum())
    (cx, cy), _ = chamfer_distance(x, y, lx, ly, point_reduction=None, batch_reduction=None)
    assert cx.shape == (3, 50) and cy.shape == (3, 40) and (cx[1, 20:] == 0).all()
    single = chamfer_distance(x, y, single_directional=True)[0]
    d = ((x[:, :, None] - y[:, None]) ** 2).sum(-1).min(2).values.mean(1).mean()
    torch.testing.assert_close(single, d)


def test_chamfer_normals_and_gradients():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 30, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 25, 3, generator=g, dtype=torch.float64)
    xn = torch.nn.functional.normalize(torch.randn(2, 30, 3, generator=g, dtype=torch.float64), dim=2)
    yn = torch.nn.functional.normalize(torch.randn(2, 25, 3, generator=g, dtype=torch.float64), dim=2)
    loss, ln = chamfer_distance(x, y, x_normals=xn, y_normals=yn)
    nn_xy = ((x[:, :, None] - y[:, None]) ** 2).sum(-1).argmin(2)
    nn_yx = ((y[:, :, None] - x[:, None]) ** 2).sum(-1).argmin(2)
    cos_x = (xn * torch.gather(yn, 1, nn_xy[..., None].expand(-1, -1, 3))).sum(2).abs()
    cos_y = (yn * torch.gather(xn, 1, nn_yx[..., None].expand(-1, -1, 3))).sum(2).abs()
    torch.testing.assert_close(ln, ((1 - cos_x).mean(1) + (1 - cos_y).mean(1)).mean())
    assert torch.autograd.gradcheck(lambda a: chamfer_distance(a, y)[0], (x,))
    with pytest.raises(ValueError, match="point_reduction must be one of"):
        chamfer_distance(x, y, point_reduction="median")
    with pytest.raises(ValueError, match='Normals must be None if point_reduction is "max"'):
        chamfer_distance(x, y, x_normals=xn, point_reduction="max")
    # PyTorch3D computes the normal term only when both clouds have normals
    assert chamfer_distance(x, y, x_normals=xn)[1] is None


def test_chamfer_max_reduction_is_the_larger_directed_maximum():
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(3, 20, 3, generator=g), torch.rand(3, 15, 3, generator=g)
    d = ((x[:, :, None] - y[:, None]) ** 2).sum(-1)
    per_cloud = torch.maximum(d.min(2).values.max(1).values, d.min(1).values.max(1).values)
    loss, ln = chamfer_distance(x, y, point_reduction="max", batch_reduction=None)
    torch.testing.assert_close(loss, per_cloud)
    assert ln is None
    single, _ = chamfer_distance(x, y, point_reduction="max", single_directional=True, batch_reduction="sum")
    torch.testing.assert_close(single, d.min(2).values.max(1).values.sum())


def test_chamfer_zero_weights_and_empty_batches_give_zero():
    x, y = torch.rand(2, 5, 3, requires_grad=True), torch.rand(2, 4, 3)
    loss, ln = chamfer_distance(x, y, weights=torch.zeros(2))
    assert float(loss.detach()) == 0.0 and loss.requires_grad and ln is not None  # PyTorch3D: zeros, normal term too
    empty = mg.GraphBatch([])
    loss, ln = chamfer_distance(empty, empty)
    assert float(loss) == 0.0 and ln is None


def test_mesh_edge_loss_on_known_mesh():
    pos = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 1, 0]])
    m = mg.GraphBatch([mg.Graph(pos, torch.tensor([[0, 1, 2]]))])
    lengths = torch.tensor([2.0, 1.0, math.sqrt(5)])
    torch.testing.assert_close(mesh_edge_loss(m), (lengths**2).mean())
    torch.testing.assert_close(mesh_edge_loss(m, target_length=1.0), ((lengths - 1) ** 2).mean())


def test_normal_consistency_is_zero_on_a_plane_and_positive_on_a_fold():
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    flat = mg.GraphBatch([mg.Graph(pos, faces)])
    assert mesh_normal_consistency(flat).abs() < 1e-6
    folded = pos.clone()
    folded[3, 2] = 1.0  # lift one corner: the two faces now meet at 45 degrees... or so
    n0 = torch.linalg.cross(folded[1] - folded[0], folded[2] - folded[0])
    n1 = torch.linalg.cross(folded[2] - folded[0], folded[3] - folded[0])
    expect = 1 - torch.nn.functional.cosine_similarity(n0, n1, dim=0)
    torch.testing.assert_close(mesh_normal_consistency(mg.GraphBatch([mg.Graph(folded, faces)])), expect)


def test_laplacian_smoothing_uniform_and_cot_on_a_sphere():
    s = mg.GraphBatch([ico_sphere(2, dtype=torch.float64)])
    L = s.laplacian().to_dense()
    expect = (L @ s.pos).norm(dim=1).mean()
    torch.testing.assert_close(mesh_laplacian_smoothing(s), expect)
    for method in ("cot", "cotcurv"):
        v = mesh_laplacian_smoothing(s, method)
        assert torch.isfinite(v) and v > 0
    pos = s.pos.clone().requires_grad_(True)
    mesh_laplacian_smoothing(mg.GraphBatch([mg.Graph(pos, s.faces_packed())]), "cot").backward()
    assert torch.isfinite(pos.grad).all()
    with pytest.raises(ValueError, match="Method should be one of"):
        mesh_laplacian_smoothing(s, "nope")


def test_sample_points_lie_on_the_surface_and_carry_features():
    s = mg.GraphBatch([ico_sphere(3), mg.Graph(torch.randn(5, 3)), ico_sphere(1)])
    s.update_features("color", s.pos_packed() * 2 + 1)
    pts, normals, feats = sample_points_from_meshes(s, 2000, return_normals=True, features="color", generator=torch.Generator().manual_seed(0))
    assert pts.shape == (3, 2000, 3)
    assert (pts[1] == 0).all()  # a cloud has no surface: zeros
    r = pts[0].norm(dim=1)
    assert r.max() <= 1 + 1e-5 and r.min() > 0.95  # on the (inscribed) icosphere
    torch.testing.assert_close(feats["color"][0], pts[0] * 2 + 1, atol=1e-5, rtol=1e-5)  # linear features interpolate exactly
    assert ((normals[0] * pts[0]).sum(1) > 0).float().mean() > 0.99  # outward normals
    # area weighting: the fraction of samples with z > 0 matches the upper half's area (1/2 for the sphere)
    assert abs((pts[0, :, 2] > 0).float().mean() - 0.5) < 0.05


def test_sample_points_gradients_reach_positions_and_features():
    base = ico_sphere(1, dtype=torch.float64)
    pos = base.pos.clone().requires_grad_(True)
    f = torch.randn(42, 2, dtype=torch.float64, requires_grad=True)
    m = mg.GraphBatch([mg.Graph(pos, base.faces, vertex_features={"f": f})])
    p, feats = sample_points_from_meshes(m, 100, features=["f"])
    (p.sum() + feats["f"].sum()).backward()
    assert pos.grad.abs().sum() > 0 and f.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="num_samples"):
        sample_points_from_meshes(m, -1)
    with pytest.raises(KeyError, match="nope"):
        sample_points_from_meshes(m, 10, features="nope")


def test_ico_sphere_counts():
    for level, (v, f) in enumerate([(12, 20), (42, 80), (162, 320)]):
        s = ico_sphere(level)
        assert s.num_verts == v and s.faces.shape == (f, 3)
        torch.testing.assert_close(s.pos.norm(dim=1), torch.ones(v))
    with pytest.raises(ValueError, match="level"):
        ico_sphere(-1)


def test_point_triangle_distance_regions_against_dense_sampling():
    from meshgraph.losses.point_mesh import point_triangle_distance_sq

    g = torch.Generator().manual_seed(5)
    a, b, c = torch.tensor([0.0, 0, 0], dtype=torch.float64), torch.tensor([1.0, 0, 0], dtype=torch.float64), torch.tensor([0.2, 0.9, 0], dtype=torch.float64)
    p = (torch.rand(300, 3, generator=g, dtype=torch.float64) * 3 - 1)
    d = point_triangle_distance_sq(p, a, b, c)
    # dense barycentric sampling of the triangle gives an upper bound that converges to the exact distance
    u = torch.linspace(0, 1, 201, dtype=torch.float64)
    uu, vv = torch.meshgrid(u, u, indexing="ij")
    keep = (uu + vv) <= 1
    s = a + uu[keep][:, None] * (b - a) + vv[keep][:, None] * (c - a)
    dense = torch.cdist(p, s).square().min(1).values
    assert (d <= dense + 1e-12).all() and (dense - d).max() < 1e-3
    degenerate = point_triangle_distance_sq(p, a, b, (a + b) / 2)  # collinear: distance to the segment a-b
    t = p[:, 0].clamp(0, 1)
    torch.testing.assert_close(degenerate, (p - torch.stack([t, 0 * t, 0 * t], 1)).square().sum(1))


def test_point_mesh_face_distance_on_known_geometry():
    from meshgraph.losses import point_mesh_face_distance

    square = mg.Graph(torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]), torch.tensor([[0, 1, 2], [0, 2, 3]]))
    meshes = mg.GraphBatch([square, square])
    pts = torch.tensor([[[0.5, 0.5, 0.3], [0.2, 0.7, -0.1]], [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]])
    loss = point_mesh_face_distance(meshes, pts)
    # element 0: point (0.5, 0.5, 0.3) lies 0.3 above the shared diagonal (0.09 to both triangles), point
    # (0.2, 0.7, -0.1) lies 0.1 below triangle 1 (0.01) and 0.135 from triangle 0. Point->face mean (0.09 + 0.01) / 2,
    # face->point: triangle 0's closest point is 0.09 away, triangle 1's 0.01.
    expect0 = (0.09 + 0.01) / 2 + (0.09 + 0.01) / 2
    expect1 = 0.0 + 0.0  # the points are vertices of both triangles
    torch.testing.assert_close(loss, torch.tensor((expect0 + expect1) / 2))
    v = square.pos.clone().requires_grad_(True)
    point_mesh_face_distance(mg.GraphBatch([mg.Graph(v, square.faces)]), pts[:1]).backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0


def test_mesh_edge_loss_keeps_zero_length_edges_of_degenerate_faces():
    """PyTorch3D's edges_packed keeps the (1, 1) side of face (0, 1, 1): two edges, one of length 0."""
    pos = torch.tensor([[0.0, 0, 0], [3, 0, 0]])
    m = mg.GraphBatch([mg.Graph(pos, torch.tensor([[0, 1, 1]]))])
    torch.testing.assert_close(mesh_edge_loss(m), torch.tensor((9.0 + 0.0) / 2))
    torch.testing.assert_close(mesh_edge_loss(m, target_length=1.0), torch.tensor((4.0 + 1.0) / 2))


def test_mesh_losses_on_meshes_without_faces_are_pytorch3ds_zero():
    m = mg.GraphBatch([mg.Graph(torch.rand(4, 3))])
    for loss in (mesh_edge_loss(m), mesh_laplacian_smoothing(m), mesh_normal_consistency(m)):
        assert loss.shape == (1,) and float(loss.detach()) == 0.0 and loss.requires_grad


def test_sample_points_rejects_nan_vertices_and_empty_meshes():
    pos = torch.tensor([[0.0, 0, 0], [1, 0, 0], [float("nan"), 1, 0]])
    with pytest.raises(ValueError, match="Meshes contain nan or inf"):
        sample_points_from_meshes(mg.GraphBatch([mg.Graph(pos, torch.tensor([[0, 1, 2]]))]), 10)
    with pytest.raises(ValueError, match="Meshes are empty"):
        sample_points_from_meshes(mg.GraphBatch([mg.Graph(torch.rand(3, 3))]), 10)


def test_sample_points_draws_like_pytorch3d():
    """Same seed, same draws as PyTorch3D: one multinomial over the padded areas of the meshes with faces, then
    u, v = rand(2, N, S); sample = (1 - sqrt u) a + sqrt u (1 - v) b + sqrt u v c."""
    tri = mg.Graph(torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]]), torch.tensor([[0, 1, 2], [1, 3, 2]]))
    cloud = mg.Graph(torch.rand(2, 3))
    batch = mg.GraphBatch([tri, cloud, tri])
    out = sample_points_from_meshes(batch, 7, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    areas = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    face = areas.multinomial(7, replacement=True, generator=g)
    uv = torch.rand(2, 2, 7, generator=g)
    f = tri.faces[face]
    v = tri.pos
    su = uv[0].sqrt()
    expected = ((1 - su)[..., None] * v[f[..., 0]] + (su * (1 - uv[1]))[..., None] * v[f[..., 1]]
                + (su * uv[1])[..., None] * v[f[..., 2]])
    torch.testing.assert_close(out[[0, 2]], expected)
    assert (out[1] == 0).all()


def test_point_mesh_face_distance_min_triangle_area_counts_small_triangles_by_their_sides():
    """A point above the centre of a small triangle: PyTorch3D's rule (area < min_triangle_area) measures it to
    the nearest side, not to the plane."""
    tri = torch.tensor([[0.0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]])  # area 0.005
    mesh = mg.GraphBatch([mg.Graph(tri, torch.tensor([[0, 1, 2]]))])
    p = torch.tensor([[[0.02, 0.02, 0.3]]])
    exact = point_mesh_face_distance(mesh, p)
    torch.testing.assert_close(exact, torch.tensor(2 * 0.09))  # point -> face and face -> point, both 0.3^2
    sides = point_mesh_face_distance(mesh, p, min_triangle_area=0.006)
    torch.testing.assert_close(sides, torch.tensor(2 * (0.09 + 0.02**2)))  # nearest side: the x or y axis


def test_sample_points_zero_samples_and_flat_meshes():
    tri = mg.Graph(torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), torch.tensor([[0, 1, 2]]))
    flat = mg.Graph(torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), torch.tensor([[0, 1, 2]]))  # zero area
    pts, normals = sample_points_from_meshes(mg.GraphBatch([tri, flat]), 0, return_normals=True)
    assert pts.shape == (2, 0, 3) and normals.shape == (2, 0, 3)
    pts = sample_points_from_meshes(mg.GraphBatch([tri, flat]), 6)
    assert (pts[1] == 0).all() and (pts[0][:, 2] == 0).all() and (pts[0][:, :2].sum(1) <= 1 + 1e-6).all()
