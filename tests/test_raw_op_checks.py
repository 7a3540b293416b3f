"""Raw ops (torch.ops.meshgraph.*) called directly with malformed arguments raise a clean RuntimeError, never crash
or read out of bounds: the C++ checks of csrc/common/checks.h, not the Python wrappers' validation.

On the CPU every structural invariant is checked (rowptr[0] == 0, rowptr[-1] == E, sorted first_idxs, ranges within
the packed tensor, faces within values); on CUDA those values are clamped by the kernels instead (no device sync),
so there the tests check that a malformed input returns without a fault, and that a CPU tensor passed next to
CUDA tensors is rejected.
"""

import pytest
import torch

import meshgraph  # noqa: F401  (loads the operator library)

ops = torch.ops.meshgraph
CUDA = torch.cuda.is_available() and torch._C._dispatch_has_kernel_for_dispatch_key("meshgraph::gather_scatter", "CUDA")


def raises(fn, *args, match=None):
    with pytest.raises(RuntimeError, match=match):
        fn(*args)


def csr(device, V=4, E=6, F=3, dtype=torch.float32):
    x = torch.randn(V, F, dtype=dtype, device=device)
    rowptr = torch.tensor([0, 2, 3, 5, E], dtype=torch.int64, device=device)
    col = torch.tensor([1, 2, 0, 3, 1, 2], dtype=torch.int64, device=device)[:E]
    return x, rowptr, col


# ----------------------------------------------------------------------------------------------- gather_scatter


def test_gather_scatter_accepts_wellformed(device):
    x, rowptr, col = csr(device)
    out, _ = ops.gather_scatter(x, rowptr, col, None, "sum")
    assert out.shape == (4, 3)


def test_gather_scatter_rejects_bad_dtypes_and_shapes():
    x, rowptr, col = csr("cpu")
    raises(ops.gather_scatter, x.long(), rowptr, col, None, "sum", match="x must be float16")
    raises(ops.gather_scatter, x[0], rowptr, col, None, "sum", match="x must be 2-D")
    raises(ops.gather_scatter, x, rowptr.int(), col, None, "sum", match="rowptr must be int64")
    raises(ops.gather_scatter, x, rowptr[:, None], col, None, "sum", match="rowptr must be 1-D")
    raises(ops.gather_scatter, x, rowptr, col.float(), None, "sum", match="col must be int32 or int64")
    raises(ops.gather_scatter, x, rowptr, col, torch.ones(5), "sum", match="weight must have shape")
    raises(ops.gather_scatter, x, rowptr, col, torch.ones(6, dtype=torch.float64), "sum", match="dtype of x")
    raises(ops.gather_scatter, x, rowptr, col, torch.ones(6, 2), "sum", match="heads must divide")
    raises(ops.gather_scatter, x, rowptr, col, None, "prod", match="reduce must be one of")


def test_gather_scatter_rejects_malformed_rowptr_on_cpu():
    x, rowptr, col = csr("cpu")
    short = rowptr.clone()
    short[-1] = 5  # rowptr[-1] < E: on CUDA the row search once ran one row too far
    raises(ops.gather_scatter, x, short, col, None, "sum", match=r"rowptr\[-1\] must equal")
    raises(ops.edge_dot, x, x, short, col, match=r"rowptr\[-1\] must equal")
    unsorted = torch.tensor([0, 3, 2, 5, 6])
    raises(ops.gather_scatter, x, unsorted, col, None, "max", match="non-decreasing")
    shifted = torch.tensor([1, 2, 3, 5, 6])
    raises(ops.neighbor_softmax, torch.randn(6), shifted, match=r"rowptr\[0\] must be 0")


