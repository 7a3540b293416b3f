"""Training on a graph partitioned across processes and machines (issue 15, "Distributed"), on torch.distributed.

- `partition_graph(data, num_parts, out_dir)`: METIS (pymetis) parts on disk with halo bookkeeping and a hash of
  the graph; `load_partition(out_dir, rank)` checks the folder (missing, truncated, from another graph).
- `DistNeighborSampler`: multi-hop sampling that asks the owning rank for remote neighbourhoods and features in
  batched `all_to_all_single` exchanges; its batches equal the single-process `NeighborSampler`'s for the same
  seeds and generator. `DistNeighborLoader`: the per-rank loader (PyG's batch layout).
- `init_distributed()`: the process group from torchrun's environment (gloo on CPU, nccl on GPU) with a timeout,
  so a rank that dies ends the others with an error instead of a hang.

Design, measured costs and launch lines: docs/distributed.md, docs/scaling.md, examples/distributed_sage.py.
"""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

from .exchange import exchange
from .loader import DistNeighborLoader
from .partition import LocalPartition, PartitionError, load_partition, partition_graph
from .sampler import DistNeighborSampler


def init_distributed(backend: str | None = None, timeout_s: float = 120.0) -> tuple[int, int, torch.device]:
    """Initializes the default process group from the environment torchrun sets (RANK, WORLD_SIZE, MASTER_ADDR,
    MASTER_PORT, LOCAL_RANK); backend None: nccl when CUDA is available, else gloo. Every collective then fails
    after `timeout_s` seconds at the latest when a peer is gone (gloo usually fails at once: the peer's socket
    closes). Returns (rank, world_size, device)."""
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    rank, world = dist.get_rank(), dist.get_world_size()
    if backend == "nccl":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return rank, world, device


__all__ = ["DistNeighborLoader", "DistNeighborSampler", "LocalPartition", "PartitionError", "exchange",
           "init_distributed", "load_partition", "partition_graph"]
