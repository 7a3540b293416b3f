"""marching_cubes: kernels vs the reference (bit-exact), vs skimage.measure.marching_cubes (same vertices and the
same polygon boundaries on every non-ambiguous cell face) on spheres, tori, random and igea volumes, watertightness,
no duplicate vertices, PyTorch3D's conventions (coordinates, local coords, winding, default isolevel), empty and
out-of-range cases, non-finite densities, the four dtypes, thread-count independence, the generated table, opcheck,
the fake kernel and torch.compile."""

import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from meshgraph.ops import reference as ref
from meshgraph.ops.marching_cubes import marching_cubes

ops = torch.ops.meshgraph
ROOT = Path(__file__).resolve().parents[2]


def _grid(n):
    a = torch.arange(n, dtype=torch.float64)
    z, y, x = torch.meshgrid(a, a, a, indexing="ij")
    return x, y, z


def _sphere(n=20, c=9.3, r=6.1):
    x, y, z = _grid(n)
    return ((x - c) ** 2 + (y - c + 0.4) ** 2 + (z - c - 0.2) ** 2).sqrt() - r


def _torus(n=24, R=6.5, r=2.7):
    x, y, z = _grid(n)
    c = (n - 1) / 2 + 0.17
    q = (((x - c) ** 2 + (y - c) ** 2).sqrt() - R) ** 2 + (z - c + 0.3) ** 2
    return q.sqrt() - r


def _random(shape, seed, pad=True):
    g = torch.Generator().manual_seed(seed)
    v = torch.rand(shape, generator=g, dtype=torch.float64)
    if pad:  # a border above the isolevel closes every surface
        v = torch.nn.functional.pad(v, (1, 1, 1, 1, 1, 1), value=2.0)
    return v


def _edges(faces):
    return Counter(tuple(e) for f in faces.tolist() for e in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])))


def _assert_watertight(faces):
    directed = _edges(faces)
    assert all(c == 1 for c in directed.values()), "a directed edge is used twice (inconsistent winding)"
    assert all(directed[(b, a)] == 1 for (a, b) in directed), "an edge is not shared by exactly two faces"


def _assert_clean(verts, faces):
    assert verts.shape[0] == torch.unique(verts, dim=0).shape[0], "duplicated vertex positions"
    if faces.numel():
        assert (faces[:, 0] != faces[:, 1]).all() and (faces[:, 1] != faces[:, 2]).all()
        assert (faces[:, 0] != faces[:, 2]).all()
        assert torch.equal(torch.unique(faces), torch.arange(verts.shape[0])), "unreferenced vertices"


# ---------------------------------------------------------------------------------------------- vs the reference


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 4, 5), (6, 5, 7), (1, 9, 2)])
def test_kernel_matches_reference_exactly(device, shape):
    vol = torch.stack([_random(shape, s, pad=False) for s in range(3)]).float()
    iso = torch.tensor([0.5, 0.3, 0.7], dtype=torch.float64)
    got = ops.marching_cubes(vol.to(device), iso.to(device))
    want = ref.REFERENCES["marching_cubes"](vol, iso)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        torch.testing.assert_close(g, w.to(g.device), rtol=0, atol=0)


def test_kernel_matches_reference_on_exact_sample_hits(device):
    """Integer volumes with the isolevel equal to sample values: vertices snap onto the samples (one vertex per
    sample), degenerate triangles are dropped, exactly as the reference does."""
    g = torch.Generator().manual_seed(3)
    vol = torch.randint(0, 4, (2, 6, 7, 5), generator=g).double()
    iso = torch.tensor([1.0, 2.0], dtype=torch.float64)
    got = ops.marching_cubes(vol.to(device), iso.to(device))
    want = ref.REFERENCES["marching_cubes"](vol, iso)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b.to(a.device), rtol=0, atol=0)
    verts, faces = marching_cubes(vol.to(device), 1.0, return_local_coords=False)
    for v, f in zip(verts, faces):
        _assert_clean(v.cpu(), f.cpu())
        assert not (v.frac() != 0).all(1).any()  # every vertex on a grid edge or a sample


