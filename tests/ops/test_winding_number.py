"""winding_number op: the BVH kernel (hierarchical evaluation with boundary-chain fans) against the all-pairs
reference on closed meshes, open meshes, triangle soups (several elements, empty elements), every float dtype,
CPU/CUDA, opcheck, bad input, and hypothesis on random sizes; its gradient (op winding_number_backward) against
the reference's autograd and by gradcheck away from the surface."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import meshgraph as mg
from meshgraph.ops import reference as ref
from meshgraph.ops.winding_number import winding_number_packed
from meshgraph.utils import ico_sphere, torus

from _query_meshes import mixed_meshes

ops = torch.ops.meshgraph


def _l(device, *v):
    return torch.tensor(v, dtype=torch.int64, device=device)


_meshes = mixed_meshes  # (verts, faces, faces per mesh)


def _w(pts, cf, cs, verts, faces, mf, ms):
    """The op's arguments: the ranges (mf, ms) replaced by the BVH of op mesh_bvh."""
    return (pts, cf, cs, verts, faces, *ops.mesh_bvh(verts, faces, mf, ms))


def _wn(*args):
    return ops.winding_number(*_w(*args))


def _args(device, dtype=torch.float64, P=(400, 300, 200)):
    verts, faces, fs = _meshes(dtype)
    g = torch.Generator().manual_seed(1)
    pts = (torch.rand(sum(P), 3, generator=g, dtype=dtype) * 3 - 1.5)
    pts[:5] = torch.tensor([[0, 0, 0], [0.5, 0.1, 0.2], [5, 5, 5], [1.0, 0, 0], [0, 0, 0.99]], dtype=dtype)
    first = [0, P[0], P[0] + P[1]]
    ffirst = [0, fs[0], fs[0] + fs[1]]
    return (pts.to(device), _l(device, *first), _l(device, *P), verts.to(device), faces.to(device),
            _l(device, *ffirst), _l(device, *fs))


def test_matches_reference_closed_open_and_soup(device):
    args = _args(device)
    w = _wn(*args)
    expected = ref.winding_number(*_w(*args))
    torch.testing.assert_close(w, expected.to(w.device), rtol=0, atol=1e-9)
    # the sphere: 1 inside, 0 outside (points at radius 0.99 / 1.0 excluded: the facets sit inside the unit sphere)
    r = args[0][:400].norm(dim=1)
    assert (w[:400][r < 0.8] - 1).abs().max() < 1e-9 and w[:400][r > 1.01].abs().max() < 1e-9


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_float_dtypes_against_float64_reference(device, dtype):
    pts, cf, cs, verts, faces, mf, ms = _args(device)
    pts, verts = pts.to(dtype), verts.to(dtype)
    w = _wn(pts, cf, cs, verts, faces, mf, ms)
    assert w.dtype == dtype
    expected = ref.winding_number(*_w(pts.double(), cf, cs, verts.double(), faces, mf, ms))
    tol = 1e-9 if dtype == torch.float64 else (1e-4 if dtype == torch.float32 else 1e-2)
    torch.testing.assert_close(w.double(), expected, rtol=0, atol=tol)


def test_closed_mesh_is_integer_everywhere_off_the_surface(device):
    m = torus(0.3, 1.0, 24, 32, dtype=torch.float64)
    pts = torch.rand(3000, 3, dtype=torch.float64) * 3 - 1.5
    w = _wn(pts.to(device), _l(device, 0), _l(device, 3000), m.pos.to(device),
                           m.faces.long().to(device), _l(device, 0), _l(device, m.faces.shape[0]))
    assert ((w - w.round()).abs() < 1e-9).all()
    # inside the tube (up to the facets' chords)
    rho = ((pts[:, :2].norm(dim=1) - 1.0) ** 2 + pts[:, 2] ** 2).sqrt().to(device)
    assert (w[rho < 0.25].round() == 1).all() and (w[rho > 0.31].round() == 0).all()


