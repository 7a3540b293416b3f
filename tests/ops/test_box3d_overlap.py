"""box3d_overlap: kernel vs the half-space reference on random oriented boxes, closed forms (identical, shifted,
disjoint, touching, nested, rotated about a shared axis), dtypes, degenerate-box errors, opcheck, no backward."""

import math

import pytest
import torch

from meshgraph.ops.box3d_overlap import box3d_overlap
from meshgraph.ops.reference.box3d import box3d_overlap as reference

UNIT = torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
                    dtype=torch.float64)


def _rotation(n, dtype=torch.float64):
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2))[:, None, :]
    q[:, :, 2] *= torch.det(q)[:, None]
    return q.to(dtype)


def _boxes(n, dtype=torch.float64, spread=1.0):
    """n random oriented boxes: sizes in [0.5, 2.5], centres within spread, random rotations."""
    size = torch.rand(n, 1, 3, dtype=torch.float64) * 2 + 0.5
    corners = (UNIT - 0.5)[None] * size
    corners = corners @ _rotation(n) + spread * torch.randn(n, 1, 3, dtype=torch.float64)
    return corners.to(dtype)


def _about_z(theta):
    c, s = math.cos(theta), math.sin(theta)
    return torch.tensor([[c, s, 0], [-s, c, 0], [0, 0, 1]], dtype=torch.float64)


def test_random_boxes_match_reference():
    b1, b2 = _boxes(6), _boxes(7)
    vol, iou = box3d_overlap(b1, b2)
    rvol, riou = reference(b1, b2)
    assert vol.shape == (6, 7) and vol.dtype == torch.float64
    torch.testing.assert_close(vol, rvol, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(iou, riou, atol=1e-9, rtol=1e-9)
    assert (vol > 0).any() and (vol == 0).any()  # both overlapping and disjoint pairs were drawn


def test_float32_matches_reference_and_is_symmetric():
    b1, b2 = _boxes(5, torch.float32), _boxes(5, torch.float32)
    vol, iou = box3d_overlap(b1, b2)
    rvol, riou = reference(b1, b2)
    torch.testing.assert_close(vol, rvol, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(iou, riou, atol=2e-5, rtol=1e-4)
    vol_t, iou_t = box3d_overlap(b2, b1)
    torch.testing.assert_close(vol_t, vol.T, atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(iou_t, iou.T, atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_types_computed_in_float32(dtype):
    b1, b2 = _boxes(3, dtype), _boxes(4, dtype)
    # rounding rotated corners to a half type bends the faces by more than the default eps: loosen the check
    vol, iou = box3d_overlap(b1, b2, eps=5e-2)
    assert vol.dtype == dtype and iou.dtype == dtype
    rvol, riou = reference(b1.double(), b2.double())  # the rounded boxes, exactly
    tol = 2e-2 if dtype == torch.bfloat16 else 2e-3
    torch.testing.assert_close(vol.double(), rvol, atol=tol * 4, rtol=tol)
    torch.testing.assert_close(iou.double(), riou, atol=tol, rtol=tol)


def test_identical_boxes_give_iou_one_exactly():
    b = _boxes(4)
    vol, iou = box3d_overlap(b, b)
    assert torch.equal(torch.diagonal(iou), torch.ones(4, dtype=torch.float64))
    rvol, _ = reference(b, b)
    torch.testing.assert_close(torch.diagonal(vol), torch.diagonal(rvol))
    b32 = b.float()
    assert torch.equal(torch.diagonal(box3d_overlap(b32, b32)[1]), torch.ones(4))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_shifted_unit_boxes_closed_form(axis):
    for dd in (0.1, 0.5, 0.9):
        shift = torch.zeros(3, dtype=torch.float64)
        shift[axis] = dd
        vol, iou = box3d_overlap(UNIT[None], (UNIT + shift)[None])
        torch.testing.assert_close(vol, torch.tensor([[1 - dd]], dtype=torch.float64))
        torch.testing.assert_close(iou, torch.tensor([[(1 - dd) / (1 + dd)]], dtype=torch.float64))
    # a diagonal shift: the overlap is a (1-dx)(1-dy)(1-dz) box
    vol, _ = box3d_overlap(UNIT[None], (UNIT + torch.tensor([0.2, 0.3, 0.4], dtype=torch.float64))[None])
    torch.testing.assert_close(vol, torch.tensor([[0.8 * 0.7 * 0.6]], dtype=torch.float64))


def test_disjoint_and_touching_boxes_have_zero_overlap():
    far = UNIT + torch.tensor([0.0, 100.0, 0.0], dtype=torch.float64)
    face = UNIT + torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)  # shares the face x = 1
    edge = UNIT + torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)  # shares an edge
    corner = UNIT + torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)  # shares a corner
    half_face = UNIT + torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64)  # touching on part of a face
    vol, iou = box3d_overlap(UNIT[None], torch.stack([far, face, edge, corner, half_face]))
    assert vol.abs().max() <= 1e-15 and iou.abs().max() <= 1e-15
    vol32, _ = box3d_overlap(UNIT[None].float(), torch.stack([face, half_face]).float())
    assert vol32.abs().max() <= 1e-6