def test_gather_scatter_arg_backward_rejects_mismatched_grads():
    x, rowptr, col = csr("cpu")
    out, arg = ops.gather_scatter(x, rowptr, col, None, "max")
    eid = torch.arange(6)
    g = torch.ones_like(out)
    ops.gather_scatter_arg_backward(g, x, arg, rowptr, col, eid, None, False)  # well-formed (x square enough)
    raises(ops.gather_scatter_arg_backward, g.double(), x, arg, rowptr, col, eid, None, False, match="same dtype")
    raises(ops.gather_scatter_arg_backward, g[:, :2], x, arg, rowptr, col, eid, None, False, match="features of x")
    raises(ops.gather_scatter_arg_backward, g, x, arg.int(), rowptr, col, eid, None, False, match="arg must be")
    raises(ops.gather_scatter_arg_backward, g, x, arg, rowptr, col, eid[:5], None, False, match="same length")
    raises(ops.gather_scatter_arg_backward, g, x, arg, rowptr, col, eid.int(), None, False, match="eid_t must be")


# --------------------------------------------------------------------------------------------- neighbor_softmax


def test_neighbor_softmax_rejects_bad_grads_and_ids():
    _, rowptr, _ = csr("cpu")
    s = torch.randn(6, 2)
    out = ops.neighbor_softmax(s, rowptr)
    raises(ops.neighbor_softmax, s.long(), rowptr, match="scores must be float16")
    raises(ops.neighbor_softmax, s[:5], rowptr, match=r"rowptr\[-1\] must equal")
    raises(ops.neighbor_softmax, s, rowptr, torch.arange(5), match="one entry per score row")
    raises(ops.neighbor_softmax_backward, out.double(), out, rowptr, None, match="same dtype")
    raises(ops.neighbor_softmax_backward, out[:, :1], out, rowptr, None, match="shape of out")


# --------------------------------------------------------------------------------------------- packed_to_padded


def test_packed_to_padded_rejects_bad_first_idxs_on_cpu():
    x = torch.randn(5, 2)
    raises(ops.packed_to_padded, x, torch.tensor([0, 3, 2]), 4, match="non-decreasing")
    raises(ops.packed_to_padded, x, torch.tensor([-1, 2]), 4, match="non-decreasing with values in")
    raises(ops.packed_to_padded, x, torch.tensor([0, 6]), 4, match="non-decreasing with values in")
    raises(ops.packed_to_padded, x, torch.tensor([0.0, 2.0]), 4, match="int32 or int64")
    raises(ops.packed_to_padded, x, torch.tensor([0, 2]), -1, match="max_size must be non-negative")
    padded = torch.randn(2, 4, 2)
    raises(ops.padded_to_packed, padded, torch.tensor([3, 0]), 5, match="non-decreasing")
    raises(ops.padded_to_packed, padded, torch.tensor([0, 2, 4]), 5, match="one entry per padded set")


# ---------------------------------------------------------------------------------------- knn / ball query / fps


def test_point_ops_reject_bad_lengths():
    p1, p2 = torch.randn(2, 5, 3), torch.randn(2, 7, 3)
    l1, l2 = torch.tensor([5, 4]), torch.tensor([7, 6])
    ops.knn_points_idx(p1, p2, l1, l2, 2, 2)
    raises(ops.knn_points_idx, p1, p2, l1[:1], l2, 2, 2, match=r"lengths1 must have shape \(2,\)")
    raises(ops.knn_points_idx, p1, p2, l1, l2.float(), 2, 2, match="lengths2 must be int32 or int64")
    raises(ops.knn_points_idx, p1, p2.double(), l1, l2, 2, 2, match="same dtype")
    raises(ops.knn_points_idx, p1.long(), p2.long(), l1, l2, 2, 2, match="p1 must be float16")
    raises(ops.ball_query_idx, p1, p2, l1, l2[:, None], 2, 0.5, match="lengths2 must have shape")
    K, start = torch.tensor([2, 3]), torch.zeros(2, dtype=torch.int64)
    ops.sample_farthest_points_idx(p1, l1, K, start, 3)
    raises(ops.sample_farthest_points_idx, p1, l1, K[:1], start, 3, match=r"K must have shape \(2,\)")
    raises(ops.sample_farthest_points_idx, p1, l1, K, start.float(), 3, match="start must be int32 or int64")


