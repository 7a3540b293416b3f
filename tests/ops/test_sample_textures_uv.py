"""sample_textures_uv / sample_textures_uv_backward: vs the reference and vs the two-step path it replaces
(interpolate the UVs, then grid_sample), every mode, empty slots, gradients incl. second order, every float dtype,
opcheck, compile, bad input."""

import pytest
import torch
import torch.nn.functional as F

from meshgraph.ops import reference as ref
from meshgraph.ops.interpolate_face_attributes import interpolate_vertex_features
from meshgraph.ops.sample_textures_uv import sample_textures_uv

ops = torch.ops.meshgraph
MODES = [(m, p, a) for m in ("bilinear", "nearest") for p in ("zeros", "border", "reflection") for a in (True, False)]


def _inputs(device, dtype=torch.float32, N=2, H=5, W=4, K=3, F_=9, V=11, Hm=7, Wm=6, C=3, seed=0, spread=1.6):
    """UVs spread beyond [0, 1] (spread > 1) so every padding rule is exercised; about 1 slot in 5 empty."""
    g = torch.Generator().manual_seed(seed)
    p2f = torch.randint(0, F_, (N, H, W, K), generator=g)
    p2f[torch.rand(p2f.shape, generator=g) < 0.2] = -1
    bary = torch.rand(N, H, W, K, 3, generator=g, dtype=torch.float64)
    bary = bary / bary.sum(-1, keepdim=True)
    faces_uvs = torch.randint(0, V, (F_, 3), generator=g)
    verts_uvs = (torch.rand(V, 2, generator=g, dtype=torch.float64) - 0.5) * spread + 0.5
    maps = torch.rand(N, Hm, Wm, C, generator=g, dtype=torch.float64)
    return (p2f.to(device), bary.to(dtype).to(device), faces_uvs.to(device), verts_uvs.to(dtype).to(device),
            maps.to(dtype).to(device))


def _two_step(p2f, bary, faces_uvs, verts_uvs, maps, mode, padding, align):
    """What TexturesUV.sample_textures did before the fused op: UVs per slot, then grid_sample."""
    N, H, W, K = p2f.shape
    uv = interpolate_vertex_features(p2f, bary, faces_uvs, verts_uvs).to(maps.dtype)
    grid = torch.lerp(uv.new_tensor([-1.0, 1.0]), uv.new_tensor([1.0, -1.0]), uv).reshape(N, H, W * K, 2)
    out = F.grid_sample(maps.permute(0, 3, 1, 2), grid, mode=mode, padding_mode=padding, align_corners=align)
    return out.reshape(N, -1, H, W, K).permute(0, 2, 3, 4, 1)


@pytest.mark.parametrize("mode,padding,align", MODES)
def test_matches_reference_and_two_step_path(device, mode, padding, align):
    p2f, bary, fu, vu, maps = _inputs(device, torch.float64)
    out = sample_textures_uv(p2f, bary, fu, vu, maps, sampling_mode=mode, padding_mode=padding, align_corners=align)
    torch.testing.assert_close(out, ref.sample_textures_uv(p2f, bary, fu, vu, maps, mode, padding, align),
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out, _two_step(p2f, bary, fu, vu, maps, mode, padding, align), rtol=1e-12, atol=1e-12)
    assert (p2f < 0).any() and out.abs().sum() > 0