def test_nested_and_coplanar_faces():
    # a box inside another, sharing three faces (the coplanar faces are counted once)
    small = UNIT * torch.tensor([0.5, 0.4, 1.0], dtype=torch.float64)
    vol, iou = box3d_overlap(UNIT[None], small[None])
    torch.testing.assert_close(vol, torch.tensor([[0.2]], dtype=torch.float64))
    torch.testing.assert_close(iou, torch.tensor([[0.2]], dtype=torch.float64))
    # strictly inside, no shared face
    inner = (UNIT - 0.5) * 0.5 + 0.5
    vol, iou = box3d_overlap(inner[None], UNIT[None])
    torch.testing.assert_close(vol, torch.tensor([[0.125]], dtype=torch.float64))
    # same footprint plane z = 0 and z = 1 shared, shifted in x: coplanar top and bottom faces
    vol, _ = box3d_overlap(UNIT[None], (UNIT * torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64) - 0.5 * torch.tensor(
        [1.0, 0, 0], dtype=torch.float64))[None])
    torch.testing.assert_close(vol, torch.tensor([[1.0]], dtype=torch.float64))


def test_rotated_about_shared_axis_closed_form():
    # a unit square rotated by 45 degrees about the shared vertical axis through the centre: octagon of area
    # 2 (sqrt(2) - 1), both boxes of height 1
    c = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    rot = (UNIT - c) @ _about_z(math.pi / 4) + c
    vol, iou = box3d_overlap(UNIT[None], rot[None])
    area = 2 * (math.sqrt(2) - 1)
    torch.testing.assert_close(vol, torch.tensor([[area]], dtype=torch.float64))
    torch.testing.assert_close(iou, torch.tensor([[area / (2 - area)]], dtype=torch.float64))
    # rotated and moved as a pair: the same numbers
    R, T = _rotation(1)[0], torch.randn(3, dtype=torch.float64)
    vol2, iou2 = box3d_overlap((UNIT @ R + T)[None], (rot @ R + T)[None])
    torch.testing.assert_close(vol2, vol)
    torch.testing.assert_close(iou2, iou)


def test_empty_batches():
    vol, iou = box3d_overlap(_boxes(0), _boxes(3))
    assert vol.shape == (0, 3) and iou.shape == (0, 3)
    vol, iou = box3d_overlap(_boxes(2), _boxes(0))
    assert vol.shape == (2, 0)


def test_degenerate_boxes_raise_pytorch3d_messages():
    bent = UNIT.clone()
    bent[6] += torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64)
    with pytest.raises(ValueError, match="Plane vertices are not coplanar"):
        box3d_overlap(bent[None], UNIT[None])
    with pytest.raises(ValueError, match="Plane vertices are not coplanar"):
        box3d_overlap(UNIT[None], bent[None])
    flat = UNIT.clone()
    flat[:, 2] = 0.0  # zero height: every side face has zero area
    with pytest.raises(ValueError, match="Planes have zero areas"):
        box3d_overlap(UNIT[None], flat[None])
    # eps is the checks' tolerance: a slight bend passes with a loose eps
    slight = UNIT.clone()
    slight[6, 2] += 1e-3
    with pytest.raises(ValueError, match="coplanar"):
        box3d_overlap(slight[None], UNIT[None])
    box3d_overlap(slight[None], UNIT[None], eps=1e-2)