def test_point_ops_check_their_numbers():
    """knn's norm is the distance's exponent (1 or 2, checked), K an output size (>= 1), radius > 0, max_K >= 0."""
    p1, p2 = torch.randn(2, 5, 3), torch.randn(2, 7, 3)
    l1, l2 = torch.tensor([5, 4]), torch.tensor([7, 6])
    raises(ops.knn_points_idx, p1, p2, l1, l2, 2, 3, match="norm must be 1 or 2")
    raises(ops.knn_points_idx, p1, p2, l1, l2, 0, 2, match="K must be >= 1")
    raises(ops.ball_query_idx, p1, p2, l1, l2, 0, 0.5, match="K must be >= 1")
    raises(ops.ball_query_idx, p1, p2, l1, l2, 2, 0.0, match="radius must be positive")
    raises(ops.sample_farthest_points_idx, p1, l1, torch.tensor([2, 3]), torch.zeros(2, dtype=torch.int64), -1,
           match="max_K must be non-negative")


# ---------------------------------------------------------------------------------------- point_face_distance


def test_point_face_distance_rejects_ranges_outside_the_packed_tensors_on_cpu():
    pts, tris = torch.randn(6, 3), torch.randn(4, 3, 3)
    cf, cs = torch.tensor([0, 3]), torch.tensor([3, 3])
    mf, ms = torch.tensor([0, 2]), torch.tensor([2, 2])
    ops.point_face_distance_idx(pts, cf, cs, tris, mf, ms)
    raises(ops.point_face_distance_idx, pts, cf, cs, tris, torch.tensor([-1, 2]), ms, match="outside")
    raises(ops.point_face_distance_idx, pts, cf, torch.tensor([3, 4]), tris, mf, ms, match="outside")
    raises(ops.point_face_distance_idx, pts, cf, cs, tris, mf, torch.tensor([2, -1]), match="outside")
    raises(ops.point_face_distance_idx, pts, cf.int(), cs, tris, mf, ms, match="cloud_first must be int64")
    raises(ops.point_face_distance_idx, pts, cf, cs, tris, mf[:1], ms[:1], match=r"mesh_first must have shape")


# ------------------------------------------------------------------------------ rasterize_points / composite


def test_rasterize_points_rejects_bad_ranges_and_grads():
    pts = torch.rand(5, 3)
    rad = torch.full((5,), 0.3)
    first, size = torch.tensor([0, 2]), torch.tensor([2, 3])
    idx, zbuf, dists = ops.rasterize_points(pts, first, size, rad, 8, 8, 2, 0)
    raises(ops.rasterize_points, pts, first, torch.tensor([2, 4]), rad, 8, 8, 2, 0, match="outside")
    raises(ops.rasterize_points, pts, first, size, rad[:4], 8, 8, 2, 0, match=r"radius must be \(P,\)")
    raises(ops.rasterize_points_backward, pts, idx, zbuf[..., :1], dists, match="shape of idx")
    raises(ops.rasterize_points_backward, pts, idx, zbuf.long(), dists, match="grad_zbuf must be float16")
    raises(ops.rasterize_points, pts, first, size, rad, 8, 8, 2, -1, match="bin_size must be None or >= 0")
    for bin_size in (None, 0, 3, 1 << 62):  # None: chosen; 0: one tile; a tile larger than the image: one tile
        assert torch.equal(ops.rasterize_points(pts, first, size, rad, 8, 8, 2, bin_size)[0], idx)