def test_batch_packing_and_per_volume_indices(device):
    vols = torch.stack([_sphere(), _sphere(c=8.0, r=4.0), torch.ones(20, 20, 20, dtype=torch.float64)])
    verts, faces = marching_cubes(vols.to(device), 0.0, return_local_coords=False)
    assert len(verts) == len(faces) == 3 and verts[2].shape == (0, 3) and faces[2].shape == (0, 3)
    for n in range(2):
        v1, f1 = marching_cubes(vols[n : n + 1].to(device), 0.0, return_local_coords=False)
        assert torch.equal(verts[n], v1[0]) and torch.equal(faces[n], f1[0])


def test_output_independent_of_thread_count():
    # 64^3: several chunks of work per thread pass (the CPU kernel keeps small volumes on one thread)
    vol = torch.stack([_torus(64, R=20.0, r=8.0), _random((64, 64, 64), 5, pad=False) * 10 - 5]).float()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = marching_cubes(vol, 0.0)
        torch.set_num_threads(max(2, before))
        many = marching_cubes(vol, 0.0)
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one[0] + one[1], many[0] + many[1]):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------------------------- vs scikit-image


def _segments(verts, faces, vol, iso, ids):
    """Mesh edges lying on a cell face that is not ambiguous, as pairs of vertex ids (ids[i]: the id of vertex i):
    the polygon boundaries, independent of how each cell's polygon is triangulated."""
    inside = vol.numpy() < iso
    D, H, W = inside.shape

    def squares(p):
        ints = [abs(c - round(c)) < 1e-9 for c in p]
        axis = ints.index(False) if not all(ints) else None
        lo = [int(np.floor(c + 1e-9)) for c in p]
        out = set()
        for b in range(3):  # normal axis of the square
            if b == axis:
                continue
            u, v = [a for a in range(3) if a != b]
            for du in (0,) if u == axis else (0, -1):
                for dv in (0,) if v == axis else (0, -1):
                    c = list(lo)
                    c[u] += du
                    c[v] += dv
                    if all(0 <= c[i] and c[i] + (i != b) <= (W, H, D)[i] - 1 for i in range(3)):
                        out.add((b, tuple(c)))
        return out

    def ambiguous(sq):
        b, c = sq
        u, v = [a for a in range(3) if a != b]
        corners = []
        for du, dv in ((0, 0), (1, 0), (1, 1), (0, 1)):
            q = list(c)
            q[u] += du
            q[v] += dv
            corners.append(bool(inside[q[2], q[1], q[0]]))
        return corners[0] == corners[2] and corners[1] == corners[3] and corners[0] != corners[1]

    sq = [squares(p) for p in verts]
    out = set()
    for f in faces:
        for a, b in ((f[0], f[1]), (f[1], f[2]), (f[2], f[0])):
            common = sq[a] & sq[b]
            if common and not any(ambiguous(s) for s in common):
                out.add(frozenset((int(ids[a]), int(ids[b]))))
    return out


