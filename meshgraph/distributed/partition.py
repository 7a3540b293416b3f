"""Partitioning a graph for distributed training: METIS parts saved to disk with their halo bookkeeping.

Layout of `out_dir` (written by `partition_graph`, read by `load_partition`):

    META.pt            {version, graph_hash, settings, num_nodes, num_edges, num_parts, node_attrs,
                        files: {name: (size, blake2b)}}
    node_owner.pt      (N,) int16/int32 owner rank of every node (routing table every rank holds)
    part_<r>.pt        part r: owned (sorted global ids of the nodes it owns), colptr / col (the CSC rows of the
                       owned nodes: for each owned destination its sources, global ids, in the global CSC order),
                       csc_pos (their positions in the global CSC: the sampler's `edge`), edge_id (their positions
                       in the input edge_index: `e_id`), halo (remote sources of owned destinations), and the rows of
                       every node attribute (x, y, masks) at `owned`.

A part owns the edges whose destination it owns (message-passing direction source -> target), so a rank can
expand any of its nodes without asking anyone; only the next hop's remote frontier needs the owners. The CSC order
is the one `meshgraph.sampling.NeighborSampler` builds (`to_csc`: sources grouped by target, stable), which is what
makes distributed samples equal to the single-process ones (see `meshgraph.distributed.sampler`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .._utils import offsets_from_counts
from ..sampling.cluster import graph_hash, metis
from ..sampling.sampler import to_csc

FORMAT_VERSION = 1
META = "META.pt"
OWNER = "node_owner.pt"


class PartitionError(ValueError):
    """A partition folder that is missing, truncated, corrupted or from another graph / partitioning."""


def _part_name(rank: int) -> str:
    return f"part_{rank}.pt"


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class LocalPartition:
    """One rank's part (see the module docstring for the fields), plus the shared routing table `node_owner`."""

    rank: int
    num_parts: int
    num_nodes: int
    num_edges: int
    graph_hash: str
    owned: torch.Tensor
    colptr: torch.Tensor
    col: torch.Tensor
    csc_pos: torch.Tensor
    edge_id: torch.Tensor
    halo: torch.Tensor
    node_owner: torch.Tensor  # (N,) int16 / int32 owner rank
    node_attrs: dict[str, torch.Tensor] = field(default_factory=dict)
    _global_colptr: torch.Tensor | None = field(default=None, repr=False)

    @property
    def num_owned(self) -> int:
        return self.owned.numel()

    def global_to_local(self, nodes: torch.Tensor) -> torch.Tensor:
        """Local rows of owned global ids (owned is sorted); raises if one is not owned here."""
        local = torch.searchsorted(self.owned, nodes)
        ok = local < self.owned.numel()
        ok[ok.clone()] &= self.owned[local[ok]] == nodes[ok]
        if not bool(ok.all()):
            bad = int(nodes[~ok][0])
            raise ValueError(f"node {bad} is not owned by rank {self.rank}")
        return local

    @property
    def global_colptr(self) -> torch.Tensor:
        """(N + 1,) offsets into `col` indexed by GLOBAL node id (rows of nodes owned elsewhere are empty).

        The sampling kernel keys its counter-based draws on the node id it is given, so the owner runs it on global
        ids; this array is the only O(N) int64 state per rank (0.9 GB at 111M nodes, see docs/scaling.md)."""
        if self._global_colptr is None:
            counts = torch.zeros(self.num_nodes, dtype=torch.int64)
            counts[self.owned] = self.colptr[1:] - self.colptr[:-1]
            self._global_colptr = offsets_from_counts(counts)
        return self._global_colptr


