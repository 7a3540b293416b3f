"""Samplers behind the mini-batch loaders (PyG 2.8's `torch_geometric.sampler` vocabulary).

`NeighborSampler` turns a homogeneous `Data` (or a `(FeatureStore, GraphStore)` pair) into a CSC graph once, in the
process that builds the loader (`share_memory=True` moves it to shared memory, so DataLoader workers map the same
pages instead of copying it), and samples with meshgraph's `neighbor_sample` op. Its outputs are PyG's
`SamplerOutput`: `node` (global ids, the seeds first), `row` / `col` (local ids, message-passing direction
source -> target), `edge` (positions in the CSC; `edge_permutation` maps them to the input's edge order),
`num_sampled_nodes` / `num_sampled_edges` per hop (what `trim_to_layer` needs).

Heterogeneous graphs (`HeteroData` / meshgraph's HeteroGraph, or a (FeatureStore, GraphStore) pair with typed
edges): the same `NeighborSampler` samples per (hop, edge type) on each type's CSC and returns a
`HeteroSamplerOutput` (meshgraph/sampling/hetero_sampler.py).
"""

from __future__ import annotations

import copy
import math
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Iterator, Literal

import torch

from .._utils import offsets_from_counts
from ..ops.neighbor_sample import neighbor_sample

HETERO_MESSAGE = ("this sampler was built for a homogeneous graph; got {what} (typed input needs a sampler built on a "
                  "HeteroGraph / HeteroData, see meshgraph/sampling/hetero_sampler.py)")


class CastMixin:
    """`cls.cast(x)`: x itself when already one, a tuple / dict unpacked into the constructor (PyG's CastMixin)."""

    @classmethod
    def cast(cls, *args: Any, **kwargs: Any):
        if len(args) == 1 and not kwargs:
            elem = args[0]
            if elem is None:
                return None
            if isinstance(elem, CastMixin):
                return elem
            if isinstance(elem, tuple):
                return cls(*elem)
            if isinstance(elem, dict):
                return cls(**elem)
        return cls(*args, **kwargs)

    def __iter__(self) -> Iterator:
        return iter(self.__dict__.values())


class DataType(Enum):
    """The kind of graph a sampler reads."""

    homogeneous = "homogeneous"
    heterogeneous = "heterogeneous"
    remote = "remote"

    @classmethod
    def from_data(cls, data: Any) -> "DataType":
        from ..records import Data

        if hasattr(data, "metadata") and hasattr(data, "node_types") and callable(data.metadata):
            return cls.heterogeneous
        if isinstance(data, Data) or (hasattr(data, "_store") and hasattr(data, "is_node_attr")):
            return cls.homogeneous  # meshgraph's Data, or PyG's own (same store API)
        # duck-typed, so stores written against PyG's own base classes work too
        if (isinstance(data, (tuple, list)) and len(data) == 2 and hasattr(data[0], "get_all_tensor_attrs")
                and hasattr(data[1], "get_all_edge_attrs")):
            return cls.remote
        if hasattr(data, "node_types") and hasattr(data, "edge_types"):
            return cls.heterogeneous
        raise TypeError(f"expected a 'Data', 'HeteroData' or a '(FeatureStore, GraphStore)' tuple, got "
                        f"'{type(data).__name__}'")


class SubgraphType(Enum):
    """directional: the sampled edges only; bidirectional: made symmetric; induced: all edges among the nodes."""

    directional = "directional"
    bidirectional = "bidirectional"
    induced = "induced"


def _cpu(t):
    return t.cpu() if t is not None else None


def _as_index(index) -> torch.Tensor:
    return index if isinstance(index, torch.Tensor) else torch.tensor(index, dtype=torch.long)


@dataclass(init=False)
class NodeSamplerInput(CastMixin):
    """What `sample_from_nodes` gets: input_id (positions in the loader's input), node (seeds), time, input_type."""

    input_id: torch.Tensor | None
    node: torch.Tensor
    time: torch.Tensor | None = None
    input_type: str | None = None

    def __init__(self, input_id, node, time=None, input_type=None):
        self.input_id, self.node, self.time, self.input_type = _cpu(input_id), node.cpu(), _cpu(time), input_type

    def __getitem__(self, index) -> "NodeSamplerInput":
        index = _as_index(index)
        return NodeSamplerInput(self.input_id[index] if self.input_id is not None else index, self.node[index],
                                self.time[index] if self.time is not None else None, self.input_type)


