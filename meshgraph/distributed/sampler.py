"""Distributed neighbour sampling over a partitioned graph, equal to the single-process sampler.

Why the samples are the same: `neighbor_sample`'s draws are counter-based (csrc/common/counter_rng.h). Without
`disjoint`, the picks of node v are `bits(rng_seed, 0, v, t)` for t = 0..k-1 over v's CSC row: they depend only on
the batch's `rng_seed` (drawn once from the generator, `draw_rng_seed`), the node's global id and its row, never on
the other nodes of the batch, the thread or the hop. A node is expanded once per batch (at the hop where it first
appears). So a rank can draw `rng_seed` as the single-process sampler would, send it with the remote frontier to
each owner, and the owner running the same kernel on the same row (its part keeps the global CSC order and is
indexed by global id) returns exactly the picks the single-process kernel makes. The requester then merges the
answers in frontier order and relabels new nodes in order of first appearance, which is the kernel's rule.

Protocol, per hop (collective: every rank calls `sample` the same number of times, one exchange per hop):
  1. frontier nodes grouped by owner; one request per peer `[rng_seed, v0, v1, ...]` (empty when none);
  2. `exchange` (all_to_all_single), every rank serves what it received with the kernel, one call per requester;
  3. answers `[count per node, sources, CSC positions, input edge ids]` travel back in a second exchange.
Then one feature exchange per node attribute (rows of the sampled nodes, from their owners).
Supported: uniform draws with or without replacement, directional subgraphs (PyG's default); weighted, temporal,
disjoint and induced sampling raise NotImplementedError.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from ..ops.neighbor_sample import _check_fanouts, draw_rng_seed
from ..sampling.sampler import SamplerOutput
from .exchange import exchange
from .partition import LocalPartition


class DistNeighborSampler:
    """Samples multi-hop neighbourhoods of seeds anywhere in the graph from one rank's `LocalPartition`.

    `sample(seeds, generator)` returns the `SamplerOutput` that `NeighborSampler(data, num_neighbors)` gives for
    the same seeds with the same generator state (node, row, col, edge = CSC positions, per-hop counts), plus
    `out.metadata = (None, None, e_id)` with the input edge ids. `fetch(nodes, keys)` gathers node attributes."""

    def __init__(self, partition: LocalPartition, num_neighbors, replace: bool = False, group=None):
        if not isinstance(partition, LocalPartition):
            raise TypeError(f"partition must be a LocalPartition (load_partition), got {type(partition).__name__}")
        if not isinstance(replace, bool):
            raise TypeError(f"replace must be a bool, got {type(replace).__name__}")
        self.num_neighbors = _check_fanouts(list(num_neighbors) if isinstance(num_neighbors, tuple) else num_neighbors)
        if group is None and dist.is_initialized() and dist.get_backend() == "nccl":
            # the exchanges move CPU tensors (the sampler and the partition live in host memory): run them on a gloo
            # group beside the nccl one DDP uses (collective: every rank builds its samplers in the same order)
            group = dist.new_group(backend="gloo")
        self.part, self.replace, self.group = partition, replace, group
        world = dist.get_world_size(group) if dist.is_initialized() else 1
        if world != partition.num_parts:
            raise ValueError(f"the partition has {partition.num_parts} parts but the process group has {world} ranks "
                             f"(one part per rank)")
        if dist.is_initialized() and dist.get_rank(group) != partition.rank:
            raise ValueError(f"rank {dist.get_rank(group)} loaded part {partition.rank} (load_partition(dir, rank))")
        self.world = world
        self.stats = {"remote_nodes": 0, "frontier_nodes": 0, "bytes_sent": 0}

    def _exchange(self, send, recv_sizes=None):
        self.stats["bytes_sent"] += sum(t.numel() * t.element_size() for r, t in enumerate(send)
                                        if r != self.part.rank)
        if self.world == 1:
            return [send[0]]
        return exchange(send, self.group, recv_sizes)

    def _serve(self, request: torch.Tensor, fanout: int) -> torch.Tensor:
        if request.numel() == 0:
            return request
        rng_seed, nodes = int(request[0]), request[1:]
        p = self.part
        self.part.global_to_local(nodes)  # every requested node must be ours (names the node otherwise)
        node, row, col, edge, _, _, _ = torch.ops.meshgraph.neighbor_sample(
            p.global_colptr, p.col, nodes, [fanout], self.replace, True, False, None, None, None, rng_seed)
        counts = torch.bincount(row, minlength=nodes.numel())
        return torch.cat([counts, node[col], p.csc_pos[edge], p.edge_id[edge]])

    def sample(self, seeds: torch.Tensor, generator: torch.Generator | None = None) -> SamplerOutput:
        """Collective. seeds: (B,) global node ids (any rank's). Draws one seed from `generator` (the default CPU
        generator when None), as the single-process sampler does per batch."""
        p = self.part
        if not isinstance(seeds, torch.Tensor) or seeds.dim() != 1 or seeds.is_floating_point():
            raise TypeError("input_nodes must be a 1-D integer tensor of global node ids")
        seeds = seeds.long().cpu()
        if seeds.numel() and (int(seeds.min()) < 0 or int(seeds.max()) >= p.num_nodes):
            bad = int(seeds.min()) if int(seeds.min()) < 0 else int(seeds.max())
            raise IndexError(f"input_nodes holds node {bad}, outside [0, {p.num_nodes}) (the graph's num_nodes)")
        rng_seed = draw_rng_seed(generator)
        nodes = seeds
        rows, cols, edges, eids = [], [], [], []
        n_nodes, n_edges = [seeds.numel()], []
        begin, end = 0, seeds.numel()
        for k in self.num_neighbors:
            frontier = nodes[begin:end]
            owner = p.node_owner[frontier].long()
            order = torch.argsort(owner, stable=True)
            per = torch.bincount(owner, minlength=self.world).tolist()
            groups = frontier[order].split(per)
            head = torch.tensor([rng_seed], dtype=torch.int64)
            requests = [torch.cat([head, g]) if g.numel() else g for g in groups]
            self.stats["frontier_nodes"] += frontier.numel()
            self.stats["remote_nodes"] += frontier.numel() - per[p.rank]
            served = [self._serve(q, k) for q in self._exchange(requests)]
            answers = self._exchange(served)
            cnt, nbr, pos, eid = [], [], [], []
            for n, a in zip(per, answers):
                if n == 0:
                    continue
                c = a[:n]
                S = int(c.sum())
                cnt.append(c)
                nbr.append(a[n:n + S])
                pos.append(a[n + S:n + 2 * S])
                eid.append(a[n + 2 * S:n + 3 * S])
            if not cnt:
                n_edges.append(0)
                n_nodes.append(0)
                begin = end
                continue
            cnt, nbr, pos, eid = torch.cat(cnt), torch.cat(nbr), torch.cat(pos), torch.cat(eid)
            # back to frontier order; a stable sort keeps each node's draw order
            seg = torch.repeat_interleave(order, cnt)
            back = torch.argsort(seg, stable=True)
            seg, nbr, pos, eid = seg[back], nbr[back], pos[back], eid[back]
            # local ids: existing nodes keep theirs (first occurrence), new ones in order of first appearance
            M = nodes.numel()
            allv = torch.cat([nodes, nbr])
            uniq, inv = torch.unique(allv, return_inverse=True)
            first = torch.full((uniq.numel(),), allv.numel(), dtype=torch.int64)
            first.scatter_reduce_(0, inv, torch.arange(allv.numel()), reduce="amin")
            f = first[inv[M:]]
            is_new = first >= M
            new_first = torch.sort(first[is_new]).values
            local_of_first = torch.empty(allv.numel(), dtype=torch.int64)
            local_of_first[new_first] = torch.arange(M, M + new_first.numel())
            loc = torch.where(f < M, f, local_of_first[f.clamp(max=allv.numel() - 1)])
            nodes = torch.cat([nodes, allv[new_first]])
            rows.append(begin + seg)
            cols.append(loc)
            edges.append(pos)
            eids.append(eid)
            n_edges.append(nbr.numel())
            n_nodes.append(new_first.numel())
            begin, end = end, nodes.numel()

        def cat(xs):
            return torch.cat(xs) if xs else torch.empty(0, dtype=torch.int64)

        # CSC: the kernel's row is the target; PyG's (row = source, col = target)
        return SamplerOutput(node=nodes, row=cat(cols), col=cat(rows), edge=cat(edges), batch=None,
                             num_sampled_nodes=n_nodes, num_sampled_edges=n_edges, metadata=(None, None, cat(eids)))

    def fetch(self, nodes: torch.Tensor, keys: list[str]) -> dict[str, torch.Tensor]:
        """Collective. The rows of node attributes `keys` at global `nodes`, from their owners (one exchange for
        the ids, one per attribute for the rows)."""
        p = self.part
        for k in keys:
            if k not in p.node_attrs:
                raise KeyError(f"{k!r} is not a node attribute of the partition (it holds {sorted(p.node_attrs)})")
        owner = p.node_owner[nodes].long()
        order = torch.argsort(owner, stable=True)
        per = torch.bincount(owner, minlength=self.world).tolist()
        received = self._exchange(list(nodes[order].split(per)))
        local = [p.global_to_local(q) for q in received]
        out = {}
        for k in keys:
            value = p.node_attrs[k]
            rows = self._exchange([value[idx] for idx in local], recv_sizes=per)
            res = value.new_empty((nodes.numel(),) + tuple(value.shape[1:]))
            res[order] = torch.cat(rows)
            out[k] = res
        return out


__all__ = ["DistNeighborSampler"]
