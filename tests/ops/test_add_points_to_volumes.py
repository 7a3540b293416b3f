"""add_points_to_volumes / add_points_to_volumes_backward (PyTorch3D's points_to_volumes): kernels vs the
reference for both modes, both corner conventions, heterogeneous grid sizes and masks; PyTorch3D's single-voxel
cases; gradients (gradcheck float64, double backward), opcheck, the four float dtypes, determinism (thread counts,
the index_put_ path) and bad input (empty volumes and clouds, NaN, wrong shapes, dtypes, modes)."""

import pytest
import torch

import meshgraph  # noqa: F401  (loads the operator library)
from meshgraph.ops import reference as ref
from meshgraph.ops.add_points_to_volumes import (
    add_points_features_to_volume_densities_features,
    add_points_to_volumes,
)

ops = torch.ops.meshgraph
MODES = ["trilinear", "nearest"]


def _inputs(device, dtype=torch.float64, N=3, P=50, C=4, D=5, H=6, W=7, seed=0, spread=1.3):
    g = torch.Generator().manual_seed(seed)
    pts = ((torch.rand(N, P, 3, generator=g, dtype=torch.float64) * 2 - 1) * spread).to(dtype).to(device)
    feats = torch.randn(N, P, C, generator=g, dtype=torch.float64).to(dtype).to(device)
    dens = torch.rand(N, 1, D, H, W, generator=g, dtype=torch.float64).to(dtype).to(device)
    vfeat = torch.randn(N, C, D, H, W, generator=g, dtype=torch.float64).to(dtype).to(device)
    sizes = torch.tensor([[D, H, W], [D - 2, H, W - 3], [1, H - 1, 2]][:N], device=device)
    mask = (torch.rand(N, P, generator=g) > 0.2).to(dtype).to(device)
    return pts, feats, dens, vfeat, sizes, mask


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("align_corners", [True, False])
def test_forward_and_backward_match_the_reference(device, mode, align_corners):
    pts, feats, dens, vfeat, sizes, mask = _inputs(device)
    got = ops.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.7, align_corners, mode)
    want = ref.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.7, align_corners, mode)
    for x, y in zip(got, want):
        torch.testing.assert_close(x, y)
    assert not torch.equal(got[0], dens), "no vote landed"
    g = torch.Generator().manual_seed(3)
    gd = torch.randn(dens.shape, generator=g, dtype=dens.dtype).to(device)
    gf = torch.randn(vfeat.shape, generator=g, dtype=dens.dtype).to(device)
    got = ops.add_points_to_volumes_backward(gd, gf, pts, feats, sizes, mask, 1.7, align_corners, mode)
    want = ref.add_points_to_volumes_backward(gd, gf, pts, feats, sizes, mask, 1.7, align_corners, mode)
    for x, y in zip(got, want):
        torch.testing.assert_close(x, y)
    if mode == "nearest":
        assert not got[0].any()
    else:
        assert got[0].abs().sum() > 0


def test_votes_outside_the_element_grid_are_dropped_and_the_padding_stays():
    """Element 1's grid is (3, 6, 4) inside the padded (5, 6, 7): nothing lands beyond it."""
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu", spread=1.5)
    zeros = torch.zeros_like(dens), torch.zeros_like(vfeat)
    d, f = ops.add_points_to_volumes(pts, feats, *zeros, sizes, torch.ones_like(mask), 1.0, True, "trilinear")
    assert d[1, :, 3:].abs().sum() == 0 and d[1, :, :, :, 4:].abs().sum() == 0
    assert f[1, :, 3:].abs().sum() == 0
    assert d[1, :, :3, :, :4].sum() > 0


@pytest.mark.parametrize("splat", [True, False])
@pytest.mark.parametrize("align_corners", [True, False])
def test_a_single_point_lands_in_pytorch3ds_voxel(device, splat, align_corners):
    """PyTorch3D's tests/test_points_to_volumes.py single_point case: the point sits on one voxel centre."""
    D, H, W = (6, 6, 11) if align_corners else (5, 5, 10)
    xyz = [[[-0.2, 0.2, -0.2]]] if align_corners else [[[-0.3, 0.4, -0.4]]]
    pts = torch.tensor(xyz, device=device)
    d, f = add_points_to_volumes(pts, torch.ones(1, 1, 1, device=device), torch.zeros(1, 1, D, H, W, device=device),
                                 None, point_weight=19.0, align_corners=align_corners,
                                 mode="trilinear" if splat else "nearest")
    expect = torch.zeros(1, 1, D, H, W, device=device)
    expect[(0, 0, 2, 3, 4) if align_corners else (0, 0, 1, 3, 3)] = 19.0
    torch.testing.assert_close(d, expect)
    torch.testing.assert_close(f, expect)