@dataclass(init=False)
class EdgeSamplerInput(CastMixin):
    """What `sample_from_edges` gets: input_id, row / col (the seed links), label, time, input_type."""

    input_id: torch.Tensor | None
    row: torch.Tensor
    col: torch.Tensor
    label: torch.Tensor | None = None
    time: torch.Tensor | None = None
    input_type: tuple | None = None

    def __init__(self, input_id, row, col, label=None, time=None, input_type=None):
        self.input_id, self.row, self.col = _cpu(input_id), row.clone().cpu(), col.clone().cpu()
        self.label, self.time, self.input_type = _cpu(label), _cpu(time), input_type

    def __getitem__(self, index) -> "EdgeSamplerInput":
        index = _as_index(index)
        return EdgeSamplerInput(self.input_id[index] if self.input_id is not None else index, self.row[index],
                                self.col[index], self.label[index] if self.label is not None else None,
                                self.time[index] if self.time is not None else None, self.input_type)


def to_bidirectional(row, col, rev_row, rev_col, edge_id=None, rev_edge_id=None):
    """The union of (row, col) and the reversed (rev_col, rev_row) edges, duplicates removed, sorted by (col, row)
    as PyG's coalesce(sort_by_row=False); edge ids keep the first occurrence."""
    r = torch.cat([row, rev_col])
    c = torch.cat([col, rev_row])
    n = int(max(int(r.max()) if r.numel() else -1, int(c.max()) if c.numel() else -1)) + 1
    key = c.long() * max(n, 1) + r.long()
    key, perm = key.sort(stable=True)
    keep = torch.ones_like(key, dtype=torch.bool)
    keep[1:] = key[1:] != key[:-1]
    perm = perm[keep]
    eid = None
    if edge_id is not None:
        eid = torch.cat([edge_id, rev_edge_id])[perm]
    return r[perm], c[perm], eid


@dataclass
class SamplerOutput(CastMixin):
    """A sampled homogeneous subgraph (see the module docstring). metadata carries the loader's extras."""

    node: torch.Tensor
    row: torch.Tensor
    col: torch.Tensor
    edge: torch.Tensor | None
    batch: torch.Tensor | None = None
    num_sampled_nodes: list[int] | None = None
    num_sampled_edges: list[int] | None = None
    orig_row: torch.Tensor | None = None
    orig_col: torch.Tensor | None = None
    metadata: Any | None = None
    _seed_node: torch.Tensor | None = field(repr=False, default=None)

    @property
    def global_row(self) -> torch.Tensor:
        return self.node[self.row]

    @property
    def global_col(self) -> torch.Tensor:
        return self.node[self.col]

    @property
    def seed_node(self) -> torch.Tensor:
        if self._seed_node is None and self.batch is not None:
            self._seed_node = self.node[self.batch]
        return self._seed_node

    @seed_node.setter
    def seed_node(self, value: torch.Tensor) -> None:
        self._seed_node = value

    @property
    def global_orig_row(self):
        return self.node[self.orig_row] if self.orig_row is not None else None

    @property
    def global_orig_col(self):
        return self.node[self.orig_col] if self.orig_col is not None else None

    def to_bidirectional(self, keep_orig_edges: bool = False) -> "SamplerOutput":
        """Every sampled edge in both directions (per-hop counts are dropped unless keep_orig_edges)."""
        out = copy.copy(self)
        if keep_orig_edges:
            out.orig_row, out.orig_col = self.row, self.col
        else:
            out.num_sampled_nodes = out.num_sampled_edges = None
        out.row, out.col, out.edge = to_bidirectional(self.row, self.col, self.row, self.col, self.edge, self.edge)
        return out


