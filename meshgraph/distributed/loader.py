"""`DistNeighborLoader`: mini-batches of a partitioned graph, one loader per rank, in lockstep."""

from __future__ import annotations

import math

import torch
import torch.distributed as dist

from ..records import Data
from .partition import LocalPartition
from .sampler import DistNeighborSampler


class DistNeighborLoader:
    """Neighbour-sampled mini-batches of the seeds this rank trains on, with PyG's batch layout.

    Args:
        partition: this rank's `LocalPartition` (load_partition(out_dir, rank)).
        num_neighbors: fan-out per hop. input_nodes: the seeds: None (every node this rank owns), the name of a
            boolean node attribute of the partition ('train_mask': the owned nodes where it holds), or a 1-D tensor
            of global ids (any rank's). batch_size, shuffle, drop_last: as the torch DataLoader's.
        generator: the torch.Generator of the shuffle and of the per-batch sampling seed (one `draw_rng_seed`
            per batch, as NeighborSampler does with torch's default generator); None: torch's default generator.
        node_attrs: the node attributes gathered for every batch (default: all of the partition's).

    Each batch is a `Data` with the node attributes at `n_id` (global ids, seeds first), `edge_index` (local ids,
    source -> target), `e_id` (input edge ids), `batch_size`, `num_sampled_nodes` / `num_sampled_edges`.
    Iterating is collective: every rank runs the same number of batches (the largest rank's count; ranks with
    fewer seeds wrap around their list, as DistributedSampler pads), since every hop is an exchange."""

    def __init__(self, partition: LocalPartition, num_neighbors, input_nodes=None, batch_size: int = 1,
                 shuffle: bool = False, replace: bool = False, drop_last: bool = False,
                 generator: torch.Generator | None = None, node_attrs: list[str] | None = None, group=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.sampler = DistNeighborSampler(partition, num_neighbors, replace=replace, group=group)
        self.part, self.group = partition, group
        if input_nodes is None:
            seeds = partition.owned
        elif isinstance(input_nodes, str):
            if input_nodes not in partition.node_attrs:
                raise ValueError(f"input_nodes={input_nodes!r} is not a node attribute of the partition")
            mask = partition.node_attrs[input_nodes]
            if mask.dtype != torch.bool:
                raise TypeError(f"input_nodes={input_nodes!r} must name a boolean mask, got {mask.dtype}")
            seeds = partition.owned[mask]
        elif isinstance(input_nodes, torch.Tensor) and input_nodes.dim() == 1 and not input_nodes.is_floating_point() \
                and input_nodes.dtype != torch.bool:
            seeds = input_nodes.long().cpu()
            if seeds.numel() and (int(seeds.min()) < 0 or int(seeds.max()) >= partition.num_nodes):
                raise IndexError(f"input_nodes holds a node outside [0, {partition.num_nodes}) (the graph's "
                                 f"num_nodes)")
        else:
            raise TypeError("input_nodes must be None, the name of a boolean node attribute, or a 1-D integer "
                            "tensor of global node ids")
        self.input_nodes = seeds
        self.batch_size, self.shuffle, self.drop_last, self.generator = batch_size, shuffle, drop_last, generator
        self.node_attrs = list(partition.node_attrs) if node_attrs is None else list(node_attrs)
        n = seeds.numel()
        mine = n // batch_size if drop_last else math.ceil(n / batch_size)
        count = torch.tensor([mine], dtype=torch.int64)
        if dist.is_initialized() and self.sampler.world > 1:
            dist.all_reduce(count, op=dist.ReduceOp.MAX, group=self.sampler.group)
        self.num_batches = int(count)

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self):
        seeds = self.input_nodes
        if self.shuffle and seeds.numel():
            seeds = seeds[torch.randperm(seeds.numel(), generator=self.generator)]
        need = self.num_batches * self.batch_size
        if seeds.numel() and need > seeds.numel():
            seeds = seeds.repeat(math.ceil(need / seeds.numel()))
        for b in range(self.num_batches):
            batch = seeds[b * self.batch_size:(b + 1) * self.batch_size]
            yield self.sample(batch)

    def sample(self, seeds: torch.Tensor) -> Data:
        """Collective: the batch of `seeds` (sampling exchanges, then one feature exchange per attribute)."""
        out = self.sampler.sample(seeds, self.generator)
        feats = self.sampler.fetch(out.node, self.node_attrs)
        data = Data(edge_index=torch.stack([out.row, out.col]), **feats)
        data.num_nodes = out.node.numel()
        data.n_id, data.e_id = out.node, out.metadata[2]
        data.batch_size = seeds.numel()
        data.num_sampled_nodes, data.num_sampled_edges = out.num_sampled_nodes, out.num_sampled_edges
        return data


__all__ = ["DistNeighborLoader"]