def test_trilinear_weights_split_one_point_and_sum_to_one():
    pts = torch.tensor([[[-1 + 0.25 * 2 / 3, 0.0, 1.0]]], dtype=torch.float64)  # x between voxels 0 and 1 of 4
    d, _ = add_points_to_volumes(pts, torch.ones(1, 1, 1, dtype=torch.float64),
                                 torch.zeros(1, 1, 3, 3, 4, dtype=torch.float64))
    assert torch.isclose(d.sum(), torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(d[0, 0, 2, 1, :2], torch.tensor([0.75, 0.25], dtype=torch.float64))


def test_pytorch3d_call_rescales_and_matches_its_python_path():
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu", dtype=torch.float32)
    for mode in MODES:
        a = add_points_features_to_volume_densities_features(pts, feats, dens, vfeat, mode, 1e-4, mask, sizes)
        b = add_points_features_to_volume_densities_features(pts, feats, dens, vfeat, mode, 1e-4, mask, sizes,
                                                             _python=True)
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y)
        d = ops.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.0, True, mode)
        torch.testing.assert_close(a[0], d[1] / d[0].clamp(1e-4 if mode == "trilinear" else 1.0))
    # volume_features=None means zeros; the inputs are never modified
    before = dens.clone()
    f, d = add_points_features_to_volume_densities_features(pts, feats, dens, None, rescale_features=False)
    assert torch.equal(dens, before)
    torch.testing.assert_close(f, ops.add_points_to_volumes(pts, feats, dens, torch.zeros_like(vfeat),
                                                            torch.tensor([[5, 6, 7]] * 3), torch.ones_like(mask),
                                                            1.0, True, "trilinear")[1])


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_float64(mode):
    """Points (trilinear) and features by finite differences, first and second order; the initial volumes' gradient
    is the output gradient itself (checked exactly, a finite-difference check of an identity costs one pass per
    voxel)."""
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu", N=2, P=4, C=2, D=3, H=3, W=4, spread=0.9)
    dens, vfeat = dens[..., :2, :2, :2], vfeat[..., :2, :2, :2]  # small volumes: gradgradcheck perturbs every voxel
    sizes = torch.tensor([[2, 2, 2], [1, 2, 2]])
    p = pts.clone().requires_grad_(mode == "trilinear")
    f = feats.clone().requires_grad_(True)

    def fn(*args):
        pp, ff = (args[0], args[1]) if mode == "trilinear" else (p, args[0])
        return add_points_to_volumes(pp, ff, dens, vfeat, sizes, mask, 1.3, False, mode)

    args = (p, f) if mode == "trilinear" else (f,)
    assert torch.autograd.gradcheck(fn, args)
    assert torch.autograd.gradgradcheck(fn, args)
    d0, v0 = dens.clone().requires_grad_(True), vfeat.clone().requires_grad_(True)
    d, v = add_points_to_volumes(p, f, d0, v0, sizes, mask, 1.3, False, mode)
    gd, gv = torch.randn_like(d), torch.randn_like(v)
    torch.autograd.backward((d, v), (gd, gv))
    assert torch.equal(d0.grad, gd) and torch.equal(v0.grad, gv)


def test_nearest_gives_no_gradient_to_the_points():
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu")
    p = pts.clone().requires_grad_(True)
    f = feats.clone().requires_grad_(True)
    d, v = add_points_to_volumes(p, f, dens, vfeat, sizes, mask, mode="nearest")
    (d.sum() + v.sum()).backward()
    assert p.grad is None and f.grad is not None


@pytest.mark.parametrize("mode", MODES)
def test_opcheck(mode):
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu", dtype=torch.float32, N=2, P=9)
    args = (pts.requires_grad_(mode == "trilinear"), feats.requires_grad_(True), dens.requires_grad_(True),
            vfeat.requires_grad_(True), sizes, mask, 2.0, True, mode)
    torch.library.opcheck(ops.add_points_to_volumes, args)
    gd, gf = torch.rand_like(dens), torch.rand_like(vfeat)
    torch.library.opcheck(ops.add_points_to_volumes_backward, (gd, gf, pts.detach(), feats.detach(), sizes, mask,
                                                               2.0, True, mode))


