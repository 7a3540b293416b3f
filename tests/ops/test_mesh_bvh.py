"""mesh_bvh (the BVH and boundary chains every mesh query traverses) against its step-by-step reference, exactly:
dtypes, empty elements, opcheck, hypothesis, reuse of one BVH by every query. The closest-face query over it
(bvh_closest_face_idx) is tested in test_bvh_closest_face.py."""

import pytest
import torch
from hypothesis import given, settings

import meshgraph as mg
from meshgraph.ops import reference as ref
from meshgraph.ops.mesh_bvh import MeshBVH, mesh_bvh_packed
from meshgraph.ops.mesh_queries import mesh_bvh, signed_distance, winding_number
from meshgraph.utils import torus

from _query_meshes import mixed_mesh_ranges, soups

ops = torch.ops.meshgraph


def _l(device, *v):
    return torch.tensor(v, dtype=torch.int64, device=device)


_meshes = mixed_mesh_ranges  # the shared three meshes with their face ranges (verts, faces, first, size)


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


@settings(max_examples=40, deadline=None)
@given(soups())
def test_hypothesis_bvh_equals_reference(data):
    _, _, verts, faces, F = data
    ms = _l("cpu", *F)
    mf = torch.cumsum(ms, 0) - ms
    _assert_same_bvh(ops.mesh_bvh(verts, faces, mf, ms), ref.mesh_bvh(verts, faces, mf, ms))
