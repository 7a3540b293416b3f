"""GraphSAINT subgraph samplers (PyG 2.8's `GraphSAINTSampler` family) on meshgraph's CSR ops.

Every batch is the subgraph induced by a random node set: the endpoints of uniformly drawn edges' sources
(`GraphSAINTNodeSampler`), of edges drawn with probability ~ 1/deg(u) + 1/deg(v) (`GraphSAINTEdgeSampler`), or
the nodes visited by `batch_size` random walks of `walk_length` steps from uniform start nodes
(`GraphSAINTRandomWalkSampler`, meshgraph's `random_walk` op). `len(loader) == num_steps`. With
`sample_coverage > 0` the loader first samples until every node was seen `sample_coverage` times on average and
attaches GraphSAINT's normalisation: `node_norm` (per node) and `edge_norm` (per edge) of each batch; with
`save_dir` those are cached in `save_dir/<sampler>_<...>_<coverage>.pt`.
"""

from __future__ import annotations

import os.path as osp
import sys

import torch
import torch.utils.data

from ..ops.random_walk import random_walk
from .stores import index2ptr


class GraphSAINTSampler(torch.utils.data.DataLoader):
    """Base class: subclasses define `_sample_nodes(batch_size)` (see the module docstring)."""

    def __init__(self, data, batch_size: int, num_steps: int = 1, sample_coverage: int = 0,
                 save_dir: str | None = None, log: bool = True, **kwargs):
        kwargs.pop("dataset", None)
        kwargs.pop("collate_fn", None)
        if getattr(data, "edge_index", None) is None:
            raise ValueError("data needs an 'edge_index' for GraphSAINT sampling")
        for key in ("node_norm", "edge_norm"):
            if key in data:
                raise ValueError(f"data already holds '{key}', which GraphSAINT writes")
        if data.edge_index.is_cuda:
            raise ValueError("GraphSAINT samplers need the graph on the CPU (edge_index is on CUDA)")
        for name, v in (("batch_size", batch_size), ("num_steps", num_steps)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.num_steps = num_steps
        self._batch_size = batch_size
        self.sample_coverage = sample_coverage
        self.save_dir = save_dir
        self.log = log
        self.N = N = int(data.num_nodes)
        self.E = data.num_edges
        row, col = data.edge_index.long()
        perm = (row * max(N, 1) + col).argsort(stable=True)  # SparseTensor order: by (row, col)
        self.row, self.col, self.edge_id = row[perm], col[perm], perm
        self.rowptr = index2ptr(self.row, N)
        self.data = data
        super().__init__(self, batch_size=1, collate_fn=self._collate, **kwargs)
        if self.sample_coverage > 0:
            path = osp.join(save_dir or "", self._filename)
            if save_dir is not None and osp.exists(path):
                try:
                    self.node_norm, self.edge_norm = torch.load(path, weights_only=True)
                except Exception as exc:  # noqa: BLE001
                    raise ValueError(f"the GraphSAINT norm cache {path} is unreadable ({exc}); delete it") from exc
                if self.node_norm.numel() != N or self.edge_norm.numel() != self.E:
                    raise ValueError(f"the GraphSAINT norm cache {path} belongs to another graph ({self.node_norm.numel()}"
                                     f" nodes / {self.edge_norm.numel()} edges, this one {N} / {self.E})")
            else:
                if self.log:
                    print(f"Compute GraphSAINT normalization: {self.N * self.sample_coverage} nodes",
                          file=sys.stderr)
                self.node_norm, self.edge_norm = self._compute_norm()
                if save_dir is not None:
                    torch.save((self.node_norm, self.edge_norm), path)

    @property
    def _filename(self) -> str:
        return f"{type(self).__name__.lower()}_{self.sample_coverage}.pt"

    def __len__(self) -> int:
        return self.num_steps

    def _sample_nodes(self, batch_size: int) -> torch.Tensor:
        raise NotImplementedError

    def _subgraph(self, node_idx: torch.Tensor):
        """Induced subgraph on sorted unique `node_idx`: (row, col) in local ids, ids of its edges (in (row, col)
        order, as torch_sparse's saint_subgraph)."""
        new_id = torch.full((self.N,), -1, dtype=torch.long)
        new_id[node_idx] = torch.arange(node_idx.numel())
        r, c = new_id[self.row], new_id[self.col]
        mask = (r >= 0) & (c >= 0)
        return r[mask], c[mask], self.edge_id[mask]

    def __getitem__(self, idx: int):
        node_idx = self._sample_nodes(self._batch_size).unique()
        return (node_idx, *self._subgraph(node_idx))

    def _collate(self, data_list):
        assert len(data_list) == 1
        node_idx, row, col, edge_idx = data_list[0]
        data = self.data.__class__()
        data.num_nodes = node_idx.size(0)
        data.edge_index = torch.stack([row, col], dim=0)
        for key, item in self.data:
            if key in ("edge_index", "num_nodes"):
                continue
            if isinstance(item, torch.Tensor) and item.dim() and item.size(0) == self.N:
                data[key] = item[node_idx]
            elif isinstance(item, torch.Tensor) and item.dim() and item.size(0) == self.E:
                data[key] = item[edge_idx]
            else:
                data[key] = item
        if self.sample_coverage > 0:
            data.node_norm = self.node_norm[node_idx]
            data.edge_norm = self.edge_norm[edge_idx]
        return data

    def _compute_norm(self):
        node_count = torch.zeros(self.N, dtype=torch.float)
        edge_count = torch.zeros(self.E, dtype=torch.float)
        num_samples = total = 0
        while total < self.N * self.sample_coverage:
            for _ in range(self.num_steps):
                node_idx, _, _, edge_idx = self[0]
                node_count[node_idx] += 1
                edge_count[edge_idx] += 1
                total += node_idx.numel()
            num_samples += self.num_steps
        t = torch.empty_like(edge_count).scatter_(0, self.edge_id, node_count[self.row])
        edge_norm = (t / edge_count).clamp_(0, 1e4)
        edge_norm[torch.isnan(edge_norm)] = 0.1
        node_count[node_count == 0] = 0.1
        node_norm = num_samples / node_count / self.N
        return node_norm, edge_norm


class GraphSAINTNodeSampler(GraphSAINTSampler):
    """Nodes: the sources of `batch_size` uniformly drawn edges."""

    def _sample_nodes(self, batch_size: int) -> torch.Tensor:
        if self.E == 0:
            return torch.empty(0, dtype=torch.long)
        return self.row[torch.randint(0, self.E, (batch_size,), dtype=torch.long)]


class GraphSAINTEdgeSampler(GraphSAINTSampler):
    """Nodes: both endpoints of `batch_size` edges drawn without replacement with weight 1/deg_in + 1/deg_out."""

    def _sample_nodes(self, batch_size: int) -> torch.Tensor:
        if self.E == 0:
            return torch.empty(0, dtype=torch.long)
        deg_out = torch.bincount(self.row, minlength=self.N).float()
        deg_in = torch.bincount(self.col, minlength=self.N).float()
        prob = 1.0 / deg_out[self.row] + 1.0 / deg_in[self.col]
        picked = torch.multinomial(prob, min(batch_size, self.E), replacement=False)
        return torch.cat([self.col[picked], self.row[picked]])


class GraphSAINTRandomWalkSampler(GraphSAINTSampler):
    """Nodes: those visited by `batch_size` walks of `walk_length` steps (meshgraph's random_walk)."""

    def __init__(self, data, batch_size: int, walk_length: int, num_steps: int = 1, sample_coverage: int = 0,
                 save_dir: str | None = None, log: bool = True, **kwargs):
        if isinstance(walk_length, bool) or not isinstance(walk_length, int) or walk_length < 0:
            raise ValueError(f"walk_length must be a non-negative int, got {walk_length!r}")
        self.walk_length = walk_length
        super().__init__(data, batch_size, num_steps, sample_coverage, save_dir, log, **kwargs)

    @property
    def _filename(self) -> str:
        return f"{type(self).__name__.lower()}_{self.walk_length}_{self.sample_coverage}.pt"

    def _sample_nodes(self, batch_size: int) -> torch.Tensor:
        if self.N == 0:
            return torch.empty(0, dtype=torch.long)
        start = torch.randint(0, self.N, (batch_size,), dtype=torch.long)
        gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        return random_walk(self.rowptr, self.col, start, self.walk_length, generator=gen).view(-1)


__all__ = ["GraphSAINTEdgeSampler", "GraphSAINTNodeSampler", "GraphSAINTRandomWalkSampler", "GraphSAINTSampler"]