def test_rasterize_meshes_rejects_bad_ranges_dtypes_and_grads():
    fv = torch.rand(4, 3, 3)
    fv[..., 2] += 1
    first, size = torch.tensor([0, 2]), torch.tensor([2, 2])
    p2f, zbuf, bary, dists = ops.rasterize_meshes(fv, first, size, 8, 8, 0.0, 2, 0, False, False, False)
    bad = lambda *a, match: raises(ops.rasterize_meshes, *a, 8, 8, 0.0, 2, 0, False, False, False, match=match)  # noqa: E731
    bad(fv, first, torch.tensor([2, 3]), match="outside")  # past the packed faces
    bad(fv, torch.tensor([-1, 2]), size, match="outside")
    bad(fv, first, torch.tensor([2, -1]), match="outside")
    bad(fv, first.int(), size, match="mesh_first must be int64")
    bad(fv, first, size.float(), match="mesh_size must be int64")
    bad(fv, first, size[:1], match=r"mesh_size must have shape \(2,\)")
    bad(fv, first[:, None], size, match="mesh_first must be 1-D")
    bad(fv[:, :2], first, size, match=r"face_verts must be \(F, 3, 3\)")
    bad(fv.long(), first, size, match="face_verts must be float")
    raises(ops.rasterize_meshes, fv, first, size, 8, 8, -1.0, 2, 0, False, False, False, match="blur_radius")
    raises(ops.rasterize_meshes, fv, first, size, 8, 8, 0.0, 0, 0, False, False, False, match="K must be positive")
    raises(ops.rasterize_meshes, fv, first, size, 8, 8, 0.0, 2, -1, False, False, False, match="bin_size must be None")
    for bin_size in (None, 3, 1 << 62):
        out = ops.rasterize_meshes(fv, first, size, 8, 8, 0.0, 2, bin_size, False, False, False)
        assert torch.equal(out[0], p2f)
    back = lambda *a, match: raises(ops.rasterize_meshes_backward, *a, False, False, match=match)  # noqa: E731
    ops.rasterize_meshes_backward(fv, p2f, zbuf, bary, dists, False, False)
    back(fv, p2f, zbuf[..., :1], bary, dists, match="grad_zbuf must have shape")
    back(fv, p2f, zbuf, bary[..., :2], dists, match="grad_bary must have shape")
    back(fv, p2f, zbuf, bary, dists[0], match="grad_dists must have shape")
    back(fv, p2f, zbuf.long(), bary, dists, match="grad_zbuf must be float16")
    back(fv, p2f, zbuf, bary.long(), dists, match="grad_bary must be float16")
    back(fv, p2f, zbuf, bary, dists.long(), match="grad_dists must be float16")
    back(fv, p2f.int(), zbuf, bary, dists, match="pix_to_face must be Long")
    back(fv, p2f[0], zbuf[0], bary[0], dists[0], match="pix_to_face must be 4-D")
    back(fv[:, :2], p2f, zbuf, bary, dists, match=r"face_verts must be \(F, 3, 3\)")
    # slots naming faces outside [0, F) are skipped, never read
    wild = p2f.clone()
    wild[0, 0, 0] = torch.tensor([4, -5])
    g = ops.rasterize_meshes_backward(fv, wild, zbuf, bary, dists, False, False)
    assert g.shape == fv.shape and torch.isfinite(g).all()


def test_composite_points_rejects_bad_grads():
    feats, alphas = torch.rand(5, 3), torch.rand(1, 4, 4, 2)
    idx = torch.randint(-1, 5, (1, 4, 4, 2))
    out = ops.composite_points(feats, alphas, idx, "alpha")
    g = torch.ones_like(out)
    ops.composite_points_backward(g, feats, alphas, idx, "alpha")
    raises(ops.composite_points_backward, g[:, :2], feats, alphas, idx, "alpha", match="grad_out must have shape")
    raises(ops.composite_points_backward, g.long(), feats, alphas, idx, "alpha", match="grad_out must be float16")
    raises(ops.composite_points, feats, alphas, idx.int(), "alpha", match="idx must be Long")
    raises(ops.composite_points, feats.long(), alphas, idx, "alpha", match="features must be float16")
    raises(ops.composite_points, feats, alphas.double(), idx, "alpha", match="dtype of features")
    raises(ops.composite_points, feats, alphas, idx, "over", match="mode must be")
    raises(ops.composite_points_backward, g, feats, alphas, idx, "norm", match="mode must be")


# ------------------------------------------------------------------------------------------------- interpolate


