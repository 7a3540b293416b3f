"""Cluster-GCN: METIS partitions of a graph (`ClusterData`) and mini-batches of clusters (`ClusterLoader`).

PyG 2.8's semantics. `ClusterData` partitions the nodes with METIS (pymetis, on the symmetrised graph without
self-loops), renumbers them so every part is a contiguous range (`partition.partptr`), and keeps the edges in CSR
(`sparse_format='csr'`, grouped by source) or CSC order. `cluster_data[i]` is part i's induced subgraph (with
`keep_inter_cluster_edges=True`, also its edges to other parts, their targets kept as global ids);
`ClusterLoader(cluster_data, batch_size=k, shuffle=True)` merges k random parts per batch with the edges among
them.

Cache: with `save_dir`, the partition is saved to `save_dir/part_{num_parts}[_recursive]/{filename or metis.pt}`
together with a hash of the graph (num_nodes and edge_index) and the settings it was computed with. Loading a
cache that is truncated, unreadable, of another graph or of other settings raises a ValueError that names the file
(delete it to recompute).
"""

from __future__ import annotations

import copy
import hashlib
import os
import os.path as osp
import sys
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
import torch.utils.data

from ..records import Data
from .stores import index2ptr, ptr2index

CACHE_VERSION = 1


@dataclass
class Partition:
    """indptr / index: the renumbered graph in `sparse_format`; partptr (P + 1,): node range of every part;
    node_perm (N,): old id of every new node; edge_perm (E,): input position of every stored edge."""

    indptr: torch.Tensor
    index: torch.Tensor
    partptr: torch.Tensor
    node_perm: torch.Tensor
    edge_perm: torch.Tensor
    sparse_format: Literal["csr", "csc"]


