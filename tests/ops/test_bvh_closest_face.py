"""bvh_closest_face_idx (the closest face of every point within its mesh, over the meshes' BVH of op mesh_bvh)
against the all-pairs reference and against point_face_distance_idx's point -> face half (the same exact squared
distances, ties to the smaller index): every float dtype, CPU/CUDA, empty inputs (no points, no faces, elements
without faces, no elements), opcheck, torch.compile with a prebuilt BVH, bad input to the raw op and to the
wrapper closest_faces, hypothesis on random triangle soups."""

import pytest
import torch
from hypothesis import given, settings

from meshgraph.ops import reference as ref
from meshgraph.ops.bvh_closest_face import closest_faces
from meshgraph.ops.mesh_bvh import mesh_bvh_packed

from _query_meshes import mixed_mesh_ranges, soups

ops = torch.ops.meshgraph


def _l(device, *v):
    return torch.tensor(v, dtype=torch.int64, device=device)


def _check_closest(out, args, tol=1e-12, min_same=0.5, expected=None):
    """out (P,) against the all-pairs reference: the same faces up to ties (equal distance within rounding: a
    point nearest an edge or vertex that several faces share), the reference's distance to the chosen face."""
    from meshgraph.ops.reference.point_face import point_triangle_distance_sq

    if expected is None:
        expected = ref.bvh_closest_face_idx(*args)
    expected = expected.to(out.device)
    assert torch.equal(out < 0, expected < 0)
    pts, verts, faces = args[0], args[3], args[4]
    hit = out >= 0
    if not hit.any():
        return
    acc = torch.float64 if pts.dtype == torch.float64 else torch.float32
    p, v = pts[hit].to(acc), verts.to(acc)

    def d2(f):
        t = v[faces[f]]
        return point_triangle_distance_sq(p, t[:, 0], t[:, 1], t[:, 2])

    a, b = d2(out[hit]), d2(expected[hit])
    assert ((out[hit] == expected[hit]) | ((a - b).abs() <= tol * (1 + b))).all()
    assert (out[hit] == expected[hit]).float().mean() >= min_same


def _args(device, dtype=torch.float64, P=(300, 200, 100)):
    """Points around the three shared meshes (a few on vertices: distance 0, ties between the faces sharing them)
    and the op's arguments (BVH of op mesh_bvh)."""
    verts, faces, mf, ms = mixed_mesh_ranges()
    g = torch.Generator().manual_seed(1)
    pts = torch.rand(sum(P), 3, generator=g, dtype=torch.float64) * 3 - 1.5
    pts[:3] = verts[:3]
    cs = _l("cpu", *P)
    cf = torch.cumsum(cs, 0) - cs
    v, p = verts.to(dtype).to(device), pts.to(dtype).to(device)
    tree = ops.mesh_bvh(v, faces.to(device), mf.to(device), ms.to(device))[:4]
    return (p, cf.to(device), cs.to(device), v, faces.to(device), *tree), (mf, ms)


def test_equals_reference_and_point_face_distance(device):
    args, (mf, ms) = _args(device)
    out = ops.bvh_closest_face_idx(*args)
    assert out.dtype == torch.int64 and out.shape == (600,) and out.device == args[0].device
    _check_closest(out, args)
    # the same faces as point_face_distance_idx's grid search, up to ties
    pts, cf, cs, verts, faces = args[:5]
    p2f, _ = ops.point_face_distance_idx(pts, cf, cs, verts[faces], mf.to(device), ms.to(device))
    _check_closest(out, args, expected=p2f, min_same=0.95)
    torch.library.opcheck(ops.bvh_closest_face_idx, args)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_half_and_single_types_compare_in_float32(device, dtype):
    args, _ = _args(device, dtype)
    out = ops.bvh_closest_face_idx(*args)
    assert out.dtype == torch.int64 and args[5].dtype == torch.float32
    # the reference on the same (rounded) coordinates in float32
    f32 = tuple(t.float() if t.is_floating_point() else t for t in args)
    _check_closest(out, f32, tol=1e-5)
    if dtype != torch.float32:
        torch.testing.assert_close(out, ops.bvh_closest_face_idx(*f32), rtol=0, atol=0)


def test_empty_inputs(device):
    verts, faces, _, _ = mixed_mesh_ranges()
    v, fc = verts.to(device), faces.to(device)
    pts = torch.rand(50, 3, dtype=torch.float64, device=device)
    # elements without faces: their points get -1
    tree = ops.mesh_bvh(v, fc, _l(device, 0, 320, 320), _l(device, 320, 0, 0))[:4]
    args = (pts, _l(device, 0, 20, 30), _l(device, 20, 10, 20), v, fc, *tree)
    out = ops.bvh_closest_face_idx(*args)
    assert (out[:20] >= 0).all() and (out[20:] == -1).all()
    _check_closest(out, args)
    torch.library.opcheck(ops.bvh_closest_face_idx, args)
    # no points
    none = ops.bvh_closest_face_idx(pts[:0], _l(device, 0, 0, 0), _l(device, 0, 0, 0), v, fc, *tree)
    assert none.shape == (0,) and none.dtype == torch.int64
    # no faces at all
    tree0 = ops.mesh_bvh(v, fc[:0], _l(device, 0), _l(device, 0))[:4]
    out0 = ops.bvh_closest_face_idx(pts, _l(device, 0), _l(device, 50), v, fc[:0], *tree0)
    assert out0.tolist() == [-1] * 50
    # no elements (and so no points)
    tree_n0 = ops.mesh_bvh(v, fc, _l(device), _l(device))[:4]
    assert ops.bvh_closest_face_idx(pts[:0], _l(device), _l(device), v, fc, *tree_n0).shape == (0,)
    # points outside every element's range
    out_r = ops.bvh_closest_face_idx(pts, _l(device, 10), _l(device, 5), v, fc, *tree[:3], tree[3][:1])
    assert (out_r[:10] == -1).all() and (out_r[10:15] >= 0).all() and (out_r[15:] == -1).all()


