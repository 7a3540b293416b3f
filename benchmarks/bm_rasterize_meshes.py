"""W6: mesh rendering fwd+bwd: the Stanford bunny (69,451 faces) seen by a perspective camera, K=1 face per pixel,
perspective-correct barycentrics, 3 vertex features interpolated (interpolate_face_attributes via
interpolate_vertex_features), loss on features and depth, 256^2 and 512^2. Ops: rasterize_meshes
(+ rasterize_meshes_backward), interpolate_face_attributes (+ interpolate_face_attributes_backward).

Peer in the same run: a pure-torch z-buffer rasterizer (each face's pixel box expanded into fragments,
barycentric inside test, per-pixel nearest depth by scatter_reduce, torch autograd) — an independent
implementation our pix_to_face is checked against first. PyTorch3D's CPU rasterizer (not installable here) was
measured on this machine class at 17,193 ms (256^2) and 64,932 ms (512^2); the issue's target is 50x faster."""

from __future__ import annotations

import torch

from meshgraph.io import load_mesh
from meshgraph.ops import reference as ref
from meshgraph.ops.interpolate_face_attributes import interpolate_vertex_features
from meshgraph.ops.reference.render import face_fragments, pixel_centers
from meshgraph.render import rasterize_meshes

from _common import bench_args, report, timeit
from bm_rasterize_points import BUNNY, camera

PYTORCH3D_MS = {256: 17193, 512: 64932}


def bunny():
    m = load_mesh(BUNNY)
    v = m.pos - (m.pos.amax(0) + m.pos.amin(0)) / 2
    return v / v.norm(dim=1).max(), m.faces


def ours(verts, feats, faces, size):
    raster = camera().to(verts.device).transform_points_raster(verts[None])[0]
    p2f, zbuf, bary, _ = rasterize_meshes(([raster], [faces]), size, faces_per_pixel=1, perspective_correct=True)
    img = interpolate_vertex_features(p2f, bary, faces, feats)
    return img, zbuf, p2f


def torch_rasterizer(verts, feats, faces, size):
    """Pure torch, K=1: fragments from each face's pixel box, inside test, nearest depth per pixel."""
    H = W = size
    raster = camera().transform_points_raster(verts[None])[0]
    fv = raster[faces]  # (F, 3, 3)
    xy = fv[..., :2].detach()
    col = lambda v: (W - 1) - ((v + 1) * W / 2 - 0.5)  # noqa: E731  NDC -> fractional column (x points left)
    c0 = torch.ceil(col(xy[..., 0].amax(1))).clamp(0, W - 1).long()
    c1 = torch.floor(col(xy[..., 0].amin(1))).clamp(-1, W - 1).long()
    r0 = torch.ceil(col(xy[..., 1].amax(1))).clamp(0, H - 1).long()
    r1 = torch.floor(col(xy[..., 1].amin(1))).clamp(-1, H - 1).long()
    nw, nh = (c1 - c0 + 1).clamp_min(0), (r1 - r0 + 1).clamp_min(0)
    cnt = nw * nh
    fid = torch.repeat_interleave(torch.arange(faces.shape[0]), cnt)
    j = torch.arange(fid.numel()) - torch.repeat_interleave(cnt.cumsum(0) - cnt, cnt)
    px, py = c0[fid] + j % nw[fid], r0[fid] + j // nw[fid]
    ys, xs = pixel_centers(H, W)
    A, b, pz, _, inside = face_fragments(fv[fid], xs[px], ys[py], True, False)
    keep = inside & (A.abs() > 1e-8) & (pz >= 0)
    fid, pix, b, pz = fid[keep], (py * W + px)[keep], b[keep], pz[keep]
    best = torch.full((H * W,), float("inf")).scatter_reduce(0, pix, pz.detach(), "amin")
    # nearest fragment per pixel (ties: smallest face index, as the kernel)
    win = pz.detach() == best[pix]
    first = torch.full((H * W,), faces.shape[0]).scatter_reduce(0, pix[win], fid[win], "amin")
    sel = win & (fid == first[pix])
    fid, pix, b, pz = fid[sel], pix[sel], b[sel], pz[sel]
    img = torch.zeros(H * W, feats.shape[1]).index_put((pix,), (b[:, :, None] * feats[faces[fid]]).sum(1))
    zbuf = torch.full((H * W,), -1.0).index_put((pix,), pz)
    p2f = torch.full((H * W,), -1, dtype=torch.long).index_put((pix,), fid)
    return img.reshape(1, H, W, 1, -1), zbuf.reshape(1, H, W, 1), p2f.reshape(1, H, W, 1)