@pytest.mark.parametrize("mode,padding,align", MODES)
def test_backward_matches_reference_and_grid_sample_gradients(device, mode, padding, align):
    p2f, bary, fu, vu, maps = _inputs(device, torch.float64, seed=1)
    g = torch.randn(*p2f.shape, maps.shape[-1], dtype=torch.float64, device=device)
    got = ops.sample_textures_uv_backward(g, p2f, bary, fu, vu, maps, mode, padding, align)
    for a, b in zip(got, ref.sample_textures_uv_backward(g, p2f, bary, fu, vu, maps, mode, padding, align)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    b_, v_, m_ = (t.clone().requires_grad_(True) for t in (bary, vu, maps))
    two = torch.autograd.grad(_two_step(p2f, b_, fu, v_, m_, mode, padding, align), (b_, v_, m_), g, allow_unused=True)
    for a, b in zip(got, two):
        torch.testing.assert_close(a, torch.zeros_like(a) if b is None else b, rtol=1e-10, atol=1e-10)
    assert got[2].abs().sum() > 0
    if mode == "bilinear":
        assert got[0].abs().sum() > 0 and got[1].abs().sum() > 0
    else:  # nearest: piecewise constant in the UVs
        assert got[0].abs().sum() == 0 and got[1].abs().sum() == 0


def test_empty_slots_read_uv_origin_and_pass_no_uv_gradient(device):
    p2f, bary, fu, vu, maps = _inputs(device, torch.float64)
    p2f = torch.full_like(p2f, -1)
    out = sample_textures_uv(p2f, bary, fu, vu, maps)  # border, align_corners: UV (0, 0) is the bottom-left texel
    torch.testing.assert_close(out, maps[:, -1, 0][:, None, None, None].expand_as(out))
    g = torch.ones(*p2f.shape, maps.shape[-1], dtype=torch.float64, device=device)
    gb, gv, gm = ops.sample_textures_uv_backward(g, p2f, bary, fu, vu, maps, "bilinear", "border", True)
    assert gb.abs().sum() == 0 and gv.abs().sum() == 0
    assert torch.allclose(gm[:, -1, 0].sum(), torch.tensor(float(g[..., 0].numel() * 3), dtype=torch.float64, device=device))


def test_empty_and_degenerate_sizes(device):
    p2f, bary, fu, vu, maps = _inputs(device, torch.float32, H=0)
    assert sample_textures_uv(p2f, bary, fu, vu, maps).shape == (2, 0, 4, 3, 3)
    gb, gv, gm = ops.sample_textures_uv_backward(torch.zeros(2, 0, 4, 3, 3, device=device), p2f, bary, fu, vu, maps,
                                                 "bilinear", "border", True)
    assert gb.shape == bary.shape and gv.abs().sum() == 0 and gm.abs().sum() == 0
    p2f, bary, fu, vu, maps = _inputs(device, torch.float64, Hm=1, Wm=1)  # a 1 x 1 map: every rule reads its texel
    for mode, padding, align in MODES:
        out = sample_textures_uv(p2f, bary, fu, vu, maps, sampling_mode=mode, padding_mode=padding, align_corners=align)
        torch.testing.assert_close(out, _two_step(p2f, bary, fu, vu, maps, mode, padding, align))


TOL = {torch.float16: 4e-3, torch.bfloat16: 3e-2, torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.mark.parametrize("dtype", list(TOL))
def test_every_float_dtype_against_the_float64_reference(device, dtype):
    """Forward and backward in every float dtype (sums in float32 or float64) against the float64 definition on
    the same rounded inputs; UVs kept inside the map (a rounding of the UV then moves a bilinear read only a
    little)."""
    p2f, bary, fu, vu, maps = _inputs(device, torch.float64, spread=0.9)
    bary, vu, maps = bary.to(dtype), vu.to(dtype), maps.to(dtype)
    g = torch.randn(*p2f.shape, maps.shape[-1], generator=torch.Generator().manual_seed(2)).to(dtype).to(device)
    out = ops.sample_textures_uv(p2f, bary, fu, vu, maps, "bilinear", "border", True)
    got = ops.sample_textures_uv_backward(g, p2f, bary, fu, vu, maps, "bilinear", "border", True)
    expect = ref.sample_textures_uv(p2f, bary.double(), fu, vu.double(), maps.double(), "bilinear", "border", True)
    egrads = ref.sample_textures_uv_backward(g.double(), p2f, bary.double(), fu, vu.double(), maps.double(),
                                             "bilinear", "border", True)
    # the kernel rounds the slot UV to the dtype (as the two-step path does): the UV gradients see that rounding
    scale = {torch.float16: 40.0, torch.bfloat16: 40.0}.get(dtype, 1.0)
    for k, (a, e) in enumerate(zip((out, *got), (expect, *egrads))):
        assert a.dtype == dtype
        t = TOL[dtype] * (scale if k in (1, 2) else 1.0)
        torch.testing.assert_close(a.double(), e, rtol=t, atol=t * e.abs().max())


def test_gradcheck_opcheck_compile(device):
    p2f, bary, fu, vu, maps = _inputs(device, torch.float64, N=1, H=2, W=3, K=2, Hm=4, Wm=5, C=2, seed=3, spread=0.8)
    b, v, m = (t.clone().requires_grad_(True) for t in (bary, vu, maps))
    for padding, align in (("border", True), ("zeros", False), ("reflection", True)):
        fn = lambda x, y, z: sample_textures_uv(p2f, x, fu, y, z, padding_mode=padding, align_corners=align)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (b, v, m))
    assert torch.autograd.gradgradcheck(lambda x, y, z: sample_textures_uv(p2f, x, fu, y, z), (b, v, m))
    for mode in ("bilinear", "nearest"):
        torch.library.opcheck(ops.sample_textures_uv, (p2f, bary, fu, vu, maps, mode, "zeros", False))
        g = torch.randn(*p2f.shape, 2, dtype=torch.float64, device=device)
        torch.library.opcheck(ops.sample_textures_uv_backward, (g, p2f, bary, fu, vu, maps, mode, "border", True))
    fn = lambda z, y: sample_textures_uv(p2f, bary, fu, y, z, padding_mode="reflection").sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(maps, vu), fn(maps, vu))
    torch._dynamo.reset()