def test_raw_op_rejects_bad_inputs():
    (pts, cf, cs, verts, faces, *tree), _ = _args("cpu")
    op = ops.bvh_closest_face_idx
    bad = faces.clone()
    bad[0, 0] = -1
    with pytest.raises(RuntimeError, match="faces must index verts"):
        op(pts, cf, cs, verts, bad, *tree)
    with pytest.raises(RuntimeError, match="points must be"):
        op(pts[:, :2], cf, cs, verts, faces, *tree)
    with pytest.raises(RuntimeError, match="verts must be"):
        op(pts, cf, cs, verts[:, :2], faces, *tree)
    with pytest.raises(RuntimeError, match="faces must be"):
        op(pts, cf, cs, verts, faces[:, :2], *tree)
    with pytest.raises(RuntimeError, match="points and verts must have the same dtype"):
        op(pts, cf, cs, verts.float(), faces, *tree)
    with pytest.raises(RuntimeError, match="faces must be Long"):
        op(pts, cf, cs, verts, faces.int(), *tree)
    with pytest.raises(RuntimeError, match="ordered"):
        op(pts, cf.flip(0), cs.flip(0), verts, faces, *tree)
    long_last = cs.clone()
    long_last[-1] += 1  # past the last point
    with pytest.raises(RuntimeError, match="outside"):
        op(pts, cf, long_last, verts, faces, *tree)
    with pytest.raises(RuntimeError, match="root"):
        op(pts, cf, cs, verts, faces, *tree[:3], tree[3][:2])
    with pytest.raises(RuntimeError, match="box must be Double"):
        op(pts, cf, cs, verts, faces, tree[0].float(), *tree[1:])
    node = tree[1].clone()
    node[0, 2] = 0  # a child before its parent
    with pytest.raises(RuntimeError, match="BVH node 0"):
        op(pts, cf, cs, verts, faces, tree[0], node, *tree[2:])
    order = tree[2].clone()
    order[0] = faces.shape[0]
    with pytest.raises(RuntimeError, match="BVH order"):
        op(pts, cf, cs, verts, faces, *tree[:2], order, tree[3])


def test_wrapper_matches_the_op_and_rejects_bad_inputs():
    (pts, cf, cs, verts, faces, *tree), (_, ms) = _args("cpu")
    out = ops.bvh_closest_face_idx(pts, cf, cs, verts, faces, *tree)
    assert torch.equal(closest_faces(pts, cs, verts, faces, ms), out)
    bvh = mesh_bvh_packed(verts, faces, ms)
    assert torch.equal(closest_faces(pts, cs, verts, faces, ms, bvh=bvh), out)
    assert torch.equal(closest_faces(pts.clone().requires_grad_(), cs, verts, faces, ms), out)  # indices: detached
    with pytest.raises(ValueError, match="points"):
        closest_faces(pts[:, :2], cs, verts, faces, ms)
    with pytest.raises(TypeError, match="verts"):
        closest_faces(pts, cs, verts.float(), faces, ms)
    with pytest.raises(TypeError, match="faces"):
        closest_faces(pts, cs, verts, faces.int(), ms)
    with pytest.raises(ValueError, match="mesh_sizes"):
        closest_faces(pts, cs, verts, faces, ms[:2])
    with pytest.raises(TypeError, match="cloud_sizes"):
        closest_faces(pts, cs.float(), verts, faces, ms)
    with pytest.raises(TypeError, match="MeshBVH"):
        closest_faces(pts, cs, verts, faces, ms, bvh=tuple(bvh))
    with pytest.raises(ValueError, match="built for"):
        closest_faces(pts, cs, verts, faces[:10], _l("cpu", 10, 0, 0), bvh=bvh)


def test_prebuilt_bvh_under_compile():
    """The BVH is an input: torch.compile traces the op once (fullgraph, the fake kernel gives the shape)."""
    (pts, cf, cs, verts, faces, *tree), _ = _args("cpu")
    eager = ops.bvh_closest_face_idx(pts, cf, cs, verts, faces, *tree)
    fn = torch.compile(lambda p, t: ops.bvh_closest_face_idx(p, cf, cs, verts, faces, *t), fullgraph=True,
                       backend="eager")
    assert torch.equal(fn(pts, tuple(tree)), eager)


@settings(max_examples=40, deadline=None)
@given(soups())
def test_hypothesis_equals_reference_and_point_face_distance(data):
    pts, P, verts, faces, F = data
    cs, ms = _l("cpu", *P), _l("cpu", *F)
    cf, mf = torch.cumsum(cs, 0) - cs, torch.cumsum(ms, 0) - ms
    args = (pts, cf, cs, verts, faces, *ops.mesh_bvh(verts, faces, mf, ms)[:4])
    out = ops.bvh_closest_face_idx(*args)
    _check_closest(out, args, min_same=0)
    p2f, _ = ops.point_face_distance_idx(pts, cf, cs, verts[faces], mf, ms)
    _check_closest(out, args, expected=p2f, min_same=0)