TOL = {torch.float16: 4e-3, torch.bfloat16: 3e-2, torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", list(TOL))
def test_every_float_dtype_against_the_float64_reference(device, mode, dtype):
    """Inputs rounded to the dtype; the kernels sum in float32 (float64). Votes whose corner decision flips when the
    coordinates are evaluated in float32 instead of float64 are avoided by using points away from voxel faces."""
    pts, feats, dens, vfeat, sizes, mask = _inputs(device, P=200)
    # points on the (W=7, H=6, D=5) lattice plus a quarter voxel: corner choices are exact in every dtype
    pts = (torch.randint(0, 4, pts.shape, generator=torch.Generator().manual_seed(5)).to(device) + 0.25) / 4 - 0.5
    ins = [t.to(dtype) for t in (pts, feats, dens, vfeat)]
    got = ops.add_points_to_volumes(*ins, sizes, mask.to(dtype), 1.0, True, mode)
    want = ref.add_points_to_volumes(*[t.double() for t in ins], sizes, mask, 1.0, True, mode)
    for x, y in zip(got, want):
        assert x.dtype == dtype
        scale = y.abs().max().item()
        torch.testing.assert_close(x.double(), y, rtol=0, atol=TOL[dtype] * scale * 4)
    g = torch.Generator().manual_seed(2)
    gd = torch.randn(dens.shape, generator=g).to(dtype).to(device)
    gf = torch.randn(vfeat.shape, generator=g).to(dtype).to(device)
    got = ops.add_points_to_volumes_backward(gd, gf, ins[0], ins[1], sizes, mask.to(dtype), 1.0, True, mode)
    want = ref.add_points_to_volumes_backward(gd.double(), gf.double(), ins[0].double(), ins[1].double(), sizes,
                                              mask.double(), 1.0, True, mode)
    for x, y in zip(got, want):
        assert x.dtype == dtype
        torch.testing.assert_close(x.double(), y, rtol=0, atol=TOL[dtype] * max(y.abs().max().item(), 1.0) * 8)


def test_cpu_forward_is_bitwise_deterministic_across_thread_counts():
    """Each voxel sums its votes in point order whatever the (element, slab) split: 1, 2 and 3 threads agree."""
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu", dtype=torch.float32, N=1, P=3000, C=5, D=9, H=8, W=7)
    sizes = sizes[:1]
    prev = torch.get_num_threads()
    outs = []
    try:
        for t in (1, 2, 3):
            torch.set_num_threads(t)
            outs.append(ops.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.0, True, "trilinear"))
    finally:
        torch.set_num_threads(prev)
    for o in outs[1:]:
        assert torch.equal(o[0], outs[0][0]) and torch.equal(o[1], outs[0][1])


@pytest.mark.parametrize("mode", MODES)
def test_deterministic_index_put_path_matches_the_kernel(monkeypatch, mode):
    """MESHGRAPH_DEVICE_PATH=1 + deterministic algorithms: the CUDA side's ATen reduction, on CPU tensors."""
    from torch.profiler import profile

    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu", spread=1.6)
    pts[0, 0] = float("nan")
    mask[0, 1] = 1
    feats[0, 2] = float("nan")
    mask[0, 2] = 0  # a skipped point's NaN features stay out in both paths
    default = ops.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.5, False, mode)
    prev = torch.are_deterministic_algorithms_enabled()
    monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
    torch.use_deterministic_algorithms(True)
    try:
        with profile() as prof:
            det = ops.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.5, False, mode)
    finally:
        torch.use_deterministic_algorithms(prev)
    assert any(e.name == "aten::index_put_" for e in prof.events())
    for x, y in zip(det, default):
        assert torch.isfinite(x).all()
        torch.testing.assert_close(x, y)


def test_empty_inputs_give_the_initial_volumes():
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu")
    d, f = add_points_to_volumes(pts[:, :0], feats[:, :0], dens, vfeat, sizes, mask[:, :0])
    assert torch.equal(d, dens) and torch.equal(f, vfeat)
    d, f = add_points_to_volumes(pts[:0], feats[:0], dens[:0], vfeat[:0], sizes[:0], mask[:0])
    assert d.shape == (0, 1, 5, 6, 7) and f.shape == (0, 4, 5, 6, 7)
    empty = torch.zeros(3, 1, 0, 6, 7, dtype=pts.dtype)
    d, f = add_points_to_volumes(pts, feats, empty, None)  # an empty volume: nothing to add to
    assert d.shape == empty.shape and f.shape == (3, 4, 0, 6, 7)
    p = pts.clone().requires_grad_(True)
    d, f = add_points_to_volumes(p, feats, empty, None)
    assert f.sum().backward() is None and torch.equal(p.grad, torch.zeros_like(p))
    d, f = add_points_to_volumes(pts, feats[..., :0], dens, None)  # no features: only densities
    assert f.shape == (3, 0, 5, 6, 7) and d.sum() > dens.sum()