def test_bad_inputs():
    p2f, bary, fu, vu, maps = _inputs("cpu")
    with pytest.raises(ValueError, match="pix_to_face"):
        sample_textures_uv(p2f + 100, bary, fu, vu, maps)
    with pytest.raises(ValueError, match="pix_to_face"):
        sample_textures_uv(p2f[0], bary[0], fu, vu, maps)
    with pytest.raises(ValueError, match="barycentric_coords"):
        sample_textures_uv(p2f, bary[..., :2], fu, vu, maps)
    with pytest.raises(ValueError, match="faces_uvs"):
        sample_textures_uv(p2f, bary, fu + 100, vu, maps)
    with pytest.raises(ValueError, match="verts_uvs"):
        sample_textures_uv(p2f, bary, fu, vu[:, :1], maps)
    with pytest.raises(ValueError, match="one map per image"):
        sample_textures_uv(p2f, bary, fu, vu, maps[:1])
    with pytest.raises(TypeError, match="maps"):
        sample_textures_uv(p2f, bary, fu, vu, maps.long())
    with pytest.raises(ValueError, match="sampling_mode"):
        sample_textures_uv(p2f, bary, fu, vu, maps, sampling_mode="bicubic")
    with pytest.raises(ValueError, match="padding_mode"):
        sample_textures_uv(p2f, bary, fu, vu, maps, padding_mode="wrap")
    # the raw op checks its arguments in C++ too
    with pytest.raises(RuntimeError, match="mode must be"):
        ops.sample_textures_uv(p2f, bary, fu, vu, maps, "cubic", "zeros", True)
    with pytest.raises(RuntimeError, match="padding_mode must be"):
        ops.sample_textures_uv(p2f, bary, fu, vu, maps, "bilinear", "wrap", True)
    with pytest.raises(RuntimeError, match="faces_uvs must index"):
        ops.sample_textures_uv(p2f, bary, fu + 100, vu, maps, "bilinear", "zeros", True)
    with pytest.raises(RuntimeError, match="same dtype"):
        ops.sample_textures_uv(p2f, bary.double(), fu, vu, maps, "bilinear", "zeros", True)
    with pytest.raises(RuntimeError, match="grad must have"):
        ops.sample_textures_uv_backward(torch.ones(2, 5, 4, 3, 2), p2f, bary, fu, vu, maps, "bilinear", "zeros", True)
    # pix_to_face values outside [0, F) are empty slots in the raw op (never read out of bounds)
    wild = p2f.clone()
    wild[0, 0, 0] = torch.tensor([99, -7, 3])
    out = ops.sample_textures_uv(wild, bary, fu, vu, maps, "bilinear", "zeros", True)
    torch.testing.assert_close(out[0, 0, 0, 0], out[0, 0, 0, 1])
