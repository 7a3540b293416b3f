"""point_face_distance_idx and the point_mesh_face_distance loss: exact closest pairs vs the brute-force
reference (grid search on CPU), several elements incl. far points and degenerate triangles, gradients, opcheck."""

import pytest
import torch

import meshgraph as mg
from meshgraph.losses import point_mesh_face_distance
from meshgraph.losses.point_mesh import point_triangle_distance_sq
from meshgraph.ops import reference as ref


def _batch(device, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    v1 = torch.rand(60, 3, generator=g, dtype=dtype)
    f1 = torch.randint(0, 60, (80, 3), generator=g)
    f1[0] = torch.tensor([0, 0, 1])  # degenerate: a segment
    f1[1] = torch.tensor([2, 2, 2])  # degenerate: a point
    v2 = torch.rand(30, 3, generator=g, dtype=dtype) * torch.tensor([5.0, 0.1, 1.0], dtype=dtype)  # flat, long
    f2 = torch.randint(0, 30, (25, 3), generator=g)
    p1 = torch.rand(300, 3, generator=g, dtype=dtype) * 1.4 - 0.2
    p1[:5] = torch.tensor([[50.0, 0, 0], [-30, 4, 2], [0, 0, -40], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], dtype=dtype)
    p2 = torch.rand(120, 3, generator=g, dtype=dtype) * 6 - 0.5
    tris = torch.cat([v1[f1], v2[f2]]).to(device)
    pts = torch.cat([p1, p2]).to(device)
    return pts, tris, (v1, f1, p1), (v2, f2, p2)


def _args(device):
    pts, tris, _, _ = _batch(device)
    l = lambda *v: torch.tensor(v, device=device)  # noqa: E731
    return pts, l(0, 300), l(300, 120), tris, l(0, 80), l(80, 25)


def test_matches_reference(device):
    args = _args(device)
    p2f, f2p = torch.ops.meshgraph.point_face_distance_idx(*args)
    rp, rf = ref.point_face_distance_idx(*args)
    pts, _, _, tris, _, _ = args
    # the same minimum distances (index ties between equally near triangles may differ by rounding order)
    dk = point_triangle_distance_sq(pts, tris[p2f, 0], tris[p2f, 1], tris[p2f, 2])
    dr = point_triangle_distance_sq(pts, tris[rp, 0], tris[rp, 1], tris[rp, 2])
    torch.testing.assert_close(dk, dr, rtol=1e-12, atol=1e-14)
    # random faces share vertices: equally near triangles are common, so indices are compared through distances
    ek = point_triangle_distance_sq(pts[f2p], tris[:, 0], tris[:, 1], tris[:, 2])
    er = point_triangle_distance_sq(pts[rf], tris[:, 0], tris[:, 1], tris[:, 2])
    torch.testing.assert_close(ek, er, rtol=1e-12, atol=1e-14)
    # pairs stay inside their element
    assert (p2f[:300] < 80).all() and (p2f[300:] >= 80).all()
    assert (f2p[:80] < 300).all() and (f2p[80:] >= 300).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_float_dtypes_against_float64_reference(device, dtype):
    """Every float dtype (half types compared in float32): the chosen pairs' float64 distances (of the input
    values) equal the float64 minima up to float32 rounding, tie-aware (equally near triangles share vertices)."""
    pts, cf, cs, tris, mf, ms = _args(device)
    pts, tris = pts.to(dtype), tris.to(dtype)
    p2f, f2p = torch.ops.meshgraph.point_face_distance_idx(pts, cf, cs, tris, mf, ms)
    p64, t64 = pts.double(), tris.double()
    rp, rf = ref.point_face_distance_idx(p64, cf, cs, t64, mf, ms)
    assert (p2f[:300] < 80).all() and (p2f[300:] >= 80).all() and (f2p[:80] < 300).all() and (f2p[80:] >= 300).all()
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
    dk = point_triangle_distance_sq(p64, t64[p2f, 0], t64[p2f, 1], t64[p2f, 2])
    dr = point_triangle_distance_sq(p64, t64[rp, 0], t64[rp, 1], t64[rp, 2])
    torch.testing.assert_close(dk, dr, **tol)
    ek = point_triangle_distance_sq(p64[f2p], t64[:, 0], t64[:, 1], t64[:, 2])
    er = point_triangle_distance_sq(p64[rf], t64[:, 0], t64[:, 1], t64[:, 2])
    torch.testing.assert_close(ek, er, **tol)
    from meshgraph.ops import closest_point_face_pairs

    w2f, w2p = closest_point_face_pairs(pts, cs, tris, ms)
    assert torch.equal(w2f, p2f) and torch.equal(w2p, f2p)


def test_empty_elements_and_opcheck(device):
    pts, tris, _, _ = _batch(device)
    l = lambda *v: torch.tensor(v, device=device)  # noqa: E731
    args = (pts, l(0, 300, 300), l(300, 0, 120), tris, l(0, 80, 80), l(80, 25, 0))
    p2f, f2p = torch.ops.meshgraph.point_face_distance_idx(*args)
    assert (p2f[300:] == -1).all() and (f2p[80:] == -1).all()  # element 2 has no faces, element 1 no points
    torch.library.opcheck(torch.ops.meshgraph.point_face_distance_idx, args)


def _chunked_loss(meshes, clouds):
    """The definition: all pairs, min both ways, per-element means, summed / N."""
    total = 0
    for m, p in zip(meshes, clouds):
        v, f = m
        t = v[f]
        d = point_triangle_distance_sq(p[:, None, :], t[None, :, 0], t[None, :, 1], t[None, :, 2])
        total = total + d.min(1).values.mean() + d.min(0).values.mean()
    return total / len(clouds)


def test_loss_value_and_gradients():
    _, _, (v1, f1, p1), (v2, f2, p2) = _batch("cpu", seed=3)
    v1, v2, p1, p2 = (x.clone().requires_grad_(True) for x in (v1, v2, p1, p2))
    meshes = mg.GraphBatch.from_meshes([v1, v2], [f1, f2])
    clouds = mg.GraphBatch.from_pointclouds([p1, p2])
    loss = point_mesh_face_distance(meshes, clouds)
    expect = _chunked_loss([(v1, f1), (v2, f2)], [p1, p2])
    torch.testing.assert_close(loss, expect)
    g = torch.autograd.grad(loss, (v1, p1))
    ge = torch.autograd.grad(expect, (v1, p1))
    for a, b in zip(g, ge):
        torch.testing.assert_close(a, b)
    # padded input with lengths gives the same loss
    padded = torch.zeros(2, 120, 3, dtype=torch.float64)
    padded[0, :100], padded[1, :120] = p1[:100].detach(), p2.detach()
    a = point_mesh_face_distance(meshes, padded, torch.tensor([100, 120]))
    b = _chunked_loss([(v1, f1), (v2, f2)], [p1[:100], p2])
    torch.testing.assert_close(a, b)


def test_bad_inputs():
    _, _, (v1, f1, p1), _ = _batch("cpu")
    meshes = mg.GraphBatch.from_meshes([v1], [f1])
    with pytest.raises(ValueError, match="clouds"):
        point_mesh_face_distance(meshes, torch.rand(2, 5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="points"):
        point_mesh_face_distance(meshes, torch.rand(1, 5, 2))
    with pytest.raises(ValueError, match="lengths"):
        point_mesh_face_distance(meshes, torch.rand(1, 5, 3, dtype=torch.float64), torch.tensor([9]))
    with pytest.raises(TypeError, match="dtype"):
        point_mesh_face_distance(meshes, torch.rand(1, 5, 3))
    with pytest.raises(ValueError, match="faces and points"):
        point_mesh_face_distance(meshes, torch.rand(1, 5, 3, dtype=torch.float64), torch.tensor([0]))


def test_public_wrapper_and_bad_inputs():
    from meshgraph.ops import closest_point_face_pairs

    pts, tris, _, _ = _batch("cpu")
    sizes, fsizes = torch.tensor([300, 120]), torch.tensor([80, 25])
    p2f, f2p = closest_point_face_pairs(pts, sizes, tris, fsizes)
    first, ffirst = torch.tensor([0, 300]), torch.tensor([0, 80])
    rp, rf = ref.point_face_distance_idx(pts, first, sizes, tris, ffirst, fsizes)  # the offsets the wrapper derives
    torch.testing.assert_close(point_triangle_distance_sq(pts, *tris[p2f].unbind(1)),
                               point_triangle_distance_sq(pts, *tris[rp].unbind(1)), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(point_triangle_distance_sq(pts[f2p], *tris.unbind(1)),
                               point_triangle_distance_sq(pts[rf], *tris.unbind(1)), rtol=1e-12, atol=1e-14)
    assert (p2f[:300] < 80).all() and (p2f[300:] >= 80).all()
    with pytest.raises(TypeError, match="tris"):
        closest_point_face_pairs(pts, sizes, tris.float(), fsizes)
    with pytest.raises(ValueError, match="mesh_sizes"):
        closest_point_face_pairs(pts, sizes, tris, torch.tensor([80]))
    with pytest.raises(ValueError, match="points"):
        closest_point_face_pairs(pts[:, :2], sizes, tris, fsizes)