class NumNeighbors:
    """Fan-outs per hop: a list (every edge type), or a dict {edge_type: list} (tuples or 'src__rel__dst'; missing
    types take `default`; every list of the same length)."""

    def __init__(self, values, default=None):
        if isinstance(values, (tuple, list)) and default is not None:
            raise ValueError(f"'default' must be set to 'None' in case a single list is given as the number of "
                             f"neighbors (got '{type(default)})'")
        self.__dict__["values"] = values
        self.__dict__["default"] = default

    def get_values(self, edge_types=None):
        if edge_types is not None:
            from .hetero_sampler import check_num_neighbors

            return check_num_neighbors(self.values, self.default, edge_types)
        if isinstance(self.values, dict):
            return {tuple(k.split("__")) if isinstance(k, str) else k: v for k, v in self.values.items()}
        return list(self.values)

    def get_mapped_values(self, edge_types=None):
        return self.get_values(edge_types)

    @property
    def num_hops(self) -> int:
        if isinstance(self.values, dict):
            return max([0] + [len(v) for v in self.values.values()] + [len(self.default or [])])
        return max(len(self.values), len(self.default or []))

    def __len__(self) -> int:
        return self.num_hops


class NegativeSamplingMode(Enum):
    binary = "binary"  # random (src, dst) pairs
    triplet = "triplet"  # random destinations for every positive source


@dataclass(init=False)
class NegativeSampling(CastMixin):
    """Negative sampling of `sample_from_edges`: mode 'binary' or 'triplet', amount negatives per positive,
    optional node weights for the source / destination draws."""

    mode: NegativeSamplingMode
    amount: int | float = 1
    src_weight: torch.Tensor | None = None
    dst_weight: torch.Tensor | None = None

    def __init__(self, mode, amount=1, src_weight=None, dst_weight=None):
        self.mode = NegativeSamplingMode(mode)
        self.amount, self.src_weight, self.dst_weight = amount, src_weight, dst_weight
        if self.amount <= 0:
            raise ValueError(f"The attribute 'amount' needs to be positive for '{type(self).__name__}' "
                             f"(got {self.amount})")
        if self.is_triplet():
            if self.amount != math.ceil(self.amount):
                raise ValueError(f"The attribute 'amount' needs to be an integer for '{type(self).__name__}' with "
                                 f"'triplet' negative sampling (got {self.amount}).")
            self.amount = math.ceil(self.amount)

    def is_binary(self) -> bool:
        return self.mode == NegativeSamplingMode.binary

    def is_triplet(self) -> bool:
        return self.mode == NegativeSamplingMode.triplet

    def sample(self, num_samples: int, endpoint: Literal["src", "dst"], num_nodes: int | None = None) -> torch.Tensor:
        weight = self.src_weight if endpoint == "src" else self.dst_weight
        if weight is None:
            if num_nodes is None:
                raise ValueError(f"Cannot sample negatives in '{type(self).__name__}' without passing the "
                                 f"'num_nodes' argument")
            return torch.randint(num_nodes, (num_samples,))
        if num_nodes is not None and weight.numel() != num_nodes:
            raise ValueError(f"The 'weight' attribute in '{type(self).__name__}' needs to match the number of nodes "
                             f"{num_nodes} (got {weight.numel()})")
        return torch.multinomial(weight, num_samples, replacement=True)


class BaseSampler(ABC):
    """A sampler: `sample_from_nodes(NodeSamplerInput)` and `sample_from_edges(EdgeSamplerInput, neg_sampling)`."""

    @abstractmethod
    def sample_from_nodes(self, index: NodeSamplerInput, **kwargs) -> SamplerOutput:
        raise NotImplementedError

    @abstractmethod
    def sample_from_edges(self, index: EdgeSamplerInput, neg_sampling: NegativeSampling | None = None) -> SamplerOutput:
        raise NotImplementedError

    @property
    def edge_permutation(self) -> torch.Tensor | None:
        """The permutation from the input's edge order to the sampler's (None when unchanged)."""
        return None