def test_interpolate_checks_face_indices_on_cpu():
    p2f = torch.tensor([[0, 1], [-1, 1]])
    bary = torch.rand(2, 2, 3)
    verts = torch.randn(4, 5)
    faces = torch.tensor([[0, 1, 2], [1, 2, 3]])
    ops.interpolate_face_attributes(p2f, bary, verts, faces)
    raises(ops.interpolate_face_attributes, p2f, bary, verts, torch.tensor([[0, 1, 2], [1, 2, 4]]), match="faces")
    raises(ops.interpolate_face_attributes, p2f, bary, verts, torch.tensor([[0, -1, 2], [1, 2, 3]]), match="faces")
    g = torch.ones(2, 2, 5)
    ops.interpolate_face_attributes_backward(g, p2f, bary, verts, faces)
    raises(ops.interpolate_face_attributes_backward, g[..., :4], p2f, bary, verts, faces, match="grad must have")
    raises(ops.interpolate_face_attributes_backward, g[0], p2f, bary, verts, faces, match="grad must have")
    raises(ops.interpolate_face_attributes, p2f.int(), bary, verts, faces, match="pix_to_face must be Long")


# --------------------------------------------------------------------------------- CUDA: devices and clamping


@pytest.mark.skipif(not CUDA, reason="needs meshgraph's CUDA kernels and a GPU")
def test_cuda_ops_reject_cpu_tensors():
    c = torch.device("cuda")
    x, rowptr, col = csr(c)
    raises(ops.gather_scatter, x, rowptr.cpu(), col, None, "sum", match="device")
    raises(ops.gather_scatter, x, rowptr, col, torch.ones(6), "sum", match="same device")
    out, arg = ops.gather_scatter(x, rowptr, col, None, "max")
    eid = torch.arange(6, device=c)
    raises(ops.gather_scatter_arg_backward, out.cpu(), x, arg, rowptr, col, eid, None, False, match="same device")
    raises(ops.gather_scatter_arg_backward, out, x, arg, rowptr, col, eid.cpu(), None, False, match="same device")
    s = torch.randn(6, device=c)
    y = ops.neighbor_softmax(s, rowptr)
    raises(ops.neighbor_softmax_backward, y.cpu(), y, rowptr, None, match="same device")
    raises(ops.neighbor_softmax, s, rowptr, torch.arange(6), match="device")
    p1 = torch.randn(2, 5, 3, device=c)
    raises(ops.knn_points_idx, p1, p1, torch.tensor([5, 5]), torch.tensor([5, 5], device=c), 2, 2, match="device")
    raises(ops.sample_farthest_points_idx, p1, torch.tensor([5, 5], device=c), torch.tensor([2, 2]),
           torch.zeros(2, dtype=torch.int64, device=c), 2, match="device")
    feats, alphas = torch.rand(5, 3, device=c), torch.rand(1, 4, 4, 2, device=c)
    idx = torch.randint(-1, 5, (1, 4, 4, 2), device=c)
    g = torch.ones(1, 3, 4, 4)
    raises(ops.composite_points_backward, g, feats, alphas, idx, "alpha", match="same device")
    p2f, bary, verts = torch.zeros(2, dtype=torch.int64, device=c), torch.rand(2, 3, device=c), torch.rand(4, 2, device=c)
    faces = torch.tensor([[0, 1, 2]])
    raises(ops.interpolate_face_attributes, p2f, bary, verts, faces, match="same device")
    raises(ops.interpolate_face_attributes_backward, torch.ones(2, 2), p2f, bary, verts, faces.to(c), match="device")
    fv = torch.rand(4, 3, 3, device=c)
    first, size = torch.tensor([0, 2], device=c), torch.tensor([2, 2], device=c)
    raises(ops.rasterize_meshes, fv, first.cpu(), size, 8, 8, 0.0, 2, 0, False, False, False, match="device")
    raises(ops.rasterize_meshes, fv, first, size.cpu(), 8, 8, 0.0, 2, 0, False, False, False, match="device")
    p2f4, z4, b4, d4 = ops.rasterize_meshes(fv, first, size, 8, 8, 0.0, 2, 0, False, False, False)
    for i in range(4):
        args = [p2f4, z4, b4, d4]
        args[i] = args[i].cpu()
        raises(ops.rasterize_meshes_backward, fv, *args, False, False, match="same device")
    pts = torch.rand(5, 3, device=c)
    raises(ops.point_face_distance_idx, pts, torch.tensor([0]), torch.tensor([5]), torch.rand(2, 3, 3, device=c),
           torch.tensor([0], device=c), torch.tensor([2], device=c), match="device")
    raises(ops.packed_to_padded, pts, torch.tensor([0, 2]), 3, match="device")


