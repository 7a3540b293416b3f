"""Deterministic paths of the backward kernels that add with float atomicAdd on CUDA (csrc/common/determinism.h).

With torch.use_deterministic_algorithms(True) those ops sum their contributions with ATen's index_put_(accumulate=True)
instead of atomics. MESHGRAPH_DEVICE_PATH=1 makes CPU tensors take that path too, so on the CPU it is checked here
against the default CPU kernels (deterministic by construction); on CUDA the deterministic path must also give
bit-identical results run to run and agree with the atomic path.
"""

import pytest
import torch

import meshgraph  # noqa: F401  (loads the operator library)

ops = torch.ops.meshgraph
CUDA = torch.cuda.is_available() and torch._C._dispatch_has_kernel_for_dispatch_key("meshgraph::gather_scatter", "CUDA")
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])


class deterministic_mode:
    """torch.use_deterministic_algorithms(True) (and MESHGRAPH_DEVICE_PATH=1) inside the block."""

    def __init__(self, monkeypatch, on=True):
        self.monkeypatch, self.on = monkeypatch, on

    def __enter__(self):
        self.prev = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
        if self.on:
            self.monkeypatch.setenv("MESHGRAPH_DEVICE_PATH", "1")
        else:
            self.monkeypatch.delenv("MESHGRAPH_DEVICE_PATH", raising=False)
        torch.use_deterministic_algorithms(self.on)

    def __exit__(self, *exc):
        torch.use_deterministic_algorithms(self.prev[0], warn_only=self.prev[1])
        self.monkeypatch.delenv("MESHGRAPH_DEVICE_PATH", raising=False)


def both_paths(monkeypatch, fn):
    with deterministic_mode(monkeypatch, on=False):
        default = fn()
    with deterministic_mode(monkeypatch, on=True):
        det = fn()
        again = fn()
    return default, det, again


def tol(dtype):
    return dict(rtol=1e-12, atol=1e-12) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)