def _compare_with_skimage(vol, iso, device, dtype=torch.float32):
    from scipy.spatial import cKDTree
    from skimage.measure import marching_cubes as sk_marching_cubes

    vol = vol.to(dtype)
    verts, faces = marching_cubes(vol[None].to(device), iso, return_local_coords=False)
    verts, faces = verts[0].cpu().double().numpy(), faces[0].cpu().numpy()
    sv, sf, _, _ = sk_marching_cubes(vol.float().numpy(), iso, method="lewiner")
    sv = sv[:, ::-1].astype(np.float64)  # skimage: (z, y, x) array coordinates
    # skimage adds a vertex inside some cells (Lewiner's interior cases): compare the grid-edge vertices
    on_edges = (np.abs(sv - np.round(sv)) < 1e-6).sum(1) >= 2
    dist, match = cKDTree(verts).query(sv)
    assert dist[on_edges].max() < 2e-4, "a skimage vertex has no vertex of ours"
    assert len(np.unique(match[on_edges])) == len(verts) == on_edges.sum(), "vertex sets differ"
    keep = on_edges[sf].all(1)
    mine = _segments(verts, faces, vol.double(), iso, np.arange(len(verts)))
    theirs = _segments(sv, sf[keep], vol.double(), iso, match)
    assert len(mine) > 0 and theirs <= mine and len(mine - theirs) <= 0.002 * len(mine) + 4
    return verts, faces


@pytest.mark.parametrize("shape_fn", [_sphere, _torus], ids=["sphere", "torus"])
def test_same_surface_as_skimage_on_smooth_shapes(device, shape_fn):
    vol = shape_fn()
    verts, faces = _compare_with_skimage(vol, 0.0, device)
    _assert_watertight(torch.from_numpy(faces))


def test_same_surface_as_skimage_on_random_volumes(device):
    for seed in range(3):
        vol = _random((9, 8, 10), seed)
        _, faces = _compare_with_skimage(vol, 0.5, device)
        _assert_watertight(torch.from_numpy(faces))


def test_same_surface_as_skimage_on_igea(device, shared_data):
    from meshgraph.io import load_ply

    verts = load_ply(shared_data / "igea.ply")[0].double()
    pts = verts[torch.randperm(verts.shape[0], generator=torch.Generator().manual_seed(0))[:3000]]
    lo, hi = pts.amin(0), pts.amax(0)
    n = 28
    axes = [torch.linspace(float(lo[i] - 0.1 * (hi - lo)[i]), float(hi[i] + 0.1 * (hi - lo)[i]), n, dtype=torch.float64)
            for i in range(3)]
    z, y, x = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    grid = torch.stack([x, y, z], -1).reshape(-1, 3)
    dist = torch.cdist(grid, pts).amin(1).reshape(n, n, n)
    vol = dist - 0.04 * float((hi - lo).max())  # a thickened igea surface: closed
    verts, faces = _compare_with_skimage(vol, 0.0, device)
    assert len(faces) > 1000
    _assert_watertight(torch.from_numpy(faces))


# ---------------------------------------------------------------------------------------------- conventions


def test_pytorch3d_case1_conventions():
    """PyTorch3D's case 1: corner (0, 0, 0) below the isolevel gives the vertices (0.5,0,0), (0,0.5,0), (0,0,0.5)
    and a face whose normal points away from the inside corner."""
    vol = torch.ones(1, 2, 2, 2)
    vol[0, 0, 0, 0] = 0
    verts, faces = marching_cubes(vol, return_local_coords=False)  # isolevel None: 0.5
    v, f = verts[0], faces[0]
    assert f.shape == (1, 3) and v.dtype == torch.float32
    assert {tuple(p) for p in v.tolist()} == {(0.5, 0.0, 0.0), (0.0, 0.5, 0.0), (0.0, 0.0, 0.5)}
    p = v[f[0]]
    normal = torch.linalg.cross(p[1] - p[0], p[2] - p[0])
    assert (normal > 0).all()
    local, _ = marching_cubes(vol)
    torch.testing.assert_close(local[0], 2 * v - 1)


def test_coordinate_order_and_local_coords(device):
    """x runs along W (the last dim), z along D; local coordinates map [0, n-1] onto [-1, 1] per axis."""
    vol = torch.ones(1, 3, 4, 6, device=device)
    vol[0, 1, 2, 4] = 0  # z = 1, y = 2, x = 4
    grid, _ = marching_cubes(vol, 0.5, return_local_coords=False)
    torch.testing.assert_close(grid[0].mean(0), torch.tensor([4.0, 2.0, 1.0], device=device))
    local, _ = marching_cubes(vol, 0.5)
    size = torch.tensor([6.0, 4.0, 3.0], device=device)
    torch.testing.assert_close(local[0], grid[0] * 2 / (size - 1) - 1)
    assert local[0].abs().max() <= 1