def device_main(args, verts, feats, faces):
    """GPU run (tools/gpu_check.sh): ours on the device, checked against our CPU kernels first."""
    dev = args.device
    for size in [int(s) for s in args.sizes.split(",")]:
        img, zbuf, p2f = ours(verts, feats, faces, size)
        v0, f0, fc = verts.to(dev), feats.to(dev), faces.to(dev)
        img_d, zbuf_d, p2f_d = ours(v0, f0, fc, size)
        same = p2f_d.cpu() == p2f  # the camera transform rounds differently on the device: edge pixels may flip
        agree = same.float().mean().item()
        assert agree > 0.999, f"rasterize_meshes on the device agrees with the CPU kernels on only {agree:.4%}"
        torch.testing.assert_close(zbuf_d.cpu()[same], zbuf[same], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(img_d.cpu()[same], img[same], rtol=1e-4, atol=1e-4)

        def run():
            v, f = v0.clone().requires_grad_(True), f0.clone().requires_grad_(True)
            out = ours(v, f, fc, size)
            (out[0].square().sum() + out[1].clamp_min(0).sum()).backward()

        rows = [("meshgraph rasterize+interpolate", timeit(run, repeat=10))]
        report(f"W6 mesh fwd+bwd on {dev}: {faces.shape[0]} bunny faces, K=1, perspective-correct, {size}x{size}", rows,
               "meshgraph rasterize+interpolate")


def main(argv=None):
    args = bench_args(argv, sizes=(str, "256,512"))
    verts, faces = bunny()
    if args.quick:
        faces = faces[::20]
    feats = torch.rand(verts.shape[0], 3, generator=torch.Generator().manual_seed(0))
    if args.device != "cpu":
        return device_main(args, verts, feats, faces)
    for size in ([48] if args.quick else [int(s) for s in args.sizes.split(",")]):
        img, zbuf, p2f = ours(verts, feats, faces, size)
        img_t, zbuf_t, p2f_t = torch_rasterizer(verts, feats, faces, size)
        agree = (p2f == p2f_t).float().mean().item()
        assert agree > 0.998, f"pix_to_face agrees with the torch rasterizer on only {agree:.4f} of pixels"
        same = p2f == p2f_t
        torch.testing.assert_close(zbuf[same], zbuf_t[same], rtol=1e-4, atol=1e-5)
        if args.quick:  # the brute-force reference is affordable at this size
            raster = camera().transform_points_raster(verts[None])[0]
            F = torch.tensor([faces.shape[0]])
            expect = ref.rasterize_meshes(raster[faces], torch.tensor([0]), F, size, size, 0.0, 1, 0, True, False, False)
            assert torch.equal(p2f, expect[0])

        def step(fn):
            def run():
                v, f = verts.clone().requires_grad_(True), feats.clone().requires_grad_(True)
                out = fn(v, f, faces, size)
                (out[0].square().sum() + out[1].clamp_min(0).sum()).backward()
            return run

        rows = [
            ("meshgraph rasterize+interpolate", timeit(step(ours), repeat=5)),
            ("pure torch z-buffer rasterizer", timeit(step(torch_rasterizer), repeat=3)),
        ]
        report(f"W6 mesh fwd+bwd: {faces.shape[0]} bunny faces, K=1, perspective-correct, {size}x{size} "
               f"(pix_to_face agreement with the peer {agree:.4%})", rows, "meshgraph rasterize+interpolate")
        if size in PYTORCH3D_MS:
            ms = dict(rows)["meshgraph rasterize+interpolate"]
            print(f"  vs PyTorch3D's {PYTORCH3D_MS[size]} ms (measured on this machine class): {PYTORCH3D_MS[size] / ms:.1f}x")


if __name__ == "__main__":
    main()