def to_csc(edge_index: torch.Tensor, num_nodes: int, is_sorted: bool = False, share_memory: bool = False,
           transpose: bool = False):
    """(colptr (N + 1,), row (E,), perm (E,) or None): the sources of edge_index grouped by target, built once.
    `perm[i]` is the input position of the i-th CSC entry (None when is_sorted says the input is already sorted
    by target). transpose=True groups targets by source (backward sampling)."""
    if not isinstance(edge_index, torch.Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must be a (2, E) tensor, got {getattr(edge_index, 'shape', type(edge_index))}")
    edge_index = edge_index.cpu().long()
    row, col = (edge_index[1], edge_index[0]) if transpose else (edge_index[0], edge_index[1])
    if row.numel():
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= num_nodes:
            raise ValueError(f"edge_index holds node {lo if lo < 0 else hi}, outside [0, {num_nodes}) (num_nodes)")
    perm = None
    if not is_sorted:
        col, perm = col.sort(stable=True)
        row = row[perm]
    elif row.numel() > 1 and bool((col[1:] < col[:-1]).any()):
        raise ValueError("is_sorted=True but edge_index is not sorted by its target (second) row")
    colptr = offsets_from_counts(torch.bincount(col, minlength=num_nodes))
    row = row.contiguous()
    if share_memory:
        colptr.share_memory_()
        row.share_memory_()
        if perm is not None:
            perm.share_memory_()
    return colptr, row, perm


class NeighborSampler(BaseSampler):
    """Multi-hop neighbour sampling of a homogeneous graph (PyG's `NeighborSampler`) on meshgraph's kernel.

    Signature as PyG 2.8. `subgraph_type`: 'directional' (default), 'bidirectional' or 'induced'; `time_attr` a
    node-level or edge-level time attribute (temporal sampling, implies disjoint; the CSC is then sorted by time
    within each node, PyG's sort_csc); `temporal_strategy` 'uniform' or 'last' (edge-level times and 'last' run
    meshgraph.sampling.temporal, node-level 'uniform' the neighbor_sample kernel); `weight_attr` an edge-level
    weight attribute (weighted draws); `share_memory` moves the CSC to shared memory (the loaders set it when num_workers > 0).
    Draws come from torch's default generator (seed it with torch.manual_seed; each DataLoader worker has its own).
    """

    def __init__(self, data, num_neighbors, subgraph_type="directional", replace: bool = False,
                 disjoint: bool = False, temporal_strategy: str = "uniform", time_attr: str | None = None,
                 weight_attr: str | None = None, is_sorted: bool = False, share_memory: bool = False,
                 directed: bool = True, sample_direction: Literal["forward", "backward"] = "forward"):
        if not directed:
            subgraph_type = SubgraphType.induced
            warnings.warn(f"The usage of the 'directed' argument in '{type(self).__name__}' is deprecated. Use "
                          f"`subgraph_type='induced'` instead.", stacklevel=2)
        if sample_direction not in ("forward", "backward"):
            raise ValueError(f"sample_direction must be 'forward' or 'backward', got {sample_direction!r}")
        if temporal_strategy not in ("uniform", "last"):
            raise ValueError(f"temporal_strategy must be 'uniform' or 'last', got {temporal_strategy!r}")
        self.data_type = DataType.from_data(data)
        self.sample_direction = sample_direction
        self.node_time = self.edge_time = self.edge_weight = None
        self.hetero_graph = None
        self.remote_data = None
        if self.data_type == DataType.remote and any(
                attr.edge_type is not None for attr in data[1].get_all_edge_attrs()):
            from .hetero_sampler import RemoteHeteroView

            if weight_attr is not None:
                raise NotImplementedError(f"'weight_attr' argument not yet supported within '{type(self).__name__}' "
                                          f"for '(FeatureStore, GraphStore)' inputs")
            self.remote_data = data
            data = RemoteHeteroView(*data)
        if self.data_type == DataType.heterogeneous or self.remote_data is not None:
            from .hetero_sampler import HeteroGraphCSC

            self.hetero_graph = g = HeteroGraphCSC(data, time_attr, weight_attr, is_sorted, share_memory,
                                                   sample_direction)
            self.node_types, self.edge_types = g.node_types, g.orig_edge_types
            self.num_nodes = dict(g.num_nodes)
            self.node_time, self.edge_time, self.perm = g.node_time, g.edge_time, g.perm
            if temporal_strategy == "last" and self.remote_data is not None:
                raise NotImplementedError("temporal_strategy='last' is not supported for '(FeatureStore, "
                                          "GraphStore)' inputs (only 'uniform')")
        elif self.data_type == DataType.homogeneous:
            self.num_nodes = int(data.num_nodes or 0)
            if time_attr is not None:
                if time_attr not in data:
                    raise ValueError(f"The time attribute '{time_attr}' (time_attr) is neither a node-level or "
                                     f"edge-level attribute")
                if data.is_node_attr(time_attr):
                    self.node_time = data[time_attr]
                elif data.is_edge_attr(time_attr):
                    self.edge_time = data[time_attr]
                else:
                    raise ValueError(f"The time attribute '{time_attr}' (time_attr) is neither a node-level or "
                                     f"edge-level attribute")
            edge_index = data.edge_index if "edge_index" in data else torch.empty(2, 0, dtype=torch.long)
            pre = None
            if (self.node_time is not None or self.edge_time is not None) and not is_sorted and edge_index.numel():
                # PyG's sort_csc for temporal sampling: each node's neighbours sorted by time (the neighbour's
                # node time, or the edge time), equal times in edge order
                nb = edge_index[1] if sample_direction == "backward" else edge_index[0]
                t = self.edge_time if self.edge_time is not None else self.node_time[nb.cpu()]
                pre = t.cpu().argsort(stable=True)
                edge_index = edge_index[:, pre.to(edge_index.device)]
            self.colptr, self.row, self.perm = to_csc(edge_index, self.num_nodes, is_sorted, share_memory,
                                                      transpose=sample_direction == "backward")
            if pre is not None:
                self.perm = pre[self.perm] if self.perm is not None else pre
            if weight_attr is not None:
                if weight_attr not in data or not data.is_edge_attr(weight_attr):
                    raise ValueError(f"The weight attribute '{weight_attr}' (weight_attr) is not an edge-level "
                                     f"attribute")
                w = data[weight_attr].cpu()
                self.edge_weight = w[self.perm] if self.perm is not None else w
        else:  # (FeatureStore, GraphStore)
            feature_store, graph_store = data
            edge_attrs = graph_store.get_all_edge_attrs()
            if not edge_attrs:
                raise ValueError("the GraphStore holds no edge_index (put_edge_index first)")
            if any(attr.edge_type is not None for attr in edge_attrs):
                raise NotImplementedError(HETERO_MESSAGE.format(what="a GraphStore with typed edges"))
            if weight_attr is not None:
                raise NotImplementedError(f"'weight_attr' argument not yet supported within '{type(self).__name__}' "
                                          f"for '(FeatureStore, GraphStore)' inputs")
            size = edge_attrs[0].size
            self.num_nodes = max(size) if size is not None else None
            if sample_direction == "forward":
                self.row, self.colptr, self.perm = graph_store.csc()
            else:
                self.colptr, self.row, self.perm = graph_store.csr()
            if self.num_nodes is None:
                self.num_nodes = self.colptr.numel() - 1
            if time_attr is not None:
                attrs = [a for a in feature_store.get_all_tensor_attrs() if a.attr_name == time_attr]
                if len(attrs) != 1:
                    raise ValueError("Temporal sampling specified but did not find any temporal data")
                attr = copy.copy(attrs[0])
                attr.index = None
                self.node_time = feature_store.get_tensor(attr)
            self.colptr, self.row = self.colptr.long(), self.row.long()
            if share_memory:
                self.colptr.share_memory_()
                self.row.share_memory_()
        if not self.is_hetero:
            if self.edge_time is not None:
                t = self.edge_time.cpu()
                self.edge_time = _time_dtype(t[self.perm] if self.perm is not None else t, "time_attr")
            if self.node_time is not None:
                self.node_time = self.node_time.cpu()
            for t in (self.node_time, self.edge_time):
                if t is not None and share_memory:
                    t.share_memory_()
            if temporal_strategy == "last" and self.node_time is not None and self.data_type == DataType.remote:
                raise NotImplementedError("temporal_strategy='last' is not supported for '(FeatureStore, "
                                          "GraphStore)' inputs (only 'uniform')")
        if self.edge_weight is not None or (self.is_hetero and self.hetero_graph.weight):
            if self.edge_time is not None or (temporal_strategy == "last" and self.node_time is not None):
                raise NotImplementedError("weight_attr with edge-level times or temporal_strategy='last': biased "
                                          "temporal sampling is not supported (as in PyG / pyg-lib)")
        self.num_neighbors = num_neighbors
        self.replace = replace
        try:
            self.subgraph_type = SubgraphType(subgraph_type)
        except ValueError:
            raise ValueError(f"subgraph_type must be one of 'directional', 'bidirectional', 'induced', got "
                             f"{subgraph_type!r}") from None
        self.disjoint = disjoint
        self.temporal_strategy = temporal_strategy
        self.keep_orig_edges = False

    @property
    def num_neighbors(self) -> NumNeighbors:
        return self._num_neighbors

    @num_neighbors.setter
    def num_neighbors(self, num_neighbors) -> None:
        if not isinstance(num_neighbors, NumNeighbors):
            num_neighbors = NumNeighbors(num_neighbors)
        if self.hetero_graph is not None:
            fan = num_neighbors.get_values(self.edge_types)  # ValueError naming the bad edge type / length
            g = self.hetero_graph
            self._fanouts = {et: fan[oet] for et, oet in zip(g.edge_types, g.orig_edge_types)}
        else:
            if isinstance(num_neighbors.values, dict):
                raise ValueError("num_neighbors is a dict of edge types, but the graph is homogeneous: pass a "
                                 "list of fan-outs")
            from ..ops.neighbor_sample import _check_fanouts

            _check_fanouts(num_neighbors.values)  # names the bad hop
        self._num_neighbors = num_neighbors

    @property
    def is_hetero(self) -> bool:
        return self.hetero_graph is not None

    @property
    def is_temporal(self) -> bool:
        return self.node_time is not None or self.edge_time is not None

    @property
    def disjoint(self) -> bool:
        return self._disjoint or self.is_temporal

    @disjoint.setter
    def disjoint(self, disjoint: bool) -> None:
        self._disjoint = disjoint

    def sample_from_nodes(self, inputs: NodeSamplerInput, **kwargs) -> SamplerOutput:
        if self.is_hetero:
            from .hetero_sampler import hetero_node_sample

            out = hetero_node_sample(inputs, self._sample, self.node_types)
            if self.subgraph_type == SubgraphType.bidirectional:
                out = out.to_bidirectional(keep_orig_edges=self.keep_orig_edges)
            return out
        out = node_sample(inputs, self._sample)
        if self.subgraph_type == SubgraphType.bidirectional:
            out = out.to_bidirectional(keep_orig_edges=self.keep_orig_edges)
        return out

    def sample_from_edges(self, inputs: EdgeSamplerInput,
                          neg_sampling: NegativeSampling | None = None) -> SamplerOutput:
        if self.is_hetero:
            from .hetero_sampler import hetero_edge_sample

            out = hetero_edge_sample(inputs, self._sample, self.num_nodes, self.disjoint, self.node_time,
                                     neg_sampling)
            if self.subgraph_type == SubgraphType.bidirectional:
                out = out.to_bidirectional(keep_orig_edges=self.keep_orig_edges)
            return out
        out = edge_sample(inputs, self._sample, self.num_nodes, self.disjoint, self.node_time, neg_sampling)
        if self.subgraph_type == SubgraphType.bidirectional:
            out = out.to_bidirectional(keep_orig_edges=self.keep_orig_edges)
        return out

    @property
    def edge_permutation(self) -> torch.Tensor | None:
        return self.perm

    def _sample(self, seed, seed_time=None, **kwargs) -> SamplerOutput:
        if isinstance(seed, dict):
            if not self.is_hetero:
                raise ValueError("seeds given per node type (a dict), but the graph is homogeneous")
            from .hetero_sampler import hetero_sample

            return hetero_sample(self.hetero_graph, self._fanouts, seed, seed_time, replace=self.replace,
                                 disjoint=self.disjoint, induced=self.subgraph_type == SubgraphType.induced,
                                 generator=kwargs.get("generator"), temporal_strategy=self.temporal_strategy)
        seed = seed.long()
        if seed.numel():
            lo, hi = int(seed.min()), int(seed.max())
            if lo < 0 or hi >= self.num_nodes:
                raise IndexError(f"input_nodes holds node {lo if lo < 0 else hi}, outside [0, {self.num_nodes}) "
                                 f"(the graph's num_nodes)")
        time, st = self.node_time, None
        if time is not None:
            st = seed_time if seed_time is not None else time[seed]
        if self.edge_time is not None or (time is not None and self.temporal_strategy == "last"):
            from .temporal import temporal_neighbor_sample

            if self.edge_time is not None:
                if seed_time is None:
                    raise ValueError("edge-level temporal sampling needs the seeds' times: pass input_time "
                                     "(NeighborLoader) or edge_label_time (LinkNeighborLoader)")
                st = seed_time
            if self.sample_direction == "backward":
                raise NotImplementedError("sample_direction='backward' with edge-level times or "
                                          "temporal_strategy='last' is not supported")
            ns = temporal_neighbor_sample(self.colptr, self.row, seed, st.cpu(),
                                          self.num_neighbors.get_mapped_values(), replace=self.replace,
                                          strategy=self.temporal_strategy, node_time=time, edge_time=self.edge_time,
                                          induced=self.subgraph_type == SubgraphType.induced,
                                          generator=kwargs.get("generator"))
            return SamplerOutput(node=ns.node, row=ns.col, col=ns.row, edge=ns.edge, batch=ns.batch,
                                 num_sampled_nodes=ns.num_sampled_nodes, num_sampled_edges=ns.num_sampled_edges)
        ns = neighbor_sample(self.colptr, self.row, seed, self.num_neighbors.get_mapped_values(),
                             replace=self.replace, directed=self.subgraph_type != SubgraphType.induced,
                             disjoint=self.disjoint, weight=self.edge_weight, time=time, seed_time=st)
        # CSC: the kernel's row is the target, its col the sampled source -> PyG's (row=source, col=target)
        row, col = ns.col, ns.row
        if self.sample_direction == "backward":
            row, col = col, row
        return SamplerOutput(node=ns.node, row=row, col=col, edge=ns.edge, batch=ns.batch,
                             num_sampled_nodes=ns.num_sampled_nodes, num_sampled_edges=ns.num_sampled_edges)


def _time_dtype(t: torch.Tensor, name: str) -> torch.Tensor:
    """Times as int64 or float64 (the dtypes temporal sampling compares in)."""
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name}: times must be an integer or floating tensor, got {t.dtype}")
    return t.to(torch.float64 if t.is_floating_point() else torch.int64)