def test_outward_normals_on_sphere(device):
    """Inside = below the isolevel: on a signed distance (negative inside) normals point outwards."""
    vol = _sphere()[None].float().to(device)
    verts, faces = marching_cubes(vol, 0.0, return_local_coords=False)
    v, f = verts[0].cpu().double(), faces[0].cpu()
    p = v[f]
    n = torch.linalg.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    out = p.mean(1) - torch.tensor([9.3, 9.3 - 0.4, 9.3 + 0.2], dtype=torch.float64)
    assert ((n * out).sum(1) > 0).all()
    # the enclosed volume is the ball's (divergence theorem), to discretization error
    vol_enclosed = (p[:, 0] * torch.linalg.cross(p[:, 1], p[:, 2])).sum() / 6
    assert abs(float(vol_enclosed) - 4 / 3 * np.pi * 6.1**3) < 0.02 * 4 / 3 * np.pi * 6.1**3


def test_default_isolevel_is_mid_range_per_volume(device):
    a = _sphere()
    vols = torch.stack([a, 3 * a + 10]).float().to(device)
    got_v, got_f = marching_cubes(vols, return_local_coords=False)
    for n, mid in enumerate([(a.max() + a.min()) / 2, (3 * a.max() + 10 + 3 * a.min() + 10) / 2]):
        v, f = marching_cubes(vols[n : n + 1], float(mid), return_local_coords=False)
        assert torch.equal(v[0], got_v[n]) and torch.equal(f[0], got_f[n])


# ---------------------------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("shape", [(0, 4, 4, 4), (2, 0, 3, 3), (2, 1, 5, 5), (1, 5, 5, 1)])
def test_empty_and_flat_volumes(device, shape):
    vol = torch.rand(shape, device=device)
    verts, faces = marching_cubes(vol, 0.5)
    assert len(verts) == len(faces) == shape[0]
    for v, f in zip(verts, faces):
        assert v.shape == (0, 3) and f.shape == (0, 3) and f.dtype == torch.int64


