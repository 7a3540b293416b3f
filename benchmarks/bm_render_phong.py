"""Lit soft rendering of the cow (../shared/data/cow.obj, 5,856 faces) with SoftPhongShader, meshgraph vs PyTorch3D
(v0.7.9 built from source: benchmarks/_common.py real_pytorch3d) in the same run, the same code on both libraries:
FoVPerspectiveCameras (look_at_view_transform(2.7, 10, 30)), a PointLights, 256^2, faces_per_pixel=8,
blur_radius = log(1/1e-4 - 1) * 1e-4 (PyTorch3D's soft-rasterizer recipe), BlendParams(sigma=1e-4, gamma=1e-4).
Forward + backward of a loss on the RGBA image (squared difference to a fixed random image); gradients reach the
vertices and the texture.

W1 (issue 14: >= 30x PyTorch3D): TexturesVertex (random vertex colours).
W2 (issue 14: >= 20x PyTorch3D): TexturesUV with a 1024^2 map (a synthetic map on the cow's own UVs: the data
    folder has no cow texture image; the time does not depend on the texels).
Checked before timing: the image (max abs difference) and the vertex and texture gradients against PyTorch3D's.
Without PyTorch3D only our rows are printed.
--device cuda: ours on the GPU, checked against our CPU render.

Where d loss / d verts is not compared with PyTorch3D's: the vertices of faces with a slot whose perspective-correct
barycentric denominator S = w0 z1 z2 + w1 z0 z2 + w2 z0 z1 is clamped (S <= 1e-8, both rasterizers clamp it to 1e-8).
These are pixels within the blur radius but beyond the "horizon" of a tiny face (|w| ~ 200 on a face of area ~2e-6,
S < 0): the clamped barycentrics t / 1e-8 are then renormalized by the barycentric clip, so the forward is finite and
the same in both libraries, and the clamp's derivative is 0. PyTorch3D's backward
(BarycentricPerspectiveCorrectionBackward, v0.7.9) still adds the term -sum(t_i g_i) / D^2 with D = 1e-8: zero in exact
arithmetic (the clip's gradient is orthogonal to the barycentrics), float32 rounding residue times 1e16 in practice.
On the full-size cow this gave PyTorch3D gradients up to 1.5e6 on 106 of 8,790 coordinates (15 faces), where ours
and float64 central finite differences of our loss agree (e.g. 36.0142 / 36.0144 vs PyTorch3D's -1.5e6). Those
vertices are checked against our float64 render instead (its gradient is the one finite differences confirm)."""

from __future__ import annotations

import math
from pathlib import Path

import torch

import meshgraph.compat.pytorch3d.renderer  # noqa: F401  (the same PyTorch3D-style code runs on both libraries)
import meshgraph.compat.pytorch3d.structures  # noqa: F401
from meshgraph.compat import pytorch3d as ours_lib
from meshgraph.io import load_obj

from _common import bench_args, real_pytorch3d, report, timeit

COW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cow.obj"
SIGMA = 1e-4


def cow():
    verts, faces, aux = load_obj(COW, load_textures=False)
    return verts, faces.verts_idx, aux.verts_uvs, faces.textures_idx


