"""interpolate_face_attributes / interpolate_face_attributes_backward (and interpolate_vertex_features): vs the
reference, both value layouts, gradients incl. second order, opcheck, compile, bad input."""

import pytest
import torch

from meshgraph.ops import reference as ref
from meshgraph.ops.interpolate_face_attributes import interpolate_face_attributes, interpolate_vertex_features


def _slots(device, dtype=torch.float32, F=20, V=15, D=6, shape=(2, 4, 5, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    p2f = torch.randint(-1, F, shape, generator=g).to(device)
    bary = torch.rand(*shape, 3, generator=g, dtype=dtype).to(device)
    faces = torch.randint(0, V, (F, 3), generator=g).to(device)
    feats = torch.randn(V, D, generator=g, dtype=dtype).to(device)
    attrs = torch.randn(F, 3, D, generator=g, dtype=dtype).to(device)
    return p2f, bary, faces, feats, attrs


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_reference(device, dtype):
    p2f, bary, faces, feats, attrs = _slots(device, dtype)
    torch.testing.assert_close(interpolate_face_attributes(p2f, bary, attrs), ref.interpolate_face_attributes(p2f, bary, attrs))
    torch.testing.assert_close(interpolate_vertex_features(p2f, bary, faces, feats),
                               ref.interpolate_face_attributes(p2f, bary, feats, faces))
    # the two layouts agree when face_attributes = features[faces]
    torch.testing.assert_close(interpolate_vertex_features(p2f, bary, faces, feats),
                               interpolate_face_attributes(p2f, bary, feats[faces]))
    g = torch.randn(*p2f.shape, 6, dtype=dtype, device=device)
    for values, f in ((attrs, None), (feats, faces)):
        got = torch.ops.meshgraph.interpolate_face_attributes_backward(g, p2f, bary, values, f)
        for a, b in zip(got, ref.interpolate_face_attributes_backward(g, p2f, bary, values, f)):
            torch.testing.assert_close(a, b)


TOL = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float32: 1e-5, torch.float64: 1e-10}


@pytest.mark.parametrize("dtype", list(TOL))
def test_every_float_dtype_against_the_float64_reference(device, dtype):
    """Both value layouts, forward and backward, in every float dtype (sums in float32 or float64) against the
    float64 definition on the same rounded inputs, to one rounding of the output (relative to its scale)."""
    p2f, bary, faces, feats, attrs = _slots(device, torch.float64)
    bary, feats, attrs = bary.to(dtype), feats.to(dtype), attrs.to(dtype)
    g = torch.randn(*p2f.shape, 6, generator=torch.Generator().manual_seed(1)).to(dtype).to(device)
    for values, f in ((attrs, None), (feats, faces)):
        out = torch.ops.meshgraph.interpolate_face_attributes(p2f, bary, values, f)
        gb, gv = torch.ops.meshgraph.interpolate_face_attributes_backward(g, p2f, bary, values, f)
        expect = ref.interpolate_face_attributes(p2f, bary.double(), values.double(), f)
        egb, egv = ref.interpolate_face_attributes_backward(g.double(), p2f, bary.double(), values.double(), f)
        for got, exp in ((out, expect), (gb, egb), (gv, egv)):
            assert got.dtype == dtype
            torch.testing.assert_close(got.double(), exp, rtol=TOL[dtype], atol=TOL[dtype] * exp.abs().max())


def test_gradients_opcheck_compile(device):
    p2f, bary, faces, feats, attrs = _slots(device, torch.float64, shape=(1, 3, 2, 2))
    b, v, a = bary.requires_grad_(True), feats.requires_grad_(True), attrs.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, y: interpolate_vertex_features(p2f, x, faces, y), (b, v))
    assert torch.autograd.gradgradcheck(lambda x, y: interpolate_face_attributes(p2f, x, y), (b, a))
    torch.library.opcheck(torch.ops.meshgraph.interpolate_face_attributes, (p2f, bary.detach(), feats.detach(), faces))
    torch.library.opcheck(torch.ops.meshgraph.interpolate_face_attributes, (p2f, bary.detach(), attrs.detach(), None))
    g = torch.randn(*p2f.shape, 6, dtype=torch.float64, device=device)
    torch.library.opcheck(torch.ops.meshgraph.interpolate_face_attributes_backward, (g, p2f, bary.detach(), feats.detach(), faces))
    fn = lambda x: interpolate_vertex_features(p2f, bary.detach(), faces, x).sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(feats.detach()), fn(feats.detach()))
    torch._dynamo.reset()


def test_bad_inputs():
    p2f, bary, faces, feats, attrs = _slots("cpu")
    with pytest.raises(ValueError, match="pix_to_face"):
        interpolate_face_attributes(p2f.clamp_max(19) + 1, bary, attrs)
    with pytest.raises(ValueError, match="barycentric_coords"):
        interpolate_face_attributes(p2f, bary[..., :2], attrs)
    with pytest.raises(ValueError, match="face_attributes"):
        interpolate_face_attributes(p2f, bary, attrs[:, :2])
    with pytest.raises(ValueError, match="faces"):
        interpolate_vertex_features(p2f, bary, faces + 100, feats)
    with pytest.raises(TypeError, match="pix_to_face"):
        interpolate_face_attributes(p2f.int(), bary, attrs)