def graph_hash(edge_index: torch.Tensor, num_nodes: int) -> str:
    """A content hash of the graph's structure (what a cached partition must belong to)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{int(num_nodes)}:{tuple(edge_index.shape)}".encode())
    h.update(np.ascontiguousarray(edge_index.detach().cpu().long().numpy()).tobytes())
    return h.hexdigest()


def metis(edge_index: torch.Tensor, num_nodes: int, num_parts: int, recursive: bool = False, seed: int = 0) -> torch.Tensor:
    """(N,) part of every node: METIS (pymetis) on the symmetrised graph, self-loops and duplicates removed."""
    if num_parts == 1 or num_nodes == 0:
        return torch.zeros(num_nodes, dtype=torch.long)
    import pymetis

    row, col = edge_index.cpu().long()
    keep = row != col
    row, col = torch.cat([row[keep], col[keep]]), torch.cat([col[keep], row[keep]])
    key = torch.unique(row * num_nodes + col)
    row, col = key // num_nodes, key % num_nodes
    xadj = index2ptr(row, num_nodes).numpy()
    adj = pymetis.CSRAdjacency(xadj, col.numpy())
    _, parts = pymetis.part_graph(num_parts, adjacency=adj, recursive=recursive, options=pymetis.Options(seed=seed))
    return torch.as_tensor(np.asarray(parts), dtype=torch.long)


def _sort_edges(row: torch.Tensor, col: torch.Tensor, num_nodes: int, by_row: bool):
    key = row * num_nodes + col if by_row else col * num_nodes + row
    perm = key.argsort(stable=True)
    return row[perm], col[perm], perm


def _select(value, index, dim):
    if isinstance(value, torch.Tensor):
        return value.index_select(dim, index.to(value.device))
    if isinstance(value, np.ndarray):
        return np.take(value, index.numpy(), axis=dim)
    return [value[i] for i in index.tolist()]


def _narrow(value, dim, start, length):
    if isinstance(value, torch.Tensor):
        return value.narrow(dim, start, length)
    if isinstance(value, np.ndarray):
        return np.take(value, np.arange(start, start + length), axis=dim)
    return value[start:start + length]


def _cat_dim(data, key, value):
    dim = data.__cat_dim__(key, value)
    if isinstance(dim, int) and dim < 0 and hasattr(value, "ndim"):
        dim += value.ndim
    return dim


class ClusterData(torch.utils.data.Dataset):
    """The METIS clusters of `data` (see the module docstring); PyG's `ClusterData` signature."""

    def __init__(self, data, num_parts: int, recursive: bool = False, save_dir: str | None = None,
                 filename: str | None = None, log: bool = True, keep_inter_cluster_edges: bool = False,
                 sparse_format: Literal["csr", "csc"] = "csr"):
        if getattr(data, "edge_index", None) is None:
            raise ValueError("data needs an 'edge_index' to be partitioned")
        if sparse_format not in ("csr", "csc"):
            raise ValueError(f"sparse_format must be 'csr' or 'csc', got {sparse_format!r}")
        if isinstance(num_parts, bool) or not isinstance(num_parts, int) or num_parts < 1:
            raise ValueError(f"num_parts must be a positive int, got {num_parts!r}")
        N = int(data.num_nodes)
        if num_parts > max(N, 1):
            raise ValueError(f"num_parts ({num_parts}) exceeds the number of nodes ({N})")
        self.num_parts = num_parts
        self.recursive = recursive
        self.keep_inter_cluster_edges = keep_inter_cluster_edges
        self.sparse_format = sparse_format
        root = osp.join(save_dir or "", f"part_{num_parts}{'_recursive' if recursive else ''}")
        path = osp.join(root, filename or "metis.pt")
        digest = graph_hash(data.edge_index, N)
        settings = {"num_parts": num_parts, "recursive": recursive, "sparse_format": sparse_format}
        if save_dir is not None and osp.exists(path):
            self.partition = self._load(path, digest, settings, N, data.edge_index.size(1))
        else:
            if log:
                print("Computing METIS partitioning...", file=sys.stderr)
            cluster = metis(data.edge_index, N, num_parts, recursive)
            self.partition = self._partition(data.edge_index, cluster)
            if save_dir is not None:
                os.makedirs(root, exist_ok=True)
                tmp = path + ".tmp"
                torch.save({"version": CACHE_VERSION, "graph_hash": digest, "settings": settings,
                            "partition": asdict(self.partition)}, tmp)
                os.replace(tmp, path)  # a crash mid-write leaves no half-written cache under the real name
            if log:
                print("Done!", file=sys.stderr)
        self.data = self._permute_data(data, self.partition)

    @staticmethod
    def _load(path: str, digest: str, settings: dict, N: int, E: int) -> Partition:
        try:
            blob = torch.load(path, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same named error
            raise ValueError(f"the ClusterData cache {path} is truncated or not a partition file "
                             f"({type(exc).__name__}: {exc}); delete it to recompute") from exc
        if not isinstance(blob, dict) or blob.get("version") != CACHE_VERSION or "partition" not in blob:
            raise ValueError(f"the ClusterData cache {path} was not written by this version of meshgraph's "
                             f"ClusterData; delete it to recompute")
        if blob.get("graph_hash") != digest:
            raise ValueError(f"the ClusterData cache {path} belongs to another graph (its stored hash differs from "
                             f"this graph's edge_index / num_nodes); delete it or use another save_dir")
        if blob.get("settings") != settings:
            raise ValueError(f"the ClusterData cache {path} was computed with {blob.get('settings')}, not "
                             f"{settings}; delete it to recompute")
        try:
            part = Partition(**blob["partition"])
        except TypeError as exc:
            raise ValueError(f"the ClusterData cache {path} is malformed: {exc}") from exc
        if (part.indptr.numel() != N + 1 or part.index.numel() != E or part.node_perm.numel() != N
                or part.edge_perm.numel() != E or part.partptr.numel() != settings["num_parts"] + 1):
            raise ValueError(f"the ClusterData cache {path} has sizes that do not match the graph "
                             f"({N} nodes, {E} edges)")
        return part

    def _partition(self, edge_index: torch.Tensor, cluster: torch.Tensor) -> Partition:
        N = cluster.numel()
        cluster, node_perm = cluster.sort(stable=True)
        partptr = index2ptr(cluster, self.num_parts)
        new_id = torch.empty_like(node_perm)
        new_id[node_perm] = torch.arange(N)
        row, col = new_id[edge_index.cpu().long()]
        row, col, edge_perm = _sort_edges(row, col, N, by_row=self.sparse_format == "csr")
        if self.sparse_format == "csr":
            indptr, index = index2ptr(row, N), col
        else:
            indptr, index = index2ptr(col, N), row
        return Partition(indptr, index, partptr, node_perm, edge_perm, self.sparse_format)

    @staticmethod
    def _permute_data(data, partition: Partition):
        out = copy.copy(data)
        for key, value in data.items():
            if key == "edge_index":
                continue
            if data.is_node_attr(key):
                out[key] = _select(value, partition.node_perm, _cat_dim(data, key, value))
            elif data.is_edge_attr(key):
                out[key] = _select(value, partition.edge_perm, _cat_dim(data, key, value))
        out.edge_index = None
        if "num_nodes" not in out and not any(data.is_node_attr(k) for k in data.keys() if k != "edge_index"):
            out.num_nodes = int(partition.node_perm.numel())  # nothing else would tell the part sizes
        return out

    def __len__(self) -> int:
        return self.partition.partptr.numel() - 1

    def __getitem__(self, idx: int):
        if not -len(self) <= idx < len(self):
            raise IndexError(f"part {idx} is out of range for {len(self)} parts")
        idx = idx % len(self)
        p = self.partition
        node_start, node_end = int(p.partptr[idx]), int(p.partptr[idx + 1])
        n = node_end - node_start
        indptr = p.indptr[node_start:node_end + 1]
        edge_start, edge_end = int(indptr[0]), int(indptr[-1])
        indptr = indptr - edge_start
        own = ptr2index(indptr)
        other = p.index[edge_start:edge_end]
        mask = None
        if not self.keep_inter_cluster_edges:
            mask = (other >= node_start) & (other < node_end)
            own, other = own[mask], other[mask] - node_start
        row, col = (own, other) if self.sparse_format == "csr" else (other, own)
        out = copy.copy(self.data)
        for key, value in self.data.items():
            if key == "num_nodes":
                out.num_nodes = n
            elif self.data.is_node_attr(key):
                out[key] = _narrow(value, _cat_dim(self.data, key, value), node_start, n)
            elif self.data.is_edge_attr(key):
                dim = _cat_dim(self.data, key, value)
                v = _narrow(value, dim, edge_start, edge_end - edge_start)
                out[key] = v if mask is None else _select(v, mask.nonzero().view(-1), dim)
        out.edge_index = torch.stack([row, col], dim=0)
        if "num_nodes" not in self.data:
            out.num_nodes = n
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_parts})"


