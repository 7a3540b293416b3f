"""winding_number op: the BVH kernel (hierarchical evaluation with boundary-chain fans) against the all-pairs
reference on closed meshes, open meshes, triangle soups (several elements, empty elements), every float dtype,
CPU/CUDA, opcheck, bad input, and hypothesis on random sizes."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import meshgraph as mg
from meshgraph.ops import reference as ref
from meshgraph.ops.winding_number import winding_number_packed
from meshgraph.utils import ico_sphere, torus

ops = torch.ops.meshgraph


def _l(device, *v):
    return torch.tensor(v, dtype=torch.int64, device=device)


def _meshes(dtype=torch.float64, seed=0):
    """An icosphere (closed, 320 faces), an open torus (a third of its faces removed) and a random soup."""
    g = torch.Generator().manual_seed(seed)
    s = ico_sphere(2, dtype=dtype)
    t = torus(0.3, 1.0, 12, 16, dtype=dtype)
    tf = t.faces[: 2 * t.faces.shape[0] // 3]
    sv = torch.rand(20, 3, generator=g, dtype=dtype)
    sf = torch.randint(0, 20, (30, 3), generator=g)
    verts = torch.cat([s.pos, t.pos, sv])
    faces = torch.cat([s.faces, tf + s.pos.shape[0], sf + s.pos.shape[0] + t.pos.shape[0]]).long()
    sizes = [s.faces.shape[0], tf.shape[0], 30]
    return verts, faces, sizes


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
    w = ops.winding_number(*args)
    expected = ref.winding_number(*args)
    torch.testing.assert_close(w, expected.to(w.device), rtol=0, atol=1e-9)
    # the sphere: 1 inside, 0 outside (points at radius 0.99 / 1.0 excluded: the facets sit inside the unit sphere)
    r = args[0][:400].norm(dim=1)
    assert (w[:400][r < 0.8] - 1).abs().max() < 1e-9 and w[:400][r > 1.01].abs().max() < 1e-9


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_float_dtypes_against_float64_reference(device, dtype):
    pts, cf, cs, verts, faces, mf, ms = _args(device)
    pts, verts = pts.to(dtype), verts.to(dtype)
    w = ops.winding_number(pts, cf, cs, verts, faces, mf, ms)
    assert w.dtype == dtype
    expected = ref.winding_number(pts.double(), cf, cs, verts.double(), faces, mf, ms)
    tol = 1e-9 if dtype == torch.float64 else (1e-4 if dtype == torch.float32 else 1e-2)
    torch.testing.assert_close(w.double(), expected, rtol=0, atol=tol)


def test_closed_mesh_is_integer_everywhere_off_the_surface(device):
    m = torus(0.3, 1.0, 24, 32, dtype=torch.float64)
    pts = torch.rand(3000, 3, dtype=torch.float64) * 3 - 1.5
    w = ops.winding_number(pts.to(device), _l(device, 0), _l(device, 3000), m.pos.to(device),
                           m.faces.long().to(device), _l(device, 0), _l(device, m.faces.shape[0]))
    assert ((w - w.round()).abs() < 1e-9).all()
    # inside the tube (up to the facets' chords)
    rho = ((pts[:, :2].norm(dim=1) - 1.0) ** 2 + pts[:, 2] ** 2).sqrt().to(device)
    assert (w[rho < 0.25].round() == 1).all() and (w[rho > 0.31].round() == 0).all()


def test_empty_elements_and_opcheck(device):
    pts, _, _, verts, faces, _, _ = _args(device)
    args = (pts, _l(device, 0, 400, 400), _l(device, 400, 0, 500), verts, faces, _l(device, 0, 320, 320),
            _l(device, 320, 0, 0))
    w = ops.winding_number(*args)
    assert (w[400:] == 0).all()
    torch.testing.assert_close(w, ref.winding_number(*args).to(w.device), rtol=0, atol=1e-9)
    assert ops.winding_number(pts[:0], _l(device, 0), _l(device, 0), verts, faces, _l(device, 0), _l(device, 10)).shape == (0,)
    empty = ops.winding_number(pts, _l(device, 0), _l(device, 900), verts, faces[:0], _l(device, 0), _l(device, 0))
    assert (empty == 0).all()
    torch.library.opcheck(ops.winding_number, args)


def test_wrapper_and_bad_inputs():
    pts, cf, cs, verts, faces, mf, ms = _args("cpu")
    torch.testing.assert_close(winding_number_packed(pts, cs, verts, faces, ms), ops.winding_number(pts, cf, cs, verts, faces, mf, ms))
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
    with pytest.raises(RuntimeError, match="faces must index verts"):
        ops.winding_number(pts, cf, cs, verts, bad, mf, ms)
    with pytest.raises(RuntimeError, match="outside"):
        ops.winding_number(pts, cf, cs, verts, faces, mf, ms + 1)
    with pytest.raises(RuntimeError, match="ordered"):
        ops.winding_number(pts, cf.flip(0), cs.flip(0), verts, faces, mf, ms)


def test_matches_reference_on_the_bunny(shared_data):
    """A real open mesh (the Stanford bunny has holes) and points near it: deep BVH, long boundary chains."""
    from meshgraph.io import load_mesh

    m = load_mesh(shared_data / "stanford-bunny.obj", dtype=torch.float64)
    v, f = m.pos, m.faces.long()
    lo, hi = v.min(0).values, v.max(0).values
    pts = lo + (hi - lo) * (torch.rand(100, 3, dtype=torch.float64) * 1.2 - 0.1)
    args = (pts, _l("cpu", 0), _l("cpu", 100), v, f, _l("cpu", 0), _l("cpu", f.shape[0]))
    torch.testing.assert_close(ops.winding_number(*args), ref.winding_number(*args), rtol=0, atol=1e-8)


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
    args = (pts, _l("cpu", *first), _l("cpu", *P), verts, faces, _l("cpu", *ffirst), _l("cpu", *F))
    torch.testing.assert_close(ops.winding_number(*args), ref.winding_number(*args), rtol=0, atol=1e-9)


def test_solid_angle_reference_sign_and_full_sphere():
    """Reference sanity: an outward closed mesh sums to 4 pi inside, 0 outside."""
    s = ico_sphere(1, dtype=torch.float64)
    t = s.pos[s.faces.long()]
    inside = ref.mesh_queries.triangle_solid_angle(torch.zeros(1, 3, dtype=torch.float64), t[:, 0], t[:, 1], t[:, 2]).sum()
    outside = ref.mesh_queries.triangle_solid_angle(torch.tensor([[3.0, 0, 0]], dtype=torch.float64), t[:, 0], t[:, 1], t[:, 2]).sum()
    assert abs(float(inside) - 4 * math.pi) < 1e-9 and abs(float(outside)) < 1e-9
    assert mg is not None