@pytest.mark.skipif(not CUDA, reason="needs meshgraph's CUDA kernels and a GPU")
def test_cuda_kernels_clamp_malformed_structure():
    """Values the CUDA ops do not check (that would cost a device sync) are clamped: no fault, finite output."""
    c = torch.device("cuda")
    x, rowptr, col = csr(c)
    short = rowptr.clone()
    short[-1] = 4  # rowptr[V] < E: entry 5 belongs to no row (the search once read rowptr[V + 1] for it)
    out = ops.edge_dot(x, x, short, col)
    assert out[5] == 0 and out[4] != 0
    bad = torch.tensor([0, 9, -3, 5, 6], device=c)
    for reduce in ("sum", "max"):
        ops.gather_scatter(x, bad, col, None, reduce)
    ops.neighbor_softmax(torch.randn(6, device=c), bad)
    ops.packed_to_padded(torch.randn(5, 2, device=c), torch.tensor([3, -2, 9], device=c), 4)
    ops.padded_to_packed(torch.randn(3, 4, 2, device=c), torch.tensor([3, -2, 9], device=c), 5)
    pts, tris = torch.randn(6, 3, device=c), torch.randn(4, 3, 3, device=c)
    p2f, f2p = ops.point_face_distance_idx(
        pts, torch.tensor([-4, 3], device=c), torch.tensor([9, 30], device=c), tris,
        torch.tensor([-2, 2], device=c), torch.tensor([3, 9], device=c))
    assert int(p2f.max()) < 4 and int(f2p.max()) < 6
    p2f = torch.tensor([0, 1], device=c)
    faces = torch.tensor([[0, 1, 7], [-5, 2, 3]], device=c)
    ops.interpolate_face_attributes(p2f, torch.rand(2, 3, device=c), torch.rand(4, 2, device=c), faces)
    fv = torch.rand(4, 3, 3, device=c)
    fv[..., 2] += 1
    for first, size in (([-3, 2], [9, 5]), ([7, -1], [2, 30]), ([0, 2], [-4, 2])):
        out = ops.rasterize_meshes(fv, torch.tensor(first, device=c), torch.tensor(size, device=c), 8, 8, 0.0, 2, 0,
                                   False, False, False)
        assert int(out[0].max()) < 4
    p2f = torch.full((1, 2, 2, 2), 9, dtype=torch.int64, device=c)
    g = torch.ones(1, 2, 2, 2, device=c)
    ops.rasterize_meshes_backward(fv, p2f, g, torch.ones(1, 2, 2, 2, 3, device=c), g, False, False)
    torch.cuda.synchronize()


# --- marching_cubes (issue 16)
def test_marching_cubes_raw_op_checks_dtypes_shapes_and_devices():
    mc = torch.ops.meshgraph.marching_cubes
    with pytest.raises(RuntimeError, match="vol_batch must be float16"):
        mc(torch.zeros(1, 3, 3, 3, dtype=torch.int32), torch.zeros(1))
    with pytest.raises(RuntimeError, match="vol_batch must be 4-D"):
        mc(torch.zeros(3, 3, 3), torch.zeros(3))
    with pytest.raises(RuntimeError, match="isolevel must have shape"):
        mc(torch.zeros(2, 3, 3, 3), torch.zeros(2, 1))
    with pytest.raises(RuntimeError, match="isolevel must be float16"):
        mc(torch.zeros(2, 3, 3, 3), torch.zeros(2, dtype=torch.int64))
    if torch.cuda.is_available() and torch._C._dispatch_has_kernel_for_dispatch_key("meshgraph::marching_cubes", "CUDA"):
        with pytest.raises(RuntimeError, match="same device|device"):
            mc(torch.zeros(1, 3, 3, 3, device="cuda"), torch.zeros(1))
# --- end marching_cubes