def node_sample(inputs: NodeSamplerInput, sample_fn: Callable) -> SamplerOutput:
    """Samples from the seeds of `inputs` with `sample_fn(seed, seed_time)`; metadata = (input_id, time)."""
    if inputs.input_type is not None:
        raise NotImplementedError(HETERO_MESSAGE.format(what=f"input_type={inputs.input_type!r}"))
    out = sample_fn(inputs.node, inputs.time)
    out.metadata = (inputs.input_id, inputs.time)
    return out


def neg_sample(seed: torch.Tensor, neg_sampling: NegativeSampling, num_nodes: int, seed_time, node_time,
               endpoint: str) -> torch.Tensor:
    """ceil(amount * len(seed)) random nodes; with node times, only nodes not later than the matching seed time."""
    num_neg = math.ceil(seed.numel() * neg_sampling.amount)
    if node_time is None:
        return neg_sampling.sample(num_neg, endpoint, num_nodes)
    k = math.ceil(neg_sampling.amount)
    seed_time = seed_time.view(1, -1).expand(k, -1)
    out = neg_sampling.sample(k * seed.numel(), endpoint, num_nodes).view(k, seed.numel())
    mask = node_time[out] > seed_time
    for _ in range(5):
        n_bad = int(mask.sum())
        if n_bad == 0:
            break
        out[mask] = tmp = neg_sampling.sample(n_bad, endpoint, num_nodes)
        mask[mask.clone()] = node_time[tmp] > seed_time[mask]
    else:
        if bool(mask.any()):
            out[mask] = node_time.argmin()
    return out.view(-1)[:num_neg]


