"""SynSin-style novel-view synthesis with rendered latent features (Wiles et al., CVPR 2020, in miniature).

    python examples/synsin.py --data ../shared/data --steps 300

A point cloud sampled on the cow carries a learned 64-d feature per point and learned position offsets. For a
camera, `GraphToImage` (points mode, alpha compositing) splats the features into a 64-channel image; a small
convolutional decoder turns it into RGB. Ground truth: the cow rendered (mesh mode, shaded) from 12 training
views around it; two views in between are held out. Training is end to end: the L1 image loss reaches the
decoder, the point features and the point positions through the differentiable rasterizer and compositor (the
script prints their gradient norms after the first step). Prints the held-out PSNR before and after training and
writes a PNG (held-out target | prediction) into --out.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
from torch import nn

import meshgraph as mg
from meshgraph.io import load_mesh
from meshgraph.nn import GraphToImage
from meshgraph.ops import sample_points_from_meshes
from meshgraph.render import FoVPerspectiveCameras, look_at_view_transform, save_png

TRAIN_AZIM = [i * 30.0 for i in range(12)]
TEST_AZIM = [45.0, 195.0]


def cameras(azim, device="cpu"):
    R, T = look_at_view_transform(dist=2.8, elev=[20.0] * len(azim), azim=azim, device=device)
    return FoVPerspectiveCameras(R=R, T=T, fov=45.0, device=device)


def ground_truth(mesh: mg.GraphBatch, azim, size: int) -> torch.Tensor:
    """(V, 3, size, size) shaded renders of the mesh (headlight Lambertian on a warm albedo, white background)."""
    cams = cameras(azim)
    normals = mesh.vertex_normals()
    colors = []
    for c in cams.get_camera_center():
        light = torch.nn.functional.normalize(c + torch.tensor([0.0, 1.0, 0.0]), dim=0)
        lit = (normals @ light).clamp(min=0) * 0.7 + 0.3
        colors.append(lit[:, None] * torch.tensor([0.9, 0.7, 0.5]))
    batch = mg.GraphBatch.collate([mesh] * len(azim))
    with torch.no_grad():
        return GraphToImage(size, mode="mesh", background=1.0)(batch, cams, feature=torch.cat(colors, 0))


class FeatureCloud(nn.Module):
    """Points with learned features and learned position offsets, rendered by GraphToImage."""

    def __init__(self, points: torch.Tensor, channels: int, size: int, radius: float):
        super().__init__()
        self.register_buffer("base", points)
        self.offset = nn.Parameter(torch.zeros_like(points))
        self.features = nn.Parameter(torch.randn(points.shape[0], channels) * 0.1)
        self.render = GraphToImage(size, mode="points", radius=radius, points_per_pixel=8, compositor="alpha")

    def forward(self, cams) -> torch.Tensor:
        n = len(cams)
        pos = self.base + self.offset
        graph = mg.GraphBatch.from_pointclouds([pos] * n)
        return self.render(graph, cams, feature=self.features.repeat(n, 1))


class Decoder(nn.Module):
    """Feature image -> RGB: a few residual 3x3 convolutions (SynSin's refinement network, shrunk)."""

    def __init__(self, channels: int, hidden: int = 64):
        super().__init__()
        self.inp = nn.Conv2d(channels, hidden, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(hidden, hidden, 3, padding=1) for _ in range(3))
        self.out = nn.Conv2d(hidden, 3, 3, padding=1)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        for b in self.blocks:
            h = h + torch.relu(b(h))
        return torch.sigmoid(self.out(h))


def psnr(a, b):
    return float(10 * torch.log10(1.0 / (a - b).square().mean()))


def run(data: Path, steps: int = 300, size: int = 64, points: int = 6000, channels: int = 64, batch: int = 4,
        out: Path | None = None, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    cow = load_mesh(data / "cow.obj")
    pos = cow.pos - cow.pos.mean(0)
    mesh = mg.GraphBatch.from_meshes([pos / pos.norm(dim=1).max()], [cow.faces])
    train_img, test_img = ground_truth(mesh, TRAIN_AZIM, size), ground_truth(mesh, TEST_AZIM, size)
    cloud_pts = sample_points_from_meshes(mesh, points, generator=torch.Generator().manual_seed(seed))[0]
    cloud = FeatureCloud(cloud_pts, channels, size, radius=1.5 * 2.0 / size)
    decoder = Decoder(channels)
    opt = torch.optim.Adam([{"params": decoder.parameters(), "lr": 2e-3},
                            {"params": [cloud.features], "lr": 1e-2},
                            {"params": [cloud.offset], "lr": 1e-4}])
    test_cams = cameras(TEST_AZIM)
    with torch.no_grad():
        before = psnr(decoder(cloud(test_cams)), test_img)
    grads = {}
    t0 = time.perf_counter()
    for step in range(steps):
        pick = torch.randperm(len(TRAIN_AZIM))[:batch]
        cams = cameras([TRAIN_AZIM[i] for i in pick])
        loss = (decoder(cloud(cams)) - train_img[pick]).abs().mean()
        opt.zero_grad()
        loss.backward()
        if step == 0:
            grads = {"features": float(cloud.features.grad.norm()), "positions": float(cloud.offset.grad.norm()),
                     "decoder": float(sum(p.grad.norm() ** 2 for p in decoder.parameters()) ** 0.5)}
            print("gradient norms after step 1: " + ", ".join(f"{k} {v:.3e}" for k, v in grads.items()))
        opt.step()
    step_ms = (time.perf_counter() - t0) / max(steps, 1) * 1e3
    with torch.no_grad():
        pred = decoder(cloud(test_cams))
    after = psnr(pred, test_img)
    result = dict(psnr_before=before, psnr_after=after, step_ms=step_ms, grads=grads)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        grid = torch.cat([torch.cat([test_img[i], pred[i]], 2) for i in range(len(TEST_AZIM))], 1)
        result["image"] = save_png(grid, out / "synsin_heldout.png")
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--points", type=int, default=6000)
    p.add_argument("--out", type=Path, default=Path("synsin_out"))
    a = p.parse_args(argv)
    r = run(a.data, steps=a.steps, size=a.size, points=a.points, out=a.out)
    print(f"held-out views: PSNR {r['psnr_before']:.2f} dB before training, {r['psnr_after']:.2f} dB after "
          f"{a.steps} steps ({r['step_ms']:.1f} ms/step); image: {r.get('image')}")
    return r


if __name__ == "__main__":
    main()