def test_isolevel_outside_range_and_constant_volume_give_empty_meshes(device):
    vol = torch.rand(2, 5, 6, 7, device=device)
    for iso in (-1.0, 2.0, 1.0 + 1e-3):
        verts, faces = marching_cubes(vol, iso)
        assert all(v.shape == (0, 3) for v in verts) and all(f.shape == (0, 3) for f in faces)
    verts, faces = marching_cubes(torch.full((1, 4, 4, 4), 3.0, device=device))  # default isolevel = the value
    assert verts[0].shape == (0, 3) and faces[0].shape == (0, 3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_densities_raise(device, bad):
    vol = torch.rand(1, 5, 5, 5, device=device)
    vol[0, 2, 3, 1] = bad
    with pytest.raises(RuntimeError, match="NaN or infinite"):
        marching_cubes(vol, 0.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="vol_batch"):
        marching_cubes(torch.rand(4, 4, 4))
    with pytest.raises(TypeError, match="vol_batch"):
        marching_cubes(torch.zeros(1, 3, 3, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="isolevel"):
        marching_cubes(torch.rand(1, 3, 3, 3), "0.5")
    with pytest.raises(TypeError, match="return_local_coords"):
        marching_cubes(torch.rand(1, 3, 3, 3), 0.5, return_local_coords=None)
    with pytest.raises(RuntimeError, match="isolevel"):
        ops.marching_cubes(torch.rand(2, 3, 3, 3), torch.zeros(3))
    with pytest.raises(RuntimeError, match="vol_batch"):
        ops.marching_cubes(torch.rand(3, 3, 3), torch.zeros(3))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_all_float_dtypes(device, dtype):
    """Values exact in every dtype give the float64 result (half types compute in float32)."""
    g = torch.Generator().manual_seed(1)
    vol = (torch.randint(0, 8, (2, 7, 6, 8), generator=g) / 4.0).double()
    want_v, want_f = marching_cubes(vol, 0.9, return_local_coords=False)
    got_v, got_f = marching_cubes(vol.to(dtype).to(device), 0.9, return_local_coords=False)
    acc = torch.float64 if dtype == torch.float64 else torch.float32
    for gv, gf, wv, wf in zip(got_v, got_f, want_v, want_f):
        assert gv.dtype == acc and gf.dtype == torch.int64
        torch.testing.assert_close(gv.double(), wv.to(gv.device), rtol=0, atol=1e-6)
        assert torch.equal(gf, wf.to(gf.device))


def test_not_differentiable():
    vol = _sphere()[None].float().requires_grad_(True)
    verts, _ = marching_cubes(vol, 0.0)
    assert not verts[0].requires_grad


# ---------------------------------------------------------------------------------------------- the table


def test_generated_header_is_current():
    spec = importlib.util.spec_from_file_location("gen_mc", ROOT / "tools" / "gen_marching_cubes_tables.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.HEADER.read_text() == gen.render(), "run python tools/gen_marching_cubes_tables.py"


def test_case_table_is_closed_and_consistent():
    """Every case's triangles use each crossed edge, form closed loops, and the complementary case is the same
    surface reversed wherever no face is ambiguous."""
    from meshgraph.ops.reference.marching_cubes import EDGE_CORNERS, FACES, case_table

    table = case_table()
    assert len(table) == 256 and table[0] == [] and table[255] == []
    for case, tris in enumerate(table):
        directed = Counter(e for t in tris for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])))
        boundary = [e for e, c in directed.items() if directed[(e[1], e[0])] == 0]
        crossed = {e for e, (a, b) in enumerate(EDGE_CORNERS) if (case >> a & 1) != (case >> b & 1)}
        assert {v for e in boundary for v in e} == crossed
        ambiguous = any(
            [case >> c & 1 for c in r][0] == [case >> c & 1 for c in r][2]
            and [case >> c & 1 for c in r][1] == [case >> c & 1 for c in r][3]
            and [case >> c & 1 for c in r][0] != [case >> c & 1 for c in r][1]
            for r in FACES
        )
        if not ambiguous:
            mine = {frozenset(e) for e in boundary}
            other = Counter(e for t in table[255 - case] for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])))
            theirs = {frozenset(e) for e, c in other.items() if other[(e[1], e[0])] == 0}
            assert mine == theirs, case


# ---------------------------------------------------------------------------------------------- torch.library


def test_opcheck(device):
    vol = torch.stack([_sphere(10, c=4.3, r=3.0), _random((8, 8, 8), 2)]).float().to(device)
    iso = torch.tensor([0.0, 0.5], device=device)
    torch.library.opcheck(ops.marching_cubes, (vol, iso), test_utils=("test_schema", "test_faketensor"))


def test_fake_kernel_shapes():
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    with FakeTensorMode(shape_env=ShapeEnv()):
        v, f, vpv, fpv = ops.marching_cubes(torch.empty(2, 5, 6, 7, dtype=torch.float16), torch.empty(2))
    assert v.dtype == torch.float32 and v.shape[1] == 3 and f.dtype == torch.int64 and f.shape[1] == 3
    assert tuple(vpv.shape) == (2,) and tuple(fpv.shape) == (2,)


def test_compile(device):
    vol = _torus()[None].float().to(device)

    def fn(v):
        verts, faces = marching_cubes(v * 2.0, 0.0)
        return verts[0] + 1.0, faces[0]

    want = fn(vol)
    got = torch.compile(fn)(vol)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
