"""Data-parallel training of the demo's mesh deformer with torch.distributed (DDP) on CPU or GPUs.

    torchrun --standalone --nproc_per_node=2 examples/ddp_deform.py --steps 50 --out ddp_out

Each rank gets a different share of the targets (the bundled cow under random rotations and scales) through
DistributedSampler; DistributedDataParallel averages the gradients, so every replica ends with the same weights.
gloo on CPU, nccl on GPUs. Rank 0 writes the deformed mesh; every rank writes its final weights
(`weights_rank<r>.pt`) so a test can check the replicas agree.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset, DistributedSampler

import meshgraph as mg
from meshgraph.demo import WEIGHTS, Deformer, load_cow
from meshgraph.io import save_mesh
from meshgraph.losses import chamfer_distance, mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from meshgraph.ops import sample_points_from_meshes
from meshgraph.utils import ico_sphere


class RotatedCows(Dataset):
    """Point samples of the cow under fixed random rotations about the up axis and scales (one per item)."""

    def __init__(self, size: int, samples: int, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        cow = load_cow("cpu")
        self.items = []
        for _ in range(size):
            angle = float(torch.rand(1, generator=g)) * 2 * math.pi
            c, s = math.cos(angle), math.sin(angle)
            rot = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]])
            scale = 0.8 + 0.4 * float(torch.rand(1, generator=g))
            target = cow.clone().update_features("pos", cow.pos_packed() @ rot.T * scale)
            self.items.append(sample_points_from_meshes(target, samples, generator=g)[0])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--targets", type=int, default=8)
    p.add_argument("--out", type=Path, default=Path("ddp_out"))
    args = p.parse_args(argv)
    use_cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if use_cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if use_cuda else torch.device("cpu")
    torch.manual_seed(0)  # identical initial weights on every rank (DDP also broadcasts rank 0's)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // world))

    data = RotatedCows(args.targets, args.samples)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=1, sampler=sampler)
    sphere = mg.GraphBatch([ico_sphere(3, device=device)])
    src = sphere.pos_packed()
    model = DDP(Deformer(sphere.num_verts, hidden=64, layers=3).to(device), device_ids=[device.index] if use_cuda else None)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    pred = sphere.clone()
    step, epoch = 0, 0
    while step < args.steps:
        sampler.set_epoch(epoch)
        for target in loader:
            pred.update_features("pos", src + model(src, sphere))
            parts = {
                "chamfer": chamfer_distance(sample_points_from_meshes(pred, args.samples), target.to(device))[0],
                "edge": mesh_edge_loss(pred),
                "normal": mesh_normal_consistency(pred),
                "laplacian": mesh_laplacian_smoothing(pred),
            }
            loss = sum(WEIGHTS[k] * v for k, v in parts.items())
            opt.zero_grad()
            loss.backward()  # DDP all-reduces (averages) the gradients here
            opt.step()
            step += 1
            if rank == 0 and (step % 10 == 0 or step == args.steps):
                print(f"step {step}: loss {loss.item():.5f} chamfer {parts['chamfer'].item():.5f}", flush=True)
            if step >= args.steps:
                break
        epoch += 1
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.module.state_dict().items()}, args.out / f"weights_rank{rank}.pt")
    if rank == 0:
        with torch.no_grad():
            final = sphere.clone().update_features("pos", src + model.module(src, sphere))
        save_mesh(args.out / "deformed.obj", final.graphs()[0])
        print(f"wrote {args.out.resolve()}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