def partition_graph(data, num_parts: int, out_dir, *, recursive: bool = False, seed: int = 0,
                    node_attrs: list[str] | None = None, parts: torch.Tensor | None = None) -> Path:
    """Partitions `data` (a homogeneous meshgraph / PyG `Data` with `edge_index`) into `num_parts` METIS parts
    (pymetis on the symmetrised graph) and writes them to `out_dir` (layout in the module docstring).

    node_attrs: node-level attributes to split (default: every node-level tensor attribute). parts: an (N,)
    assignment to use instead of METIS (tests, or a partitioner of your own). Returns the folder."""
    if isinstance(num_parts, bool) or not isinstance(num_parts, int) or num_parts < 1:
        raise ValueError(f"num_parts must be a positive int, got {num_parts!r}")
    if "edge_index" not in data:
        raise ValueError("data has no edge_index to partition")
    N = int(data.num_nodes or 0)
    if num_parts > max(N, 1):
        raise ValueError(f"num_parts={num_parts} exceeds the number of nodes {N}")
    edge_index = data.edge_index.cpu().long()
    E = edge_index.size(1)
    colptr, row, perm = to_csc(edge_index, N)
    custom = parts is not None
    if parts is None:
        parts = metis(edge_index, N, num_parts, recursive=recursive, seed=seed)
    else:
        parts = torch.as_tensor(parts, dtype=torch.long)
        if parts.shape != (N,) or (N and (int(parts.min()) < 0 or int(parts.max()) >= num_parts)):
            raise ValueError(f"parts must be an (N,) = ({N},) tensor of ranks in [0, {num_parts})")
    if node_attrs is None:
        node_attrs = [k for k, v in data._store.items() if isinstance(v, torch.Tensor) and k != "edge_index"
                      and data.is_node_attr(k)]
    for k in node_attrs:
        if k not in data or not data.is_node_attr(k):
            raise ValueError(f"node_attrs: {k!r} is not a node-level attribute of data")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = graph_hash(edge_index, N)
    settings = {"num_parts": num_parts, "recursive": recursive, "seed": seed, "node_attrs": list(node_attrs),
                "custom_parts": custom}
    deg = colptr[1:] - colptr[:-1]
    owner = parts.to(torch.int16 if num_parts < 2**15 else torch.int32)
    files = {}
    torch.save(owner, out_dir / OWNER)
    for r in range(num_parts):
        owned = torch.nonzero(parts == r).view(-1)
        d = deg[owned]
        lptr = offsets_from_counts(d)
        pos = torch.repeat_interleave(colptr[owned] - lptr[:-1], d) + torch.arange(int(lptr[-1]))
        src = row[pos]
        halo = torch.unique(src[parts[src] != r])
        blob = {"version": FORMAT_VERSION, "graph_hash": digest, "settings": settings, "rank": r,
                "owned": owned, "colptr": lptr, "col": src, "csc_pos": pos,
                "edge_id": perm[pos] if perm is not None else pos.clone(), "halo": halo,
                "node_attrs": {k: data[k][owned].contiguous() for k in node_attrs}}
        torch.save(blob, out_dir / _part_name(r))
    for name in [OWNER] + [_part_name(r) for r in range(num_parts)]:
        files[name] = (os.path.getsize(out_dir / name), _digest(out_dir / name))
    torch.save({"version": FORMAT_VERSION, "graph_hash": digest, "settings": settings, "num_nodes": N,
                "num_edges": E, "num_parts": num_parts, "files": files}, out_dir / META)
    return out_dir


def _load(path: Path, what: str):
    try:
        return torch.load(path, weights_only=True)
    except Exception as e:  # truncated / not a torch file
        raise PartitionError(f"cannot read the {what} {path}: {type(e).__name__}: {e}") from e


def load_partition(out_dir, rank: int, *, data=None, verify: bool = True) -> LocalPartition:
    """Loads part `rank` of the folder written by `partition_graph`.

    Checks, each naming the file: the folder and its files exist, their sizes (and with `verify`, their blake2b
    digests) match META.pt, the part belongs to the same graph and partitioning as META.pt, and, when `data` is
    given, that the folder was partitioned from this graph (a stored hash of num_nodes and edge_index).
    Raises PartitionError (a ValueError) or FileNotFoundError."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"partition folder {out_dir} does not exist (write it with partition_graph)")
    meta_path = out_dir / META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} is missing: {out_dir} is not a partition folder or is incomplete")
    meta = _load(meta_path, "partition metadata")
    if not isinstance(meta, dict) or meta.get("version") != FORMAT_VERSION:
        raise PartitionError(f"{meta_path} is not a meshgraph partition metadata file of version {FORMAT_VERSION}")
    P = meta["num_parts"]
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < P:
        raise ValueError(f"rank must be in [0, {P}) for the {P}-part folder {out_dir}, got {rank!r}")
    if data is not None:
        want = graph_hash(data.edge_index, int(data.num_nodes or 0))
        if want != meta["graph_hash"]:
            raise PartitionError(f"{meta_path} belongs to another graph (its stored hash {meta['graph_hash']} "
                                 f"differs from the given data's {want})")
    for name in (OWNER, _part_name(rank)):
        path = out_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing from the partition folder")
        size, dig = meta["files"][name]
        if os.path.getsize(path) != size:
            raise PartitionError(f"{path} is truncated or rewritten: {os.path.getsize(path)} bytes, META.pt "
                                 f"recorded {size}")
        if verify and _digest(path) != dig:
            raise PartitionError(f"{path} is corrupted or from another partitioning: its digest differs from the "
                                 f"one META.pt recorded")
    blob = _load(out_dir / _part_name(rank), "partition file")
    path = out_dir / _part_name(rank)
    if blob.get("graph_hash") != meta["graph_hash"] or blob.get("settings") != meta["settings"] \
            or blob.get("rank") != rank:
        raise PartitionError(f"{path} is from another graph or partitioning than {meta_path} (graph hash / settings "
                             f"/ rank differ)")
    owner = _load(out_dir / OWNER, "routing table")
    if owner.shape != (meta["num_nodes"],):
        raise PartitionError(f"{out_dir / OWNER} holds {tuple(owner.shape)} entries, META.pt says "
                             f"{meta['num_nodes']} nodes")
    return LocalPartition(rank=rank, num_parts=P, num_nodes=meta["num_nodes"], num_edges=meta["num_edges"],
                          graph_hash=meta["graph_hash"], owned=blob["owned"], colptr=blob["colptr"], col=blob["col"],
                          csc_pos=blob["csc_pos"], edge_id=blob["edge_id"], halo=blob["halo"],
                          node_owner=owner, node_attrs=blob["node_attrs"])


__all__ = ["LocalPartition", "PartitionError", "load_partition", "partition_graph"]
