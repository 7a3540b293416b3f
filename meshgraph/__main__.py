"""Command line: `python -m meshgraph demo [--steps N] [--device D] [--out DIR]`."""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path


def demo(steps: int, device: str, out: Path) -> Path:
    """Foundation demo: load the bundled cow, batch it with a point cloud, run Laplacian smoothing on the mesh
    graph and write the result. (The GNN mesh-deformation demo replaces this once its ops land.)"""
    import torch

    import meshgraph as mg
    from meshgraph.io import load_mesh, save_mesh

    t0 = time.perf_counter()
    with resources.as_file(resources.files("meshgraph") / "data" / "cow.obj") as path:
        cow = load_mesh(path, device=device)
    cloud = mg.Graph(torch.rand(1000, 3, device=device) - 0.5)
    batch = mg.GraphBatch([cow, cloud])
    print(batch)
    print(f"  padded positions {tuple(batch.pos_padded().shape)}, CSR rows {batch.csr().rowptr.numel() - 1}, "
          f"surface area {batch.face_areas().sum().item():.4f}")
    L = batch.laplacian()
    pos = batch.pos_packed()
    for _ in range(steps):  # explicit uniform Laplacian smoothing, x <- x + 0.5 L x
        pos = pos + 0.5 * torch.sparse.mm(L, pos)
    batch.update_features("pos", pos)
    smoothed = batch[0].graphs()[0]
    out.mkdir(parents=True, exist_ok=True)
    target = out / "cow_smoothed.obj"
    save_mesh(target, smoothed)
    moved = (smoothed.pos - cow.pos).norm(dim=1).mean().item()
    print(f"  {steps} smoothing steps, mean vertex displacement {moved:.4f}, {time.perf_counter() - t0:.2f} s")
    print(f"wrote {target.resolve()}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshgraph")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the demo and write its outputs")
    d.add_argument("--steps", type=int, default=10)
    d.add_argument("--device", default="cpu")
    d.add_argument("--out", type=Path, default=Path("meshgraph_out"))
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.steps < 0:
            parser.error("--steps must be non-negative")
        demo(args.steps, args.device, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