def test_nan_and_infinite_points_are_dropped_nan_features_propagate():
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu")
    mask.fill_(1)
    clean = ops.add_points_to_volumes(pts[:, 2:], feats[:, 2:], dens, vfeat, sizes, mask[:, 2:], 1.0, True,
                                      "trilinear")
    pts[:, 0] = float("nan")
    pts[:, 1, 0] = float("inf")
    got = ops.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.0, True, "trilinear")
    for x, y in zip(got, clean):
        torch.testing.assert_close(x, y)
    gd = ops.add_points_to_volumes_backward(torch.ones_like(dens), torch.ones_like(vfeat), pts, feats, sizes, mask,
                                            1.0, True, "trilinear")
    assert torch.isfinite(gd[0]).all() and not gd[0][:, :2].any()
    feats[0, 5] = float("nan")
    d, f = ops.add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask, 1.0, True, "trilinear")
    assert torch.isfinite(d).all() and f.isnan().any()


def test_bad_input_names_the_argument():
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu")
    with pytest.raises(ValueError, match="points_3d"):
        add_points_to_volumes(pts[..., :2], feats, dens, vfeat)
    with pytest.raises(ValueError, match="points_features"):
        add_points_to_volumes(pts, feats[:, :3], dens, vfeat)
    with pytest.raises(ValueError, match="one-dimensional densities"):
        add_points_to_volumes(pts, feats, torch.cat([dens, dens], 1), vfeat)
    with pytest.raises(ValueError, match="volume_features"):
        add_points_to_volumes(pts, feats, dens, vfeat[:, :2])
    with pytest.raises(ValueError, match="grid_sizes"):
        add_points_to_volumes(pts, feats, dens, vfeat, sizes + 5)
    with pytest.raises(ValueError, match="grid_sizes"):
        add_points_to_volumes(pts, feats, dens, vfeat, sizes[:, :2])
    with pytest.raises(ValueError, match="mask"):
        add_points_to_volumes(pts, feats, dens, vfeat, sizes, mask[:, :3])
    with pytest.raises(TypeError, match="points_3d"):
        add_points_to_volumes(pts.long(), feats, dens, vfeat)
    with pytest.raises(ValueError, match="interpolation mode"):
        add_points_to_volumes(pts, feats, dens, vfeat, mode="bilinear")
    with pytest.raises(ValueError, match="interpolation mode"):
        add_points_features_to_volume_densities_features(pts, feats, dens, vfeat, mode="cubic")


def test_raw_ops_check_every_tensor():
    pts, feats, dens, vfeat, sizes, mask = _inputs("cpu")
    call = ops.add_points_to_volumes
    with pytest.raises(RuntimeError, match="dtype of points_3d"):
        call(pts, feats, dens.float(), vfeat, sizes, mask, 1.0, True, "trilinear")
    with pytest.raises(RuntimeError, match="points_features must be"):
        call(pts, feats[:, :2], dens, vfeat, sizes, mask, 1.0, True, "trilinear")
    with pytest.raises(RuntimeError, match="grid_sizes must be Long"):
        call(pts, feats, dens, vfeat, sizes.int(), mask, 1.0, True, "trilinear")
    with pytest.raises(RuntimeError, match="must lie within"):
        call(pts, feats, dens, vfeat, sizes + 1, mask, 1.0, True, "trilinear")
    with pytest.raises(RuntimeError, match="mask must have shape"):
        call(pts, feats, dens, vfeat, sizes, mask[:, 1:], 1.0, True, "trilinear")
    with pytest.raises(RuntimeError, match="mode must be"):
        call(pts, feats, dens, vfeat, sizes, mask, 1.0, True, "linear")
    with pytest.raises(RuntimeError, match="volume_features must be"):
        call(pts, feats, dens, vfeat[..., 1:], sizes, mask, 1.0, True, "trilinear")
    with pytest.raises(RuntimeError, match="grad_densities must be"):
        ops.add_points_to_volumes_backward(dens[:, :, 1:][:, :0], vfeat, pts, feats, sizes, mask, 1.0, True, "nearest")