# --- textures (issue 14)
def _uv_slots(device):
    p2f = torch.tensor([[[[0, -1], [1, 0]]]], device=device)  # (1, 1, 2, 2)
    bary = torch.full((1, 1, 2, 2, 3), 1 / 3, device=device)
    faces_uvs = torch.tensor([[0, 1, 2], [1, 2, 3]], device=device)
    verts_uvs = torch.rand(4, 2, device=device)
    maps = torch.rand(1, 5, 6, 3, device=device)
    return p2f, bary, faces_uvs, verts_uvs, maps


def test_sample_textures_uv_checks_every_argument_on_cpu():
    p2f, bary, fu, vu, maps = _uv_slots("cpu")
    out = ops.sample_textures_uv(p2f, bary, fu, vu, maps, "bilinear", "border", True)
    g = torch.ones_like(out)
    ops.sample_textures_uv_backward(g, p2f, bary, fu, vu, maps, "nearest", "zeros", False)
    raises(ops.sample_textures_uv, p2f.int(), bary, fu, vu, maps, "bilinear", "border", True, match="pix_to_face must be Long")
    raises(ops.sample_textures_uv, p2f[0], bary[0], fu, vu, maps, "bilinear", "border", True, match="pix_to_face must be 4-D")
    raises(ops.sample_textures_uv, p2f, bary[..., :2], fu, vu, maps, "bilinear", "border", True, match="bary must have")
    raises(ops.sample_textures_uv, p2f, bary, fu.int(), vu, maps, "bilinear", "border", True, match="faces_uvs must be")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu[:, :1], maps, "bilinear", "border", True, match="verts_uvs must be")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu.double(), maps, "bilinear", "border", True, match="same dtype")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu, maps[0], "bilinear", "border", True, match="maps must be 4-D")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu, maps.expand(2, -1, -1, -1), "bilinear", "border", True,
           match="one map per image")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu, maps[:, :0], "bilinear", "border", True, match="not be empty")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu, maps.long(), "bilinear", "border", True, match="maps must be float16")
    raises(ops.sample_textures_uv, p2f, bary, fu.clamp_max(3) + 1, vu, maps, "bilinear", "border", True,
           match="faces_uvs must index")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu, maps, "area", "border", True, match="mode must be")
    raises(ops.sample_textures_uv, p2f, bary, fu, vu, maps, "bilinear", "mirror", True, match="padding_mode must be")
    raises(ops.sample_textures_uv_backward, g[..., :2], p2f, bary, fu, vu, maps, "bilinear", "border", True,
           match="grad must have")
    raises(ops.sample_textures_uv_backward, g.long(), p2f, bary, fu, vu, maps, "bilinear", "border", True,
           match="grad must be float16")


@pytest.mark.skipif(not CUDA, reason="needs meshgraph's CUDA kernels and a GPU")
def test_sample_textures_uv_cuda_rejects_cpu_tensors_and_clamps():
    c = torch.device("cuda")
    p2f, bary, fu, vu, maps = _uv_slots(c)
    for i in range(5):
        args = [p2f, bary, fu, vu, maps]
        args[i] = args[i].cpu()
        raises(ops.sample_textures_uv, *args, "bilinear", "border", True, match="same device")
    raises(ops.sample_textures_uv_backward, torch.ones(1, 1, 2, 2, 3), p2f, bary, fu, vu, maps, "bilinear", "border",
           True, match="same device")
    wild_faces = torch.tensor([[0, 9, 2], [-4, 2, 3]], device=c)  # corners outside verts_uvs add nothing
    wild_p2f = torch.tensor([[[[7, -3], [1, 0]]]], device=c)
    for mode in ("bilinear", "nearest"):
        out = ops.sample_textures_uv(wild_p2f, bary, wild_faces, vu, maps, mode, "zeros", False)
        grads = ops.sample_textures_uv_backward(torch.ones_like(out), wild_p2f, bary, wild_faces, vu, maps, mode,
                                                "zeros", False)
        assert torch.isfinite(out).all() and all(torch.isfinite(t).all() for t in grads)
    torch.cuda.synchronize()
# --- end textures