def test_bad_input():
    with pytest.raises(ValueError, match=r"shape \(8, 3\)"):
        box3d_overlap(torch.zeros(2, 4, 3), _boxes(1).float())
    with pytest.raises(TypeError, match="same dtype"):
        box3d_overlap(_boxes(1).float(), _boxes(1))
    with pytest.raises(TypeError):
        box3d_overlap(_boxes(1).long(), _boxes(1).long())
    # the raw op checks shapes and dtypes in C++
    with pytest.raises(RuntimeError, match="boxes1 must have shape"):
        torch.ops.meshgraph.box3d_overlap(torch.zeros(2, 7, 3), torch.zeros(2, 8, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.ops.meshgraph.box3d_overlap(torch.zeros(2, 8, 3), torch.zeros(2, 8, 3, dtype=torch.float64))


def test_raw_op_is_memory_safe_on_garbage():
    junk = torch.randn(3, 8, 3) * 10
    junk[0, 0, 0] = float("nan")
    vol, iou = torch.ops.meshgraph.box3d_overlap(junk, junk)
    assert vol.shape == (3, 3)


def test_backward_raises_like_pytorch3d():
    b1 = _boxes(2).requires_grad_()
    vol, iou = box3d_overlap(b1, _boxes(2))
    with pytest.raises(ValueError, match="box3d_overlap backward is not supported"):
        (vol.sum() + iou.sum()).backward()


def test_opcheck_and_compile():
    b1, b2 = _boxes(3).float(), _boxes(2).float()
    torch.library.opcheck(torch.ops.meshgraph.box3d_overlap.default, (b1, b2),
                          test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"))
    compiled = torch.compile(box3d_overlap, backend="eager", fullgraph=True)
    for a, b in zip(compiled(b1, b2), box3d_overlap(b1, b2)):
        torch.testing.assert_close(a, b)


def test_device_matches_reference_and_cpu_bitwise(device):
    b1, b2 = _boxes(6, torch.float32), _boxes(8, torch.float32)
    vol, iou = box3d_overlap(b1.to(device), b2.to(device))
    rvol, riou = reference(b1, b2)
    torch.testing.assert_close(vol, rvol.to(vol.device), atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(iou, riou.to(iou.device), atol=2e-5, rtol=1e-4)
    cvol, ciou = box3d_overlap(b1, b2)  # the same C10_HOST_DEVICE code: bit-identical across devices
    assert torch.equal(vol, cvol.to(vol.device)) and torch.equal(iou, ciou.to(iou.device))


def test_nearly_coplanar_faces_in_float32_are_counted_once_either_order():
    # PyTorch3D issue 1287's boxes: two faces of each lie on nearly the same planes (1e-5 apart at |x| ~ 100); the
    # coplanarity decision is symmetric, so the result does not depend on the argument order
    b = torch.tensor([[-105.5094, -32.9504, -1.0641], [-106.4272, -30.9793, -1.0641], [-106.4272, -30.9793, -3.1916],
                      [-105.5094, -32.9504, -3.1916], [-110.0421, -35.0609, -1.0641], [-110.9599, -33.0899, -1.0641],
                      [-110.9599, -33.0899, -3.1916], [-110.0421, -35.0609, -3.1916]])
    a = torch.tensor([[-105.6248, -32.7026, -1.2279], [-106.4690, -30.8895, -1.2279], [-106.4690, -30.8895, -3.0279],
                      [-105.6248, -32.7026, -3.0279], [-110.1575, -34.8132, -1.2279], [-111.0017, -33.0001, -1.2279],
                      [-111.0017, -33.0001, -3.0279], [-110.1575, -34.8132, -3.0279]])
    rvol, riou = reference(a[None].double(), b[None].double())
    for x, y in ((a, b), (b, a)):
        vol, iou = box3d_overlap(x[None], y[None])
        torch.testing.assert_close(vol.double(), rvol, atol=1e-3, rtol=1e-4)
        torch.testing.assert_close(iou.double(), riou, atol=1e-4, rtol=1e-4)