def edge_sample(inputs: EdgeSamplerInput, sample_fn: Callable, num_nodes: int, disjoint: bool, node_time=None,
                neg_sampling: NegativeSampling | None = None) -> SamplerOutput:
    """Samples around the endpoints of seed links (plus negatives): PyG's edge_sample for homogeneous graphs.

    metadata: binary / no negatives -> (input_id, edge_label_index, edge_label, edge_label_time);
    triplet -> (input_id, src_index, dst_pos_index, dst_neg_index, seed_time)."""
    if inputs.input_type is not None:
        raise NotImplementedError(HETERO_MESSAGE.format(what=f"edge type {inputs.input_type!r}"))
    input_id, src, dst = inputs.input_id, inputs.row, inputs.col
    edge_label, edge_label_time = inputs.label, inputs.time
    src_time = dst_time = edge_label_time
    num_pos, num_neg = src.numel(), 0
    for name, t in (("edge_label_index[0]", src), ("edge_label_index[1]", dst)):
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_nodes):
            raise IndexError(f"{name} holds a node outside [0, {num_nodes}) (the graph's num_nodes)")
    if neg_sampling is not None:
        num_neg = math.ceil(num_pos * neg_sampling.amount)
        if neg_sampling.is_binary():
            src = torch.cat([src, neg_sample(src, neg_sampling, num_nodes, src_time, node_time, "src")])
            dst = torch.cat([dst, neg_sample(dst, neg_sampling, num_nodes, dst_time, node_time, "dst")])
            if edge_label is None:
                edge_label = torch.ones(num_pos)
            edge_label = torch.cat([edge_label, edge_label.new_zeros((num_neg,) + edge_label.size()[1:])])
            if edge_label_time is not None:
                src_time = dst_time = edge_label_time.repeat(1 + math.ceil(neg_sampling.amount))[:num_pos + num_neg]
        else:
            dst = torch.cat([dst, neg_sample(dst, neg_sampling, num_nodes, dst_time, node_time, "dst")])
            if edge_label_time is not None:
                dst_time = edge_label_time.repeat(1 + neg_sampling.amount)
    seed = torch.cat([src, dst])
    seed_time = None
    if not disjoint:
        seed, inverse_seed = seed.unique(return_inverse=True)
    if edge_label_time is not None:
        seed_time = torch.cat([src_time, dst_time])
    out = sample_fn(seed, seed_time)
    if neg_sampling is None or neg_sampling.is_binary():
        if disjoint:
            out.batch = out.batch % num_pos if num_pos else out.batch
            edge_label_index = torch.arange(seed.numel()).view(2, -1)
        else:
            edge_label_index = inverse_seed.view(2, -1)
        out.metadata = (input_id, edge_label_index, edge_label, src_time)
    else:
        if disjoint:
            out.batch = out.batch % num_pos if num_pos else out.batch
            src_index = torch.arange(num_pos)
            dst_pos_index = torch.arange(num_pos, 2 * num_pos)
            dst_neg_index = torch.arange(2 * num_pos, seed.numel()).view(-1, num_pos).t()
        else:
            src_index = inverse_seed[:num_pos]
            dst_pos_index = inverse_seed[num_pos:2 * num_pos]
            dst_neg_index = inverse_seed[2 * num_pos:]
        dst_neg_index = dst_neg_index.reshape(num_pos, -1).squeeze(-1)
        out.metadata = (input_id, src_index, dst_pos_index, dst_neg_index, src_time)
    return out


__all__ = ["BaseSampler", "DataType", "EdgeSamplerInput", "NegativeSampling", "NegativeSamplingMode",
           "NeighborSampler", "NodeSamplerInput", "NumNeighbors", "SamplerOutput", "SubgraphType", "edge_sample",
           "neg_sample", "node_sample", "to_bidirectional", "to_csc"]