class ClusterLoader(torch.utils.data.DataLoader):
    """Batches of `batch_size` parts of a ClusterData merged into one subgraph with the edges among them (the
    torch DataLoader underneath: shuffle, num_workers, ... pass through)."""

    def __init__(self, cluster_data: ClusterData, **kwargs):
        if not isinstance(cluster_data, ClusterData):
            raise TypeError(f"cluster_data must be a ClusterData, got {type(cluster_data).__name__}")
        self.cluster_data = cluster_data
        kwargs.pop("collate_fn", None)
        super().__init__(range(len(cluster_data)), collate_fn=self._collate, **kwargs)

    def _collate(self, batch) -> Data:
        batch = torch.as_tensor(batch, dtype=torch.long).view(-1)
        cd = self.cluster_data
        p = cd.partition
        node_start, node_end = p.partptr[batch], p.partptr[batch + 1]
        edge_start, edge_end = p.indptr[node_start], p.indptr[node_end]
        N = p.indptr.numel() - 1
        new_id = torch.full((N,), -1, dtype=torch.long)
        owns, others, cumsum = [], [], 0
        for i in range(batch.numel()):
            s, e = int(node_start[i]), int(node_end[i])
            new_id[s:e] = torch.arange(cumsum, cumsum + e - s)
            indptr = p.indptr[s:e + 1] - p.indptr[s]
            owns.append(ptr2index(indptr) + cumsum)
            others.append(p.index[int(edge_start[i]):int(edge_end[i])])
            cumsum += e - s
        own = torch.cat(owns) if owns else torch.empty(0, dtype=torch.long)
        other = new_id[torch.cat(others)] if others else torch.empty(0, dtype=torch.long)
        mask = other >= 0
        own, other = own[mask], other[mask]
        row, col = (own, other) if p.sparse_format == "csr" else (other, own)
        out = copy.copy(cd.data)
        keep = mask.nonzero().view(-1)
        for key, value in cd.data.items():
            if key == "num_nodes":
                out.num_nodes = cumsum
            elif cd.data.is_node_attr(key):
                dim = _cat_dim(cd.data, key, value)
                out[key] = torch.cat([_narrow(value, dim, int(s), int(e - s)) for s, e in zip(node_start, node_end)],
                                     dim=dim)
            elif cd.data.is_edge_attr(key):
                dim = _cat_dim(cd.data, key, value)
                v = torch.cat([_narrow(value, dim, int(s), int(e - s)) for s, e in zip(edge_start, edge_end)], dim=dim)
                out[key] = _select(v, keep, dim)
        out.edge_index = torch.stack([row, col], dim=0)
        if "num_nodes" not in cd.data:
            out.num_nodes = cumsum
        return out


__all__ = ["ClusterData", "ClusterLoader", "Partition", "graph_hash", "metis"]
