"""Point-cloud classification with a small PointNet++-style network (FPS + ball query + PointNetConv).

    python examples/pointcloud_classification.py --data ../shared/data --steps 300

Classes: the shared meshes (cow, teapot, Stanford bunny) plus an icosphere. Every cloud is `--points` samples of a
mesh surface under a random rotation about the up axis, scale (0.7-1.3) and jitter; training and test clouds are drawn independently
(different random poses). Two set-abstraction levels: farthest point sampling picks centres, ball_query collects
each centre's neighbours (first K within the radius), PointNetConv runs an MLP on [features, relative position]
and max-pools per centre; a global max pool and an MLP classify. Prints test accuracy and time per step.
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
from meshgraph.nn import PointNetConv
from meshgraph.ops import ball_query, sample_farthest_points, sample_points_from_meshes
from meshgraph.utils import ico_sphere

MESHES = ("cow.obj", "teapot.obj", "stanford-bunny.obj")


def load_shapes(data: Path) -> list[mg.GraphBatch]:
    shapes = [mg.GraphBatch([load_mesh(data / m)]) for m in MESHES] + [mg.GraphBatch([ico_sphere(3)])]
    out = []
    for s in shapes:  # centre and scale into the unit sphere
        p = s.pos_packed() - s.pos_packed().mean(0)
        out.append(s.update_features("pos", p / p.norm(dim=1).max()))
    return out


def random_clouds(shapes, n: int, points: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """n clouds (n, points, 3) with labels (n,): a random shape, rotation about y, scale and jitter each."""
    labels = torch.randint(len(shapes), (n,), generator=g)
    clouds = []
    for y in labels.tolist():
        pts = sample_points_from_meshes(shapes[y], points, generator=g)[0]
        angle = 2 * math.pi * float(torch.rand(1, generator=g))  # about the up (y) axis, as ModelNet setups do
        c, s = math.cos(angle), math.sin(angle)
        rot = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        scale = 0.7 + 0.6 * float(torch.rand(1, generator=g))
        clouds.append(pts @ rot.T * scale + 0.01 * torch.randn(points, 3, generator=g))
    return torch.stack(clouds), labels


def mlp(*dims: int) -> nn.Sequential:
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class SetAbstraction(nn.Module):
    """FPS centres, ball-query neighbourhoods, PointNetConv on the bipartite graph points -> centres."""

    def __init__(self, centres: int, radius: float, k: int, in_dim: int, out_dim: int):
        super().__init__()
        self.centres, self.radius, self.k = centres, radius, k
        self.conv = PointNetConv(mlp(in_dim + 3, out_dim, out_dim), add_self_loops=False)

    def forward(self, pos: torch.Tensor, x: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        B, P, _ = pos.shape
        centres, _ = sample_farthest_points(pos, K=self.centres)  # (B, M, 3)
        nbr = ball_query(centres, pos, K=self.k, radius=self.radius, return_nn=False).idx  # (B, M, k), -1 padded
        M = centres.shape[1]
        # one graph over [all points; centres]: edge (point j of cloud b) -> (centre m of cloud b)
        b_idx = torch.arange(B)[:, None, None].expand(B, M, self.k)
        ok = nbr >= 0
        src = (b_idx * P + nbr)[ok]
        dst = (B * P + b_idx * M + torch.arange(M)[None, :, None])[ok]
        all_pos = torch.cat([pos.reshape(-1, 3), centres.reshape(-1, 3)])
        feats = None
        if x is not None:
            feats = torch.cat([x.reshape(B * P, -1), x.new_zeros(B * M, x.shape[-1])])
        out = self.conv(feats, all_pos, torch.stack([src, dst]))
        return centres, out[B * P:].view(B, M, -1)


class PointNet2(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.sa1 = SetAbstraction(128, 0.25, 24, 0, 64)
        self.sa2 = SetAbstraction(32, 0.5, 24, 64, 128)
        self.head = nn.Sequential(mlp(128 + 3, 256), nn.Linear(256, classes))

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        c1, f1 = self.sa1(pos, None)
        c2, f2 = self.sa2(c1, f1)
        return self.head(torch.cat([f2, c2], -1)).max(1).values  # global max pool over centres


def run(data: Path, steps: int = 300, points: int = 512, batch: int = 16, test: int = 200, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    shapes = load_shapes(data)
    model = PointNet2(len(shapes))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = random_clouds(shapes, batch, points, g)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    step_ms = 1e3 * (time.perf_counter() - t0) / max(steps, 1)
    model.eval()
    xt, yt = random_clouds(shapes, test, points, torch.Generator().manual_seed(seed + 1000))
    with torch.no_grad():
        pred = torch.cat([model(xt[i : i + 50]).argmax(1) for i in range(0, test, 50)])
    return dict(test_accuracy=(pred == yt).float().mean().item(), step_ms=step_ms, final_loss=loss.item())


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--points", type=int, default=512)
    p.add_argument("--test", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    r = run(args.data, args.steps, args.points, test=args.test)
    print(f"test accuracy {100 * r['test_accuracy']:.1f} % on {args.test} unseen poses ({len(MESHES) + 1} classes), "
          f"{r['step_ms']:.0f} ms per training step of 16 clouds x {args.points} points")
    return r


if __name__ == "__main__":
    main()
