"""mesh_face_areas_normals op: kernels vs the reference (values and gradients), degenerate faces, dtypes, gradcheck,
opcheck, bad input, raw-op checks."""

import pytest
import torch

from meshgraph.ops.mesh_geometry import mesh_face_areas_normals
from meshgraph.ops.reference.mesh_geometry import mesh_face_areas_normals as ref
from meshgraph.ops.reference.mesh_geometry import mesh_face_areas_normals_backward as ref_backward


def _mesh(V=30, F=60, dtype=torch.float64, device="cpu", index_dtype=torch.int64):
    verts = torch.randn(V, 3, dtype=torch.float64).to(dtype).to(device)
    # three distinct corners per face (a repeated corner is a degenerate face, tested on its own: |n| is not
    # differentiable there, and torch's cross product of equal vectors is not exactly 0 under FMA)
    faces = torch.rand(F, V).argsort(1)[:, :3].to(index_dtype).to(device)
    return verts, faces


@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_forward_matches_reference_and_hand_values(device, index_dtype):
    verts, faces = _mesh(device=device, index_dtype=index_dtype)
    faces[0] = torch.tensor([3, 3, 4])  # degenerate: zero area, zero normal
    areas, normals = mesh_face_areas_normals(verts, faces)
    ra, rn = ref(verts, faces)
    torch.testing.assert_close(areas, ra)
    torch.testing.assert_close(normals, rn)
    assert areas[0] == 0 and torch.equal(normals[0], torch.zeros(3, dtype=verts.dtype, device=device))
    tri = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 3, 0]], dtype=torch.float64, device=device)
    a, n = mesh_face_areas_normals(tri, torch.tensor([[0, 1, 2]], device=device))
    assert a.item() == 3.0 and n.tolist() == [[0.0, 0.0, 1.0]]


@pytest.mark.parametrize("dtype,tol", [(torch.float16, 2e-3), (torch.bfloat16, 2e-2), (torch.float32, 1e-6)])
def test_dtypes_computed_in_float32(device, dtype, tol):
    verts, faces = _mesh(dtype=dtype, device=device)
    areas, normals = mesh_face_areas_normals(verts, faces)
    assert areas.dtype == dtype and normals.dtype == dtype
    ra, rn = ref(verts, faces)  # the same rounded inputs, in float32
    torch.testing.assert_close(areas.float(), ra.float(), atol=tol, rtol=tol)
    torch.testing.assert_close(normals.float(), rn.float(), atol=tol, rtol=tol)
    verts.requires_grad_()
    g_a, g_n = torch.randn_like(areas), torch.randn_like(normals)
    (gv,) = torch.autograd.grad(mesh_face_areas_normals(verts, faces), verts, (g_a, g_n))
    assert gv.dtype == dtype
    expected = ref_backward(g_a.float(), g_n.float(), verts.detach().float(), faces)
    torch.testing.assert_close(gv.float(), expected, atol=10 * tol * expected.abs().max().item(), rtol=10 * tol)


def test_backward_matches_reference(device):
    verts, faces = _mesh(device=device)
    faces[1] = torch.tensor([5, 5, 6])  # degenerate face: its normal's gradient is the clamped branch
    verts.requires_grad_()
    areas, normals = mesh_face_areas_normals(verts, faces)
    g_a, g_n = torch.randn_like(areas), torch.randn_like(normals)
    (gv,) = torch.autograd.grad((areas, normals), verts, (g_a, g_n))
    torch.testing.assert_close(gv, ref_backward(g_a, g_n, verts.detach(), faces))
    # only one output used
    (gv_a,) = torch.autograd.grad(mesh_face_areas_normals(verts, faces)[0].sum(), verts)
    torch.testing.assert_close(gv_a, ref_backward(torch.ones_like(areas), torch.zeros_like(normals), verts.detach(), faces))


def test_gradcheck_and_gradgradcheck():
    verts, faces = _mesh(V=8, F=10)
    verts.requires_grad_()
    torch.autograd.gradcheck(mesh_face_areas_normals, (verts, faces))
    torch.autograd.gradgradcheck(mesh_face_areas_normals, (verts, faces))


def test_backward_is_deterministic():
    verts, faces = _mesh(V=50, F=400)
    g_a, g_n = torch.randn(400, dtype=torch.float64), torch.randn(400, 3, dtype=torch.float64)
    a = torch.ops.meshgraph.mesh_face_areas_normals_backward(g_a, g_n, verts, faces)
    b = torch.ops.meshgraph.mesh_face_areas_normals_backward(g_a, g_n, verts, faces)
    assert torch.equal(a, b)


def test_empty_inputs(device):
    verts = torch.randn(5, 3, device=device, requires_grad=True)
    faces = torch.zeros(0, 3, dtype=torch.int64, device=device)
    areas, normals = mesh_face_areas_normals(verts, faces)
    assert areas.shape == (0,) and normals.shape == (0, 3)
    (gv,) = torch.autograd.grad(areas.sum() + normals.sum(), verts)
    assert torch.equal(gv, torch.zeros_like(verts))
    a, n = mesh_face_areas_normals(torch.zeros(0, 3, device=device), faces)
    assert a.shape == (0,)


def test_opcheck():
    verts, faces = _mesh(V=10, F=12)
    verts.requires_grad_()
    torch.library.opcheck(torch.ops.meshgraph.mesh_face_areas_normals.default, (verts, faces))
    args = (torch.randn(12, dtype=torch.float64), torch.randn(12, 3, dtype=torch.float64), verts.detach(), faces)
    torch.library.opcheck(torch.ops.meshgraph.mesh_face_areas_normals_backward.default, args)


def test_bad_input():
    verts, faces = _mesh(V=5, F=4)
    with pytest.raises(ValueError, match="faces"):
        mesh_face_areas_normals(verts, faces + 5)
    with pytest.raises(ValueError, match="verts"):
        mesh_face_areas_normals(verts[:, :2], faces)
    with pytest.raises(TypeError):
        mesh_face_areas_normals(verts, faces.float())
    # the raw op checks in C++
    with pytest.raises(RuntimeError, match="faces must index verts"):
        torch.ops.meshgraph.mesh_face_areas_normals(verts, faces + 5)
    with pytest.raises(RuntimeError, match="verts must have shape"):
        torch.ops.meshgraph.mesh_face_areas_normals(verts[:, :2].contiguous(), faces)
    with pytest.raises(RuntimeError, match="grad_areas"):
        torch.ops.meshgraph.mesh_face_areas_normals_backward(torch.zeros(3, dtype=verts.dtype),
                                                             torch.zeros(4, 3, dtype=verts.dtype), verts, faces)
