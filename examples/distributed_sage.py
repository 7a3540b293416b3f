"""GraphSAGE on a partitioned stochastic block model graph, one part per process, under DDP.

One machine, 2 processes (gloo on CPU; nccl when GPUs are present):

    torchrun --standalone --nproc_per_node=2 examples/distributed_sage.py --parts sbm_parts

Two machines, 2 processes each (run on both; --node_rank 0 on the machine at MASTER_ADDR, 1 on the other; the
partition folder must be readable at the same path on both: a shared file system, or copy part_<r>.pt, META.pt
and node_owner.pt of the ranks a machine runs; --parts-only on one machine writes it):

    torchrun --nnodes=2 --nproc_per_node=2 --node_rank=0 --master_addr=10.0.0.1 --master_port=29500 \\
        examples/distributed_sage.py --parts /shared/sbm_parts
    torchrun --nnodes=2 --nproc_per_node=2 --node_rank=1 --master_addr=10.0.0.1 --master_port=29500 \\
        examples/distributed_sage.py --parts /shared/sbm_parts

(gloo picks the interface of the host name; set GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME to the one the machines
share.) The single-process baseline on the same graph: `python examples/distributed_sage.py --single`.

If the folder does not exist, rank 0 generates the graph (meshgraph.datasets.stochastic_block_model_graph, fixed
seed) and partitions it with METIS into WORLD_SIZE parts while the others wait at a barrier. Each rank trains on the
training nodes it owns through DistNeighborLoader (remote neighbourhoods and features come from their owners);
DDP averages the gradients. Test accuracy is counted over every rank's owned test nodes (all_reduce).
`--fail-rank R --fail-after B` kills rank R after B batches (what tests/test_distributed.py uses to check that the
others then stop with an error within the process-group timeout instead of hanging).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from meshgraph.datasets import stochastic_block_model_graph
from meshgraph.nn import SAGEConv


class SAGE(torch.nn.Module):
    def __init__(self, cin, hidden, cout, layers=2):
        super().__init__()
        dims = [cin] + [hidden] * (layers - 1) + [cout]
        self.convs = torch.nn.ModuleList(SAGEConv(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x, edge_index):
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return x


def make_graph(args):
    return stochastic_block_model_graph(args.num_nodes, args.blocks, args.p_in, args.p_out, args.features,
                                        args.seed, feature_noise=args.noise, train_ratio=args.train_ratio)


def run_epochs(model, opt, train_batches, test_batches, epochs, fail=None):
    """Trains over `train_batches()` each epoch, returns (test accuracy counts, batches, seconds of training)."""
    n, t0 = 0, time.perf_counter()
    for _ in range(epochs):
        model.train()
        for batch in train_batches():
            if fail is not None and n == fail:
                os._exit(17)  # fault injection: this rank dies mid-epoch
            bs = batch.batch_size
            out = model(batch.x, batch.edge_index)[:bs]
            loss = F.cross_entropy(out, batch.y[:bs])
            opt.zero_grad()
            loss.backward()
            opt.step()
            n += 1
    seconds = time.perf_counter() - t0
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in test_batches():
            bs = batch.batch_size
            pred = model(batch.x, batch.edge_index)[:bs].argmax(-1)
            correct += int((pred == batch.y[:bs]).sum())
            total += bs
    return correct, total, n, seconds


def single(args):
    from meshgraph.sampling import NeighborLoader

    torch.manual_seed(args.seed)
    data = make_graph(args)
    keep = {k: data[k] for k in ("x", "y", "edge_index")}
    from meshgraph.records import Data

    d = Data(**keep, num_nodes=data.num_nodes)
    model = SAGE(args.features, args.hidden, args.blocks)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    train = NeighborLoader(d, args.fanout, input_nodes=data.train_mask, batch_size=args.batch_size, shuffle=True)
    test = NeighborLoader(d, args.fanout, input_nodes=data.test_mask, batch_size=args.batch_size)
    c, t, n, s = run_epochs(model, opt, lambda: train, lambda: test, args.epochs)
    return {"mode": "single", "test_accuracy": c / t, "batches": n, "train_seconds": s}


def distributed(args):
    from torch.nn.parallel import DistributedDataParallel as DDP

    from meshgraph.distributed import DistNeighborLoader, init_distributed, load_partition, partition_graph

    rank, world, device = init_distributed(timeout_s=args.timeout)
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // world))
    if rank == 0 and not (args.parts / "META.pt").exists():
        partition_graph(make_graph(args), world, args.parts)
    dist.barrier()
    part = load_partition(args.parts, rank)
    torch.manual_seed(args.seed)  # identical initial weights (DDP broadcasts rank 0's anyway)
    model = SAGE(args.features, args.hidden, args.blocks).to(device)
    ddp = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.Adam(ddp.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed * 1000 + rank)
    keys = ["x", "y"]
    train = DistNeighborLoader(part, args.fanout, input_nodes="train_mask", batch_size=args.batch_size,
                               shuffle=True, generator=gen, node_attrs=keys)
    test = DistNeighborLoader(part, args.fanout, input_nodes="test_mask", batch_size=args.batch_size,
                              generator=gen, node_attrs=keys)

    def on(loader):
        return lambda: (b.to(device) if device.type == "cuda" else b for b in loader)

    fail = args.fail_after if rank == args.fail_rank else None
    c, t, n, s = run_epochs(ddp, opt, on(train), on(test), args.epochs, fail)
    counts = torch.tensor([c, t], dtype=torch.float64, device=device)
    dist.all_reduce(counts)
    stats = train.sampler.stats
    res = {"mode": "distributed", "rank": rank, "world": world, "test_accuracy": float(counts[0] / counts[1]),
           "batches": n, "train_seconds": s, "remote_fraction": stats["remote_nodes"] / max(stats["frontier_nodes"], 1),
           "bytes_sent_per_batch": (stats["bytes_sent"]) / max(n, 1)}
    dist.destroy_process_group()
    return res


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--parts", type=Path, default=Path("sbm_parts"))
    p.add_argument("--single", action="store_true", help="single-process baseline with NeighborLoader")
    p.add_argument("--num-nodes", type=int, default=200_000)
    p.add_argument("--blocks", type=int, default=10)
    p.add_argument("--p-in", type=float, default=2e-4)
    p.add_argument("--p-out", type=float, default=2e-5)
    p.add_argument("--features", type=int, default=16)
    p.add_argument("--noise", type=float, default=2.0)
    p.add_argument("--train-ratio", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--fanout", type=int, nargs="+", default=[10, 5])
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--timeout", type=float, default=120.0, help="process-group timeout (s): a dead peer ends the job")
    p.add_argument("--fail-rank", type=int, default=-1)
    p.add_argument("--fail-after", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write the result of each rank as JSON here")
    args = p.parse_args(argv)
    res = single(args) if args.single else distributed(args)
    print(json.dumps(res), flush=True)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{res['mode']}_{res.get('rank', 0)}.json").write_text(json.dumps(res))
    return res


if __name__ == "__main__":
    main()