def test_empty_elements_and_opcheck(device):
    pts, _, _, verts, faces, _, _ = _args(device)
    args = (pts, _l(device, 0, 400, 400), _l(device, 400, 0, 500), verts, faces, _l(device, 0, 320, 320),
            _l(device, 320, 0, 0))
    w = _wn(*args)
    assert (w[400:] == 0).all()
    torch.testing.assert_close(w, ref.winding_number(*_w(*args)).to(w.device), rtol=0, atol=1e-9)
    assert _wn(pts[:0], _l(device, 0), _l(device, 0), verts, faces, _l(device, 0), _l(device, 10)).shape == (0,)
    empty = _wn(pts, _l(device, 0), _l(device, 900), verts, faces[:0], _l(device, 0), _l(device, 0))
    assert (empty == 0).all()
    torch.library.opcheck(ops.winding_number, _w(*args))


def test_wrapper_and_bad_inputs():
    pts, cf, cs, verts, faces, mf, ms = _args("cpu")
    torch.testing.assert_close(winding_number_packed(pts, cs, verts, faces, ms), _wn(pts, cf, cs, verts, faces, mf, ms))
    with pytest.raises(TypeError, match="verts"):
        winding_number_packed(pts, cs, verts.float(), faces, ms)
    with pytest.raises(TypeError, match="faces"):
        winding_number_packed(pts, cs, verts, faces.int(), ms)
    with pytest.raises(ValueError, match="mesh_sizes"):
        winding_number_packed(pts, cs, verts, faces, ms[:2])
    with pytest.raises(ValueError, match="points"):
        winding_number_packed(pts[:, :2], cs, verts, faces, ms)
    bad = faces.clone()
    bad[3, 1] = verts.shape[0]
    tree = ops.mesh_bvh(verts, faces, mf, ms)
    with pytest.raises(RuntimeError, match="faces must index verts"):
        ops.mesh_bvh(verts, bad, mf, ms)
    with pytest.raises(RuntimeError, match="faces must index verts"):
        ops.winding_number(pts, cf, cs, verts, bad, *tree)
    with pytest.raises(RuntimeError, match="outside|disjoint"):
        ops.mesh_bvh(verts, faces, mf, ms + 1)
    with pytest.raises(RuntimeError, match="ordered"):
        ops.winding_number(pts, cf.flip(0), cs.flip(0), verts, faces, *tree)
    bad_start = tree[4].clone()
    bad_start[-1] += 1
    with pytest.raises(RuntimeError, match="chain_start"):
        ops.winding_number(pts, cf, cs, verts, faces, *tree[:4], bad_start, tree[5])
    bad_edge = tree[5].clone()
    bad_edge[0, 1] = verts.shape[0]
    with pytest.raises(RuntimeError, match="chain_edge"):
        ops.winding_number(pts, cf, cs, verts, faces, *tree[:5], bad_edge)
    with pytest.raises(RuntimeError, match="must have shape"):
        ops.winding_number_backward(torch.ones(3, dtype=pts.dtype), pts, cf, cs, verts, faces, *tree)


