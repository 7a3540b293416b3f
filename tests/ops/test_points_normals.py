"""estimate_pointcloud_normals / estimate_pointcloud_local_coord_frames: analytic normals of planes and spheres,
PyTorch3D's algorithm written out in plain PyTorch (outer products + eigh + the SHOT sign count), the sign
disambiguation, padded clouds with lengths (Pointclouds and GraphBatch), both solvers, gradients, bad input."""

import pytest
import torch

from meshgraph.ops import estimate_pointcloud_local_coord_frames, estimate_pointcloud_normals
from meshgraph.graph import GraphBatch
from meshgraph.structures import Pointclouds


def _sphere(n, batch=2, seed=0, dtype=torch.float64, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    d = torch.nn.functional.normalize(torch.randn(batch, n, 3, generator=g, dtype=torch.float64), dim=2)
    scale = 1 + torch.rand(batch, 1, 1, generator=g, dtype=torch.float64)
    shift = torch.randn(batch, 1, 3, generator=g, dtype=torch.float64)
    return (d * scale + shift).to(dtype).to(device), d.to(dtype).to(device)


def _plane(n, seed=0, dtype=torch.float64, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    uv = torch.rand(n, 2, generator=g, dtype=torch.float64) * 4 - 2
    pts = uv[:, :1] * q[:, 0] + uv[:, 1:] * q[:, 1] + torch.randn(3, generator=g, dtype=torch.float64)
    return pts[None].to(dtype).to(device), q[:, 2].to(dtype).to(device)


def _pytorch3d_algorithm(points, K, disambiguate):
    """PyTorch3D 0.7.9's estimate_pointcloud_local_coord_frames on a full (N, P, 3) tensor, written out naively:
    brute-force neighbours, (N, P, K, 3, 3) outer products, torch.linalg.eigh, the count-based sign rule."""
    centered = points - points.mean(1, keepdim=True)
    d = torch.cdist(centered, centered)
    idx = d.topk(K, dim=2, largest=False).indices
    nn = torch.stack([c[i] for c, i in zip(centered, idx)])  # (N, P, K, 3)
    diff = nn - nn.mean(2, keepdim=True)
    cov = (diff.unsqueeze(4) * diff.unsqueeze(3)).mean(2)
    curv, frames = torch.linalg.eigh(cov)
    if disambiguate:
        def orient(v):
            proj = (v[:, :, None] * (nn - centered[:, :, None])).sum(3)
            flip = ((proj > 0).to(nn.dtype).sum(2, keepdim=True) < 0.5 * K).to(nn.dtype)
            return (1 - 2 * flip) * v
        n, z = orient(frames[..., 0]), orient(frames[..., 2])
        frames = torch.stack((n, torch.linalg.cross(n, z, dim=2), z), dim=3)
    return curv, frames


def _align(v, like):
    s = torch.sign((v * like).sum(-2, keepdim=True))
    return v * torch.where(s == 0, 1.0, s)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_plane_normals_are_the_plane_normal(device, dtype):
    pts, normal = _plane(400, seed=1, dtype=dtype, device=device)
    for workaround in (True, False):
        curv, frames = estimate_pointcloud_local_coord_frames(pts, 20, False, use_symeig_workaround=workaround)
        cos = (frames[0, :, :, 0] * normal).sum(1).abs()
        assert cos.min() > 1 - (1e-5 if dtype == torch.float32 else 1e-12)
        # zero curvature across the plane, positive in it
        assert curv[0, :, 0].abs().max() <= (1e-6 if dtype == torch.float32 else 1e-14)
        assert (curv[0, :, 1] > 1e-3).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sphere_normals_are_radial_and_disambiguated_consistently(device, dtype):
    pts, radial = _sphere(1500, dtype=dtype, device=device)
    normals = estimate_pointcloud_normals(pts, 30)
    cos = (normals * radial).sum(2)
    assert cos.abs().min() > 0.98 and (1 - cos.abs()).mean() < 2e-3
    # a convex surface: most neighbours lie inward, so every disambiguated normal points inward
    assert (cos < 0).all()
    torch.testing.assert_close(normals.norm(dim=2), torch.ones(2, 1500, dtype=dtype, device=device))
    # without disambiguation: still radial, signs as the solver's sign rule leaves them (not all inward)
    raw = estimate_pointcloud_normals(pts, 30, disambiguate_directions=False)
    assert ((raw * radial).sum(2).abs() - cos.abs()).abs().max() < 1e-5
    assert ((raw * radial).sum(2) > 0).any()


@pytest.mark.parametrize("disambiguate", [True, False])
def test_matches_pytorch3d_algorithm_written_out(device, disambiguate):
    g = torch.Generator().manual_seed(5)
    pts = torch.randn(2, 300, 3, generator=g, dtype=torch.float64).to(device)
    pts[..., 2] *= 0.2  # a flattened blob: well-separated spectra
    curv, frames = estimate_pointcloud_local_coord_frames(pts, 16, disambiguate)
    ecurv, eframes = _pytorch3d_algorithm(pts, 16, disambiguate)
    torch.testing.assert_close(curv, ecurv, rtol=1e-9, atol=1e-12)
    gap = (ecurv[..., 1:] - ecurv[..., :-1]).amin(-1) > 1e-6 * ecurv[..., 2]
    if not disambiguate:  # signs follow each solver's own convention
        frames = _align(frames, eframes)
    torch.testing.assert_close(frames[gap], eframes[gap], rtol=0, atol=1e-8)
    assert gap.float().mean() > 0.99


def test_disambiguation_flips_by_the_neighbour_count_and_crosses_the_middle_axis(device):
    pts, _ = _sphere(200, batch=1, seed=3, device=device)
    pts = pts + 0.05 * torch.randn(pts.shape, generator=torch.Generator().manual_seed(1), dtype=pts.dtype).to(device)
    _, raw = estimate_pointcloud_local_coord_frames(pts, 12, False)
    _, fixed = estimate_pointcloud_local_coord_frames(pts, 12, True)
    from meshgraph.ops import knn_points

    c = pts - pts.mean(1, keepdim=True)
    nn = knn_points(c, c, K=12, return_nn=True).knn[0]  # (P, K, 3)
    off = nn - c[0][:, None]
    for j in (0, 2):
        positive = ((off * raw[0, :, None, :, j]).sum(-1) > 0).sum(1)
        sign = torch.where(positive < 6, -1.0, 1.0).to(pts.dtype)
        torch.testing.assert_close(fixed[0, :, :, j], raw[0, :, :, j] * sign[:, None])
    torch.testing.assert_close(fixed[..., 1], torch.linalg.cross(fixed[..., 0], fixed[..., 2], dim=-1))
    # (n, n x z, z) as PyTorch3D orders it: an orthonormal frame with det -1
    torch.testing.assert_close(torch.linalg.det(fixed), -torch.ones(1, 200, dtype=pts.dtype, device=device))


def test_padded_clouds_with_lengths(device):
    pts, radial = _sphere(260, batch=3, seed=7, device=device)
    sizes = [260, 150, 90]
    clouds = Pointclouds([p[:n] for p, n in zip(pts, sizes)])
    for curv_frames in (
        estimate_pointcloud_local_coord_frames(clouds, 20),
        estimate_pointcloud_local_coord_frames(GraphBatch.from_pointclouds([p[:n] for p, n in zip(pts, sizes)]), 20),
    ):
        curv, frames = curv_frames
        assert curv.shape == (3, 260, 3) and frames.shape == (3, 260, 3, 3)
        for i, n in enumerate(sizes):
            ec, ef = estimate_pointcloud_local_coord_frames(pts[i : i + 1, :n], 20)
            torch.testing.assert_close(curv[i, :n], ec[0])
            torch.testing.assert_close(frames[i, :n], ef[0])
            assert not curv[i, n:].any() and not frames[i, n:].any()
    normals = estimate_pointcloud_normals(clouds, 20)
    torch.testing.assert_close(normals, frames[..., 0])
    # Pointclouds.estimate_normals uses the same function
    torch.testing.assert_close(clouds.estimate_normals(20), normals)


def test_solvers_agree(device):
    pts, _ = _sphere(500, seed=2, dtype=torch.float32, device=device)
    c1, f1 = estimate_pointcloud_local_coord_frames(pts, 25, use_symeig_workaround=True)
    c2, f2 = estimate_pointcloud_local_coord_frames(pts, 25, use_symeig_workaround=False)
    torch.testing.assert_close(c1, c2, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(f1[..., 0], f2[..., 0], rtol=0, atol=1e-4)


def test_half_types_run_in_float32(device):
    pts, radial = _sphere(400, batch=1, seed=4, dtype=torch.float32, device=device)
    for dtype in (torch.float16, torch.bfloat16):
        n = estimate_pointcloud_normals(pts.to(dtype), 20)
        assert n.dtype == dtype
        assert (n.float() * radial).sum(2).abs().mean() > 0.97


def test_gradients_through_the_kernel_match_eigh(device):
    g = torch.Generator().manual_seed(9)
    base = torch.randn(1, 40, 3, generator=g, dtype=torch.float64)
    base[..., 2] *= 0.3
    pts = base.to(device).requires_grad_(True)

    def f(p, workaround):
        c, fr = estimate_pointcloud_local_coord_frames(p, 8, True, use_symeig_workaround=workaround)
        return c, fr

    assert torch.autograd.gradcheck(lambda p: f(p, True), (pts,))
    w = torch.randn(1, 40, 3, 3, dtype=torch.float64, device=device)
    (f(pts, True)[1] * w).sum().backward()
    ours = pts.grad.clone()
    pts.grad = None
    (f(pts, False)[1] * w).sum().backward()
    torch.testing.assert_close(ours, pts.grad, rtol=1e-7, atol=1e-9)


def test_bad_inputs():
    pts = torch.rand(2, 30, 3)
    with pytest.raises(ValueError, match="neighborhood_size"):
        estimate_pointcloud_normals(pts, 30)
    with pytest.raises(ValueError, match="neighborhood_size"):
        estimate_pointcloud_normals(Pointclouds([torch.rand(40, 3), torch.rand(10, 3)]), 10)
    with pytest.raises(ValueError, match="neighborhood_size"):
        estimate_pointcloud_normals(pts, 0)
    with pytest.raises(ValueError, match=r"\(minibatch, N, 3\)"):
        estimate_pointcloud_normals(torch.rand(2, 30, 2), 5)
    with pytest.raises(ValueError, match=r"\(minibatch, N, 3\)"):
        estimate_pointcloud_normals(torch.rand(30, 3), 5)
    with pytest.raises(ValueError, match="Pointclouds objects or tensors"):
        estimate_pointcloud_normals([[0.0, 0.0, 0.0]], 5)
    with pytest.raises(TypeError, match="floating"):
        estimate_pointcloud_normals(torch.randint(0, 5, (1, 30, 3)), 5)


def test_point_covariances_and_conversion_helpers(device):
    from meshgraph.ops.points_normals import convert_pointclouds_to_tensor, get_point_covariances, is_pointclouds

    g = torch.Generator().manual_seed(4)
    pts = torch.randn(2, 50, 3, generator=g, dtype=torch.float64).to(device)
    lengths = torch.tensor([50, 31], device=device)
    cov, nn = get_point_covariances(pts, lengths, 7)
    assert cov.shape == (2, 50, 3, 3) and nn.shape == (2, 50, 7, 3)
    for i, n in enumerate(lengths.tolist()):
        p = pts[i, :n]
        idx = torch.cdist(p, p).topk(7, largest=False).indices
        diff = p[idx] - p[idx].mean(1, keepdim=True)
        expect = (diff.unsqueeze(3) * diff.unsqueeze(2)).mean(1)  # (n, 3, 3) outer products
        torch.testing.assert_close(cov[i, :n], expect)
    clouds = Pointclouds([pts[0], pts[1, :31]])
    assert is_pointclouds(clouds) and not is_pointclouds(pts)
    x, num = convert_pointclouds_to_tensor(clouds)
    assert x.shape == (2, 50, 3) and num.tolist() == [50, 31]
    x, num = convert_pointclouds_to_tensor(pts)
    assert x is pts and num.tolist() == [50, 50] and num.dtype == torch.int64
    with pytest.raises(ValueError, match="Pointclouds objects or tensors"):
        convert_pointclouds_to_tensor(None)
