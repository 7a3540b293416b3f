"""mesh_bvh (the BVH and boundary chains every mesh query traverses) against its step-by-step reference, exactly,
and bvh_closest_face_idx against the all-pairs reference and against point_face_distance_idx's point -> face half
(the same distances and ties); dtypes, empty elements, opcheck, bad input, hypothesis, reuse of one BVH."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import meshgraph as mg
from meshgraph.ops import reference as ref
from meshgraph.ops.bvh_closest_face import closest_faces
from meshgraph.ops.mesh_bvh import MeshBVH, mesh_bvh_packed
from meshgraph.ops.mesh_queries import mesh_bvh, signed_distance, winding_number
from meshgraph.utils import torus

from _query_meshes import mixed_meshes

ops = torch.ops.meshgraph


def _l(device, *v):
    return torch.tensor(v, dtype=torch.int64, device=device)


def _meshes(dtype=torch.float64, seed=0):
    """The shared three meshes (tests/_query_meshes.py) with their face ranges."""
    verts, faces, fs = mixed_meshes(dtype, seed)
    return verts, faces, _l("cpu", 0, fs[0], fs[0] + fs[1]), _l("cpu", *fs)


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


def _assert_same_bvh(out, expected):
    names = ("box", "node", "order", "root", "chain_start", "chain_edge")
    for name, a, b in zip(names, out, expected):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert torch.equal(a, b.to(a.device)), name


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_mesh_bvh_equals_reference(device, dtype):
    verts, faces, mf, ms = _meshes()
    args = (verts.to(dtype).to(device), faces.to(device), mf.to(device), ms.to(device))
    out = ops.mesh_bvh(*args)
    _assert_same_bvh(out, ref.mesh_bvh(*args))
    acc = torch.float64 if dtype == torch.float64 else torch.float32
    assert out[0].dtype == acc
    # every leaf holds at most 4 faces, every element's faces lie below its root
    box, node, order, root, start, edge = (t.cpu() for t in out)
    leaves = node[:, 2] < 0
    assert (node[leaves, 1] <= 4).all() and (node[root, 1] == ms).all()
    # the closed sphere's root has an empty boundary chain, the open torus's does not
    assert start[root[0] + 1] == start[root[0]] and start[root[1] + 1] > start[root[1]]


def test_mesh_bvh_empty_elements_and_opcheck(device):
    verts, faces, _, _ = _meshes()
    args = (verts.to(device), faces.to(device), _l(device, 0, 320, 320), _l(device, 320, 0, 0))
    out = ops.mesh_bvh(*args)
    assert out[3].tolist() == [0, -1, -1]
    _assert_same_bvh(out, ref.mesh_bvh(*args))
    torch.library.opcheck(ops.mesh_bvh, args)
    none = ops.mesh_bvh(verts.to(device), faces[:0].to(device), _l(device, 0), _l(device, 0))
    assert none[0].shape == (0, 6) and none[3].tolist() == [-1] and none[4].tolist() == [0]


def test_closest_face_equals_reference_and_point_face_distance(device):
    verts, faces, mf, ms = _meshes()
    g = torch.Generator().manual_seed(1)
    P = (300, 200, 100)
    pts = torch.rand(sum(P), 3, generator=g, dtype=torch.float64) * 3 - 1.5
    pts[:3] = verts[:3]  # on vertices: distance 0, ties between the faces sharing them
    cs = _l("cpu", *P)
    cf = torch.cumsum(cs, 0) - cs
    dev = [t.to(device) for t in (pts, cf, cs, verts, faces)]
    tree = ops.mesh_bvh(verts.to(device), faces.to(device), mf.to(device), ms.to(device))[:4]
    args = (*dev, *tree)
    out = ops.bvh_closest_face_idx(*args)
    _check_closest(out, args)
    # the same faces as point_face_distance_idx's grid search, up to ties
    p2f, _ = ops.point_face_distance_idx(dev[0], dev[1], dev[2], dev[3][dev[4]], mf.to(device), ms.to(device))
    _check_closest(out, args, expected=p2f, min_same=0.95)
    torch.library.opcheck(ops.bvh_closest_face_idx, args)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_closest_face_half_types_compare_in_float32(device, dtype):
    verts, faces, mf, ms = _meshes()
    pts = torch.rand(200, 3, dtype=torch.float64) * 3 - 1.5
    v, p = verts.to(dtype), pts.to(dtype)
    cs = _l("cpu", 100, 60, 40)
    cf = torch.cumsum(cs, 0) - cs
    tree = ops.mesh_bvh(v.to(device), faces.to(device), mf.to(device), ms.to(device))[:4]
    out = ops.bvh_closest_face_idx(p.to(device), cf.to(device), cs.to(device), v.to(device), faces.to(device), *tree)
    _check_closest(out.cpu(), (p.float(), cf, cs, v.float(), faces, *(t.cpu() for t in tree)), tol=1e-5)


def test_closest_face_empty_elements_and_bad_inputs():
    verts, faces, mf, ms = _meshes()
    pts = torch.rand(50, 3, dtype=torch.float64)
    tree = ops.mesh_bvh(verts, faces, _l("cpu", 0, 320, 320), _l("cpu", 320, 0, 0))[:4]
    out = ops.bvh_closest_face_idx(pts, _l("cpu", 0, 20, 30), _l("cpu", 20, 10, 20), verts, faces, *tree)
    assert (out[:20] >= 0).all() and (out[20:] == -1).all()
    assert ops.bvh_closest_face_idx(pts[:0], _l("cpu", 0, 0, 0), _l("cpu", 0, 0, 0), verts, faces, *tree).shape == (0,)
    bad = faces.clone()
    bad[0, 0] = -1
    with pytest.raises(RuntimeError, match="faces must index verts"):
        ops.bvh_closest_face_idx(pts, _l("cpu", 0, 20, 30), _l("cpu", 20, 10, 20), verts, bad, *tree)
    with pytest.raises(RuntimeError, match="root"):
        ops.bvh_closest_face_idx(pts, _l("cpu", 0, 20, 30), _l("cpu", 20, 10, 20), verts, faces, *tree[:3],
                                 tree[3][:2])
    with pytest.raises(RuntimeError, match="box must be Double"):
        ops.bvh_closest_face_idx(pts, _l("cpu", 0, 20, 30), _l("cpu", 20, 10, 20), verts, faces, tree[0].float(),
                                 *tree[1:])
    with pytest.raises(TypeError, match="MeshBVH"):
        closest_faces(pts, _l("cpu", 50), verts, faces, _l("cpu", 380), bvh=tuple(tree))


def test_reused_bvh_gives_the_same_queries():
    """One mesh_bvh serves winding_number, signed_distance and ray casting; results equal per-call builds."""
    from meshgraph.ops.ray_mesh_intersect import ray_mesh_intersect

    t = torus(0.3, 1.0, 12, 16, dtype=torch.float64)
    meshes = mg.GraphBatch.from_meshes([t.pos, t.pos * 2], [t.faces, t.faces[:100]])
    bvh = mesh_bvh(meshes)
    assert isinstance(bvh, MeshBVH)
    pts = torch.rand(2, 50, 3, dtype=torch.float64) * 3 - 1.5
    assert torch.equal(winding_number(pts, meshes, bvh=bvh), winding_number(pts, meshes))
    assert torch.equal(signed_distance(pts, meshes, bvh=bvh), signed_distance(pts, meshes))
    d = torch.randn(2, 50, 3, dtype=torch.float64)
    a, b = ray_mesh_intersect(pts, d, meshes, bvh=bvh), ray_mesh_intersect(pts, d, meshes)
    assert torch.equal(a.face, b.face) and torch.equal(a.distances, b.distances)
    with pytest.raises(ValueError, match="built for"):
        winding_number(pts[:1], mg.GraphBatch.from_meshes([t.pos], [t.faces]), bvh=bvh)
    f32 = mesh_bvh(mg.GraphBatch.from_meshes([t.pos.float(), t.pos.float()], [t.faces, t.faces[:100]]))
    with pytest.raises(TypeError, match="boxes"):
        winding_number(pts, meshes, bvh=f32)
    assert mesh_bvh_packed(t.pos.float(), t.faces.long(), _l("cpu", t.faces.shape[0])).box.dtype == torch.float32


@st.composite
def soups(draw):
    N = draw(st.integers(1, 3))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    P = [draw(st.integers(0, 30)) for _ in range(N)]
    F = [draw(st.integers(0, 70)) for _ in range(N)]
    V = draw(st.integers(1, 30))
    verts = torch.rand(V, 3, generator=g, dtype=torch.float64)
    if draw(st.booleans()):  # flat: degenerate boxes, tied centroids
        verts[:, 2] = 0.5
    if draw(st.booleans()):  # repeated vertices: tied centroids along every axis
        verts = verts.round(decimals=1)
    faces = torch.randint(0, V, (sum(F), 3), generator=g)
    pts = torch.rand(sum(P), 3, generator=g, dtype=torch.float64) * 1.6 - 0.3
    return pts, P, verts, faces, F


@settings(max_examples=40, deadline=None)
@given(soups())
def test_hypothesis_bvh_and_closest_face_equal_reference(data):
    pts, P, verts, faces, F = data
    cs, ms = _l("cpu", *P), _l("cpu", *F)
    cf, mf = torch.cumsum(cs, 0) - cs, torch.cumsum(ms, 0) - ms
    tree = ops.mesh_bvh(verts, faces, mf, ms)
    _assert_same_bvh(tree, ref.mesh_bvh(verts, faces, mf, ms))
    args = (pts, cf, cs, verts, faces, *tree[:4])
    _check_closest(ops.bvh_closest_face_idx(*args), args, min_same=0)
    p2f, _ = ops.point_face_distance_idx(pts, cf, cs, verts[faces], mf, ms)
    _check_closest(ops.bvh_closest_face_idx(*args), args, expected=p2f, min_same=0)