def texture_map(size):
    """A smooth RGB map with fine detail (so bilinear lookups differ texel to texel)."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    return torch.stack([xx, yy, 0.5 + 0.5 * torch.sin(40 * xx) * torch.cos(40 * yy)], -1)[None] * 0.9 + 0.05


def render(lib, verts, faces, tex, size, K, device="cpu", **uv):
    """One SoftPhongShader render of the cow with `tex` as vertex colours (V, 3) or a UV map (1, H, W, 3)."""
    r = lib.renderer
    if uv:
        textures = r.TexturesUV(maps=tex, faces_uvs=[uv["faces_uvs"]], verts_uvs=[uv["verts_uvs"]])
    else:
        textures = r.TexturesVertex(verts_features=[tex])
    mesh = lib.structures.Meshes(verts=[verts], faces=[faces], textures=textures)
    R, T = r.look_at_view_transform(2.7, 10.0, 30.0, device=device)
    cameras = r.FoVPerspectiveCameras(R=R, T=T, device=device)
    settings = r.RasterizationSettings(image_size=size, blur_radius=math.log(1.0 / 1e-4 - 1.0) * SIGMA,
                                       faces_per_pixel=K)
    shader = r.SoftPhongShader(device=device, cameras=cameras,
                               lights=r.PointLights(device=device, location=[[2.0, 2.0, -2.0]]),
                               blend_params=r.BlendParams(sigma=SIGMA, gamma=1e-4))
    return r.MeshRenderer(r.MeshRasterizer(cameras=cameras, raster_settings=settings), shader)(mesh)


def step(lib, verts, faces, tex, target, size, K, device="cpu", **uv):
    """Forward + backward: (image, d loss / d verts, d loss / d texture)."""
    v = verts.detach().clone().requires_grad_(True)
    t = tex.detach().clone().requires_grad_(True)
    image = render(lib, v, faces, t, size, K, device, **uv)
    (image - target).square().sum().backward()
    return image.detach(), v.grad, t.grad


def clamped_verts(verts, faces, size, K):
    """(V,) bool: vertices of the faces with a slot whose perspective-correct barycentric denominator is clamped
    (S <= 1e-8, see the module docstring), from our rasterizer's fragments of the benchmark's scene."""
    from meshgraph.ops.reference.render import pixel_centers

    r = ours_lib.renderer
    mesh = ours_lib.structures.Meshes(verts=[verts], faces=[faces])
    R, T = r.look_at_view_transform(2.7, 10.0, 30.0)
    settings = r.RasterizationSettings(image_size=size, blur_radius=math.log(1.0 / 1e-4 - 1.0) * SIGMA,
                                       faces_per_pixel=K)
    rasterizer = r.MeshRasterizer(cameras=r.FoVPerspectiveCameras(R=R, T=T), raster_settings=settings)
    with torch.no_grad():
        p2f = rasterizer(mesh).pix_to_face[0]  # (H, W, K)
        fv = rasterizer.transform(mesh).verts_packed()[faces][p2f.clamp_min(0)]  # (H, W, K, 3, 3)
        ys, xs = pixel_centers(size, size)
        px, py = xs[None, :, None], ys[:, None, None]
        x, y, z = fv[..., 0], fv[..., 1], fv[..., 2]

        def edge(i, j):  # E(p, v_i, v_j)
            return (px - x[..., i]) * (y[..., j] - y[..., i]) - (py - y[..., i]) * (x[..., j] - x[..., i])

        area = (x[..., 2] - x[..., 0]) * (y[..., 1] - y[..., 0]) - (y[..., 2] - y[..., 0]) * (x[..., 1] - x[..., 0])
        S = (edge(1, 2) * z[..., 1] * z[..., 2] + edge(2, 0) * z[..., 0] * z[..., 2]
             + edge(0, 1) * z[..., 0] * z[..., 1]) / area
        bad_faces = p2f[(p2f >= 0) & (S <= 1e-8)].unique()
    flagged = torch.zeros(verts.shape[0], dtype=torch.bool)
    flagged[faces[bad_faces].reshape(-1)] = True
    return flagged


def check(got, want, what, skip_verts=None, exact=None):
    """Images to 2e-4 (1/20 of 1/255); gradients to 1e-3 of their largest magnitude (the K-face sums run in another
    order). skip_verts (V,) bool: vertices whose gradient is compared with `exact` (our float64 step) instead."""
    image, gv, gt = got
    image_w, gv_w, gt_w = want
    torch.testing.assert_close(image, image_w, rtol=0, atol=2e-4, msg=lambda m: f"{what} image: {m}")
    keep = slice(None) if skip_verts is None else ~skip_verts
    for name, a, b in (("verts", gv[keep], gv_w[keep]), ("texture", gt, gt_w)):
        scale = b.abs().max().item()
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3 * scale, msg=lambda m: f"{what} d/d{name}: {m}")
    if skip_verts is not None and bool(skip_verts.any()):
        scale = exact[1].abs().max().item()
        torch.testing.assert_close(gv[skip_verts].double(), exact[1][skip_verts], rtol=1e-3, atol=1e-3 * scale,
                                   msg=lambda m: f"{what} d/dverts at the clamped-denominator vertices vs float64: {m}")
    return (image - image_w).abs().max().item()


def main(argv=None):
    args = bench_args(argv, size=(int, 256), faces_per_pixel=(int, 8), map_size=(int, 1024))
    size, K, M = (32, 2, 64) if args.quick else (args.size, args.faces_per_pixel, args.map_size)
    p3d = real_pytorch3d(needs=("rasterize_meshes", "rasterize_meshes_backward"))
    verts, faces, verts_uvs, faces_uvs = cow()
    g = torch.Generator().manual_seed(0)
    target = torch.rand(1, size, size, 4, generator=g)
    workloads = [
        (f"W1 SoftPhongShader, TexturesVertex", torch.rand(verts.shape[0], 3, generator=g), {}),
        (f"W2 SoftPhongShader, TexturesUV {M}^2 map", texture_map(M),
         dict(verts_uvs=verts_uvs, faces_uvs=faces_uvs)),
    ]
    reps, peer_reps = (1, 1) if args.quick else (5, 3)
    dev = args.device
    for title, tex, uv in workloads:
        ours = step(ours_lib, verts, faces, tex, target, size, K, **uv)
        covered = (ours[0][..., 3] > 0).float().mean().item()
        assert 0.1 < covered < 0.9, f"the cow covers {covered:.1%} of the image"
        line = f"cow coverage {covered:.1%}"
        if p3d is not None:
            skip = clamped_verts(verts, faces, size, K)
            exact = None
            if bool(skip.any()):
                uv64 = {k: (v.double() if v.is_floating_point() else v) for k, v in uv.items()}
                exact = step(ours_lib, verts.double(), faces, tex.double(), target.double(), size, K, **uv64)
            want = step(p3d, verts, faces, tex, target, size, K, **uv)
            line += (f", max |image - PyTorch3D's| {check(ours, want, title, skip, exact):.2e}, d/dverts of "
                     f"{int(skip.sum())} vertices checked against float64 (PyTorch3D's clamped-denominator backward)")
        if dev != "cpu":
            uv_d = {k: v.to(dev) for k, v in uv.items()}
            on = step(ours_lib, verts.to(dev), faces.to(dev), tex.to(dev), target.to(dev), size, K, dev, **uv_d)
            check([x.cpu() for x in on], ours, f"{title} on {dev}")
        full = f"{title}: cow 5,856 faces, {size}^2, K={K}, fwd+bwd on {dev} ({line})"

        def run(lib, d=dev):
            u = {k: v.to(d) for k, v in uv.items()}
            return lambda: step(lib, verts.to(d), faces.to(d), tex.to(d), target.to(d), size, K, d, **u)

        rows = [("meshgraph SoftPhongShader", timeit(run(ours_lib), repeat=reps, warmup=1))]
        if p3d is not None and dev == "cpu":
            rows.append(("PyTorch3D SoftPhongShader", timeit(run(p3d), repeat=peer_reps, warmup=1)))
        report(full, rows, "meshgraph SoftPhongShader")


if __name__ == "__main__":
    main()