def test_matches_reference_on_the_bunny(shared_data):
    """A real open mesh (the Stanford bunny has holes) and points near it: deep BVH, long boundary chains."""
    from meshgraph.io import load_mesh

    m = load_mesh(shared_data / "stanford-bunny.obj", dtype=torch.float64)
    v, f = m.pos, m.faces.long()
    lo, hi = v.min(0).values, v.max(0).values
    pts = lo + (hi - lo) * (torch.rand(100, 3, dtype=torch.float64) * 1.2 - 0.1)
    args = _w(pts, _l("cpu", 0), _l("cpu", 100), v, f, _l("cpu", 0), _l("cpu", f.shape[0]))
    torch.testing.assert_close(ops.winding_number(*args), ref.winding_number(*args), rtol=0, atol=1e-8)
    # the gradient too, on a few points (the reference's autograd graph is P x F)
    few = (pts[:10], _l("cpu", 0), _l("cpu", 10), *args[3:])
    g = torch.randn(10, dtype=torch.float64)
    gp, gv = ops.winding_number_backward(g, *few)
    rp, rv = ref.winding_number_backward(g, *few)
    torch.testing.assert_close(gp, rp, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(gv, rv, rtol=1e-6, atol=1e-9)


@st.composite
def soups(draw):
    N = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    P = [draw(st.integers(0, 40)) for _ in range(N)]
    F = [draw(st.integers(0, 60)) for _ in range(N)]
    V = draw(st.integers(1, 30))
    verts = torch.rand(V, 3, generator=g, dtype=torch.float64)
    if draw(st.booleans()):  # a flat soup: degenerate boxes and coplanar points
        verts[:, 2] = 0.5
    faces = torch.randint(0, V, (sum(F), 3), generator=g)
    pts = torch.rand(sum(P), 3, generator=g, dtype=torch.float64) * 1.6 - 0.3
    return pts, P, verts, faces, F


@settings(max_examples=40, deadline=None)
@given(soups())
def test_hypothesis_equals_reference(data):
    pts, P, verts, faces, F = data
    first = [sum(P[:i]) for i in range(len(P))]
    ffirst = [sum(F[:i]) for i in range(len(F))]
    args = _w(pts, _l("cpu", *first), _l("cpu", *P), verts, faces, _l("cpu", *ffirst), _l("cpu", *F))
    torch.testing.assert_close(ops.winding_number(*args), ref.winding_number(*args), rtol=0, atol=1e-9)


def test_solid_angle_reference_sign_and_full_sphere():
    """Reference sanity: an outward closed mesh sums to 4 pi inside, 0 outside."""
    s = ico_sphere(1, dtype=torch.float64)
    t = s.pos[s.faces.long()]
    inside = ref.mesh_queries.triangle_solid_angle(torch.zeros(1, 3, dtype=torch.float64), t[:, 0], t[:, 1], t[:, 2]).sum()
    outside = ref.mesh_queries.triangle_solid_angle(torch.tensor([[3.0, 0, 0]], dtype=torch.float64), t[:, 0], t[:, 1], t[:, 2]).sum()
    assert abs(float(inside) - 4 * math.pi) < 1e-9 and abs(float(outside)) < 1e-9
    assert mg is not None


# ----------------------------------------------------------------------------------------------------- gradients


def _away(pts, verts, faces, margin):
    """The rows of pts farther than `margin` from every triangle (the gradient is exact there)."""
    from meshgraph.ops.reference.point_face import point_triangle_distance_sq

    t = verts[faces]
    d2 = point_triangle_distance_sq(pts[:, None], t[None, :, 0], t[None, :, 1], t[None, :, 2])
    return pts[d2.min(1).values > margin**2]


def test_backward_matches_reference_autograd(device):
    """winding_number_backward (the kernel) against autograd of the all-pairs reference, on all three meshes:
    closed, open (fans over boundary chains) and soups; points away from the surfaces."""
    pts, cf, cs, verts, faces, mf, ms = _args("cpu")
    keep = [_away(pts[a:a + n], verts, faces[f0:f0 + nf], 0.02) for a, n, f0, nf in
            zip(cf.tolist(), cs.tolist(), mf.tolist(), ms.tolist())]
    pts = torch.cat(keep).to(device)
    cs = _l(device, *[k.shape[0] for k in keep])
    cf = torch.cumsum(cs, 0) - cs
    args = _w(pts, cf, cs, verts.to(device), faces.to(device), mf.to(device), ms.to(device))
    g = torch.randn(pts.shape[0], dtype=torch.float64, device=device)
    gp, gv = ops.winding_number_backward(g, *args)
    rp, rv = ref.winding_number_backward(g, *args)
    torch.testing.assert_close(gp, rp.to(gp.device), rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(gv, rv.to(gv.device), rtol=1e-7, atol=1e-9)
    # interior vertices of fanned patches get exactly what the faces' sum gives: the comparison above covers the
    # vertices of every mesh, not just boundary ones
    assert gv.abs().sum() > 0 and gp.abs().sum() > 0
    torch.library.opcheck(ops.winding_number_backward, (g, *args))


def test_gradcheck_points_and_vertices():
    """gradcheck (float64) through the public function w.r.t. points and vertices of an open mesh (fans and
    leaves both contribute), points away from the surface."""
    t = torus(0.3, 1.0, 8, 10, dtype=torch.float64)
    verts, faces = t.pos, t.faces.long()[:-20]  # open: boundary chains
    g = torch.Generator().manual_seed(5)
    pts = _away(torch.rand(40, 3, generator=g, dtype=torch.float64) * 3 - 1.5, verts, faces, 0.05)[:12]
    cs, ms = _l("cpu", pts.shape[0]), _l("cpu", faces.shape[0])

    def fn(p, v):
        return winding_number_packed(p, cs, v, faces, ms)

    torch.autograd.gradcheck(fn, (pts.clone().requires_grad_(), verts.clone().requires_grad_()), atol=1e-7)


def test_gradient_is_zero_for_a_closed_mesh_away_from_it():
    """On a closed mesh w is piecewise constant: its gradient vanishes off the surface (to rounding)."""
    s = ico_sphere(2, dtype=torch.float64)
    pts = torch.tensor([[0.1, 0.2, 0.0], [2.0, 0.5, 0.1], [0.0, 0.0, 0.5]], dtype=torch.float64, requires_grad=True)
    v = s.pos.clone().requires_grad_()
    w = winding_number_packed(pts, _l("cpu", 3), v, s.faces.long(), _l("cpu", s.faces.shape[0]))
    w.sum().backward()
    assert pts.grad.abs().max() < 1e-10 and v.grad.abs().max() < 1e-10


def test_backward_is_deterministic_and_half_types(device):
    pts, cf, cs, verts, faces, mf, ms = _args(device)
    args = _w(pts, cf, cs, verts, faces, mf, ms)
    g = torch.randn(pts.shape[0], dtype=torch.float64, device=device)
    torch.use_deterministic_algorithms(True)
    try:
        a = ops.winding_number_backward(g, *args)
        b = ops.winding_number_backward(g, *args)
    finally:
        torch.use_deterministic_algorithms(False)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        h = _w(pts.to(dtype), cf, cs, verts.to(dtype), faces, mf, ms)
        gp, gv = ops.winding_number_backward(g.to(dtype), *h)
        assert gp.dtype == dtype and gv.dtype == dtype and gp.shape == pts.shape and gv.shape == verts.shape
        assert torch.isfinite(gp.float()).all() and torch.isfinite(gv.float()).all()


def test_prebuilt_bvh_under_compile_and_inference_mode():
    """A MeshBVH built once serves many calls, inside inference_mode and under torch.compile (fullgraph: the BVH
    is an input, no rebuild, no graph break)."""
    from meshgraph.ops.mesh_bvh import mesh_bvh_packed

    pts, cf, cs, verts, faces, mf, ms = _args("cpu")
    bvh = mesh_bvh_packed(verts, faces, ms)
    eager = winding_number_packed(pts, cs, verts, faces, ms, bvh)
    torch.testing.assert_close(eager, winding_number_packed(pts, cs, verts, faces, ms))
    with torch.inference_mode():
        torch.testing.assert_close(winding_number_packed(pts, cs, verts, faces, ms, bvh), eager)
    fn = torch.compile(lambda p, b: ops.winding_number(p, cf, cs, verts, faces, *b), fullgraph=True, backend="eager")
    torch.testing.assert_close(fn(pts, tuple(bvh)), eager)