def slots(device, N=2, H=6, W=5, K=3, P=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(-1, P, (N, H, W, K), generator=g)
    idx[0, 0, 0] = torch.tensor([P + 3, -7, 2])  # out-of-range slots are skipped by every path
    return idx.to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rasterize_points_backward_deterministic_path_matches(monkeypatch, device, dtype):
    g = torch.Generator().manual_seed(1)
    P = 7
    points = (torch.rand(P, 3, generator=g, dtype=dtype) * 2 - 1).to(device)
    idx = slots(device, P=P)
    gz = torch.randn(idx.shape, generator=g, dtype=dtype).to(device)
    gd = torch.randn(idx.shape, generator=g, dtype=dtype).to(device)
    default, det, again = both_paths(monkeypatch, lambda: ops.rasterize_points_backward(points, idx, gz, gd))
    torch.testing.assert_close(det, default, **tol(dtype))
    assert torch.equal(det, again)
    assert default.abs().sum() > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["alpha", "norm_weighted", "weighted_sum"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_composite_points_backward_deterministic_path_matches(monkeypatch, device, mode, dtype):
    g = torch.Generator().manual_seed(2)
    P, C = 7, 4
    feats = torch.randn(P, C, generator=g, dtype=dtype).to(device)
    idx = slots(device, P=P)
    alphas = torch.rand(idx.shape, generator=g, dtype=dtype).to(device)
    grad = torch.randn(idx.shape[0], C, idx.shape[1], idx.shape[2], generator=g, dtype=dtype).to(device)
    default, det, again = both_paths(monkeypatch, lambda: ops.composite_points_backward(grad, feats, alphas, idx, mode))
    for d, a, r in zip(default, det, again):
        torch.testing.assert_close(a, d, **tol(dtype))
        assert torch.equal(a, r)
    assert default[0].abs().sum() > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("with_faces", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_interpolate_backward_deterministic_path_matches(monkeypatch, device, with_faces, dtype):
    g = torch.Generator().manual_seed(3)
    F, V, D = 5, 6, 3
    p2f = torch.randint(-1, F, (2, 4, 4, 2), generator=g).to(device)
    bary = torch.rand(*p2f.shape, 3, generator=g, dtype=dtype).to(device)
    faces = torch.randint(0, V, (F, 3), generator=g).to(device) if with_faces else None
    values = torch.randn(*((V, D) if with_faces else (F, 3, D)), generator=g, dtype=dtype).to(device)
    grad = torch.randn(*p2f.shape, D, generator=g, dtype=dtype).to(device)
    default, det, again = both_paths(
        monkeypatch, lambda: ops.interpolate_face_attributes_backward(grad, p2f, bary, values, faces))
    for d, a, r in zip(default, det, again):
        torch.testing.assert_close(a, d, **tol(dtype))
        assert torch.equal(a, r)
    assert default[1].abs().sum() > 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("persp,clip", [(False, False), (True, True)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rasterize_meshes_backward_deterministic_path_matches(monkeypatch, device, persp, clip, dtype):
    g = torch.Generator().manual_seed(4)
    F = 12
    fv = torch.rand(F, 3, 3, generator=g, dtype=dtype) * 2 - 1
    fv[..., 2] = fv[..., 2].abs() + 0.5
    fv = fv.to(device)
    size = torch.tensor([7, 5], device=device)
    p2f = ops.rasterize_meshes(fv, size.cumsum(0) - size, size, 9, 8, 0.05, 3, 0, persp, clip, False)[0]
    p2f[0, 0, 0] = torch.tensor([F + 3, -7, 2], device=device)  # out-of-range slots are skipped by every path
    gz, gd = (torch.randn(p2f.shape, generator=g, dtype=dtype).to(device) for _ in range(2))
    gb = torch.randn(*p2f.shape, 3, generator=g, dtype=dtype).to(device)
    default, det, again = both_paths(
        monkeypatch, lambda: ops.rasterize_meshes_backward(fv, p2f, gz, gb, gd, persp, clip))
    torch.testing.assert_close(det, default, **tol(dtype))
    assert torch.equal(det, again)
    assert (p2f >= 0).sum() > 20 and default.abs().sum() > 0


def test_cpu_kernels_ignore_the_mode_without_the_device_path(monkeypatch):
    """Deterministic mode alone keeps the CPU kernels (already deterministic): no error, no warning, same result."""
    points = torch.rand(7, 3, dtype=torch.float64)
    idx = slots("cpu")
    gz, gd = torch.ones(idx.shape, dtype=torch.float64), torch.ones(idx.shape, dtype=torch.float64)
    ref = ops.rasterize_points_backward(points, idx, gz, gd)
    prev = torch.are_deterministic_algorithms_enabled()
    monkeypatch.delenv("MESHGRAPH_DEVICE_PATH", raising=False)
    torch.use_deterministic_algorithms(True)
    try:
        assert torch.equal(ops.rasterize_points_backward(points, idx, gz, gd), ref)
    finally:
        torch.use_deterministic_algorithms(prev)


@pytest.mark.parametrize("device", DEVICES)
def test_deterministic_mode_takes_the_aten_reduction(monkeypatch, device):
    """The deterministic path is really taken (index_put_ runs), and only in deterministic mode."""
    from torch.profiler import profile

    idx = slots(device)
    points = torch.rand(7, 3, device=device)
    gz = gd = torch.ones(idx.shape, device=device)
    feats, alphas = torch.rand(7, 4, device=device), torch.rand(idx.shape, device=device)
    grad = torch.ones(idx.shape[0], 4, idx.shape[1], idx.shape[2], device=device)
    p2f = idx[..., 0].clamp_max(1)
    bary, values = torch.rand(*p2f.shape, 3, device=device), torch.rand(4, 2, device=device)
    faces = torch.tensor([[0, 1, 2], [1, 2, 3]], device=device)
    fv = torch.rand(2, 3, 3, device=device) + 0.5
    calls = {
        "rasterize_points_backward": lambda: ops.rasterize_points_backward(points, idx, gz, gd),
        "composite_points_backward": lambda: ops.composite_points_backward(grad, feats, alphas, idx, "alpha"),
        "interpolate_face_attributes_backward": lambda: ops.interpolate_face_attributes_backward(
            torch.ones(*p2f.shape, 2, device=device), p2f, bary, values, faces),
        "rasterize_meshes_backward": lambda: ops.rasterize_meshes_backward(
            fv, idx.clamp_max(1), gz, torch.ones(*idx.shape, 3, device=device), gd, True, False),
    }
    for name, call in calls.items():
        for on in (False, True):
            with deterministic_mode(monkeypatch, on=on), profile() as prof:
                call()
            used = any(e.name == "aten::index_put_" for e in prof.events())
            assert used == on, f"{name}: deterministic={on} but index_put_ {'not ' if on else ''}used"


# --- textures (issue 14)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sample_textures_uv_backward_deterministic_path_matches(monkeypatch, device, mode, dtype):
    """The ATen reductions (index_put_) give the CPU kernels' grad_verts_uvs and grad_maps, run to run the same."""
    from torch.profiler import profile

    g = torch.Generator().manual_seed(5)
    F, V = 6, 8
    p2f = torch.randint(-1, F, (2, 5, 4, 3), generator=g)
    p2f[0, 0, 0] = torch.tensor([F + 3, -7, 2])  # out-of-range slots are empty in every path
    p2f = p2f.to(device)
    bary = torch.rand(*p2f.shape, 3, generator=g, dtype=dtype).to(device)
    faces_uvs = torch.randint(0, V, (F, 3), generator=g).to(device)
    verts_uvs = (torch.rand(V, 2, generator=g, dtype=dtype) * 1.4 - 0.2).to(device)
    maps = torch.rand(2, 6, 7, 3, generator=g, dtype=dtype).to(device)
    grad = torch.randn(*p2f.shape, 3, generator=g, dtype=dtype).to(device)
    default, det, again = both_paths(monkeypatch, lambda: ops.sample_textures_uv_backward(
        grad, p2f, bary, faces_uvs, verts_uvs, maps, mode, "zeros", False))
    for d, a, r in zip(default, det, again):
        torch.testing.assert_close(a, d, **tol(dtype))
        assert torch.equal(a, r)
    assert default[2].abs().sum() > 0 and (mode == "nearest" or default[1].abs().sum() > 0)
    with deterministic_mode(monkeypatch, on=True), profile() as prof:
        ops.sample_textures_uv_backward(grad, p2f, bary, faces_uvs, verts_uvs, maps, mode, "zeros", False)
    assert any(e.name == "aten::index_put_" for e in prof.events())
# --- end textures
