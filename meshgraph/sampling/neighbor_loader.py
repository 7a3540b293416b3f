"""Node-seeded mini-batch loaders: `NodeLoader` (any sampler) and `NeighborLoader` (PyG 2.8's signatures).

The loader is a torch DataLoader over seed positions: `batch_size`, `shuffle`, `num_workers`, `persistent_workers`,
`pin_memory`, `drop_last`, ... pass through. Each batch is a `Data` holding the sampled subgraph: node attributes
gathered at `n_id` (global ids of the sampled nodes, the seeds first, so `batch.x[:batch.batch_size]` are the
seeds' rows), edge attributes at `e_id`, `edge_index` in local ids, `input_id` (positions of the seeds in
`input_nodes`), `batch_size`, `num_sampled_nodes` / `num_sampled_edges` per hop and, for disjoint sampling,
`batch` (the seed each node belongs to).

Randomness: each iteration draws one seed from torch's default generator and every batch samples under a seed made
from it and the batch's input positions, so the batches are the same whatever `num_workers` and the workers' start
method (fork or spawn) are.

Memory: the sampler's CSC is built once in the process that builds the loader and, with workers, lives in shared
memory (workers map the same pages); each worker allocates only its batch (with `filter_per_worker`, into shared
memory, so handing it to the main process copies nothing).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.utils.data

from ..records import Data
from .sampler import (
    BaseSampler,
    DataType,
    NeighborSampler,
    NodeSamplerInput,
    SamplerOutput,
)


class DataLoaderIterator:
    """Wraps a DataLoader iterator and applies `transform_fn` in the main process."""

    def __init__(self, iterator: Iterator, transform_fn: Callable):
        self.iterator, self.transform_fn = iterator, transform_fn

    def __iter__(self) -> "DataLoaderIterator":
        return self

    def _reset(self, loader: Any, first_iter: bool = False):
        self.iterator._reset(loader, first_iter)

    def __len__(self) -> int:
        return len(self.iterator)

    def __next__(self) -> Any:
        return self.transform_fn(next(self.iterator))


def index_select(value, index: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """value.index_select(dim, index); inside a DataLoader worker the result is allocated in shared memory so the
    batch reaches the main process without a copy. numpy arrays (memmaps too) are gathered with np.take."""
    index = index.to(torch.int64)
    if isinstance(value, torch.Tensor):
        out = None
        if torch.utils.data.get_worker_info() is not None:
            size = list(value.shape)
            size[dim] = index.numel()
            storage = value.untyped_storage()._new_shared(math.prod(size) * value.element_size())
            out = value.new(storage).view(size)
        return torch.index_select(value, dim, index, out=out)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.take(value, index.cpu().numpy(), axis=dim))
    raise ValueError(f"Encountered invalid feature tensor type (got '{type(value)}')")


def filter_data(data: Data, node: torch.Tensor, row: torch.Tensor, col: torch.Tensor, edge, perm=None) -> Data:
    """A shallow copy of `data` restricted to the sampled subgraph: node attributes at `node`, edge attributes at
    `perm[edge]` (or `edge`), `edge_index = [row; col]`; graph-level values are kept as they are."""
    out = copy.copy(data)
    store = data._store
    for key, value in list(store.items()):
        if key == "num_nodes":
            out.num_nodes = node.numel()
        elif key == "edge_index":
            out.edge_index = torch.stack([row, col], dim=0).to(value.device)
        elif store.is_node_attr(key):
            if isinstance(value, torch.Tensor):
                idx = node.to(value.device)
            else:
                idx = node.cpu()
            out[key] = index_select(value, idx, dim=data.__cat_dim__(key, value))
        elif store.is_edge_attr(key):
            if edge is None:
                out[key] = None
                continue
            idx = edge.to(torch.int64)
            if perm is not None:
                idx = perm[idx]
            idx = idx.to(value.device) if isinstance(value, torch.Tensor) else idx.cpu()
            dim = data.__cat_dim__(key, value)
            if isinstance(dim, int) and dim < 0:
                dim = value.dim() + dim
            out[key] = index_select(value, idx, dim=dim)
    if "num_nodes" not in store and node.numel() != (out.num_nodes or 0):
        out.num_nodes = node.numel()
    return out


def filter_custom_store(feature_store, graph_store, node, row, col, edge, custom_cls=None) -> Data:
    """The batch of a (FeatureStore, GraphStore) pair: every stored node tensor gathered at `node`."""
    data = custom_cls() if custom_cls is not None else Data()
    data.edge_index = torch.stack([row, col], dim=0)
    attrs = []
    for attr in feature_store.get_all_tensor_attrs():
        attr.index = node
        attrs.append(attr)
    data.num_nodes = node.numel()
    for attr, tensor in zip(attrs, feature_store.multi_get_tensor(attrs)):
        data[attr.attr_name] = tensor
    return data


def _typed_store(data) -> bool:
    """Whether data is a (FeatureStore, GraphStore) pair with typed edges (a heterogeneous remote graph)."""
    return (isinstance(data, (tuple, list)) and len(data) == 2 and hasattr(data[1], "get_all_edge_attrs")
            and any(attr.edge_type is not None for attr in data[1].get_all_edge_attrs()))


def get_input_nodes(data, input_nodes, input_id=None):
    """(input_type, seeds (K,) int64, input_id) for a homogeneous graph or a feature/graph store pair."""
    from .stores import num_nodes as store_num_nodes

    kind = DataType.from_data(data)
    if kind == DataType.heterogeneous or _typed_store(data):
        from .hetero_loader import get_hetero_input_nodes
        from .hetero_sampler import RemoteHeteroView

        view = data if kind == DataType.heterogeneous else RemoteHeteroView(*data)
        return get_hetero_input_nodes(view, input_nodes, input_id)
    if isinstance(input_nodes, str) or (isinstance(input_nodes, (tuple, list)) and len(input_nodes) == 2
                                        and isinstance(input_nodes[0], str)):
        node_type = input_nodes if isinstance(input_nodes, str) else input_nodes[0]
        raise ValueError(f"input_nodes names the node type {node_type!r}, but the graph is homogeneous (one node "
                         f"type): pass a tensor of node indices or a boolean mask")
    N = int(data.num_nodes or 0) if kind == DataType.homogeneous else store_num_nodes(*data)
    if input_nodes is None:
        return None, torch.arange(N), None
    nodes, input_id = seed_index(input_nodes, input_id, N, "input_nodes", "the graph's num_nodes")
    return None, nodes, input_id


def seed_index(nodes, input_id, n: int, name: str, what: str):
    """(seeds, input_id) from `nodes` (a tensor, array or sequence of node indices, or a boolean mask over the n
    nodes; a mask gives its positions, which also become input_id when none is given): int64, checked within
    [0, n) (`what` names n in the error)."""
    if isinstance(nodes, np.ndarray):
        nodes = torch.from_numpy(nodes)
    if not isinstance(nodes, torch.Tensor):
        try:
            nodes = torch.tensor(nodes, dtype=torch.long)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a tensor of node indices or a boolean mask, got "
                            f"{type(nodes).__name__}") from exc
    if nodes.dtype == torch.bool:
        if nodes.dim() != 1 or nodes.numel() != n:
            raise ValueError(f"{name} as a boolean mask must have one entry per node ({n}), got shape "
                             f"{tuple(nodes.shape)}")
        nodes = nodes.nonzero().view(-1)
        if input_id is None:
            input_id = nodes
    elif nodes.is_floating_point() or nodes.is_complex():
        raise TypeError(f"{name} must hold integer node indices or be a boolean mask, got {nodes.dtype}")
    nodes = nodes.reshape(-1).long()
    if nodes.numel():
        lo, hi = int(nodes.min()), int(nodes.max())
        if lo < 0 or hi >= n:
            raise IndexError(f"{name} holds node {lo if lo < 0 else hi}, outside [0, {n}) ({what})")
    if input_id is not None and input_id.numel() != nodes.numel():
        raise ValueError(f"input_id has {input_id.numel()} entries, {name} {nodes.numel()}")
    return nodes, input_id


def join_sample(loader, out: SamplerOutput, sampler: BaseSampler) -> Data:
    """The batch `Data` of a homogeneous SamplerOutput (transform_sampler_output applied first): features joined
    at the sampled nodes / edges, n_id, e_id, batch and the per-hop counts. Shared by NodeLoader and LinkLoader."""
    if loader.transform_sampler_output:
        out = loader.transform_sampler_output(out)
    from .hetero_sampler import HeteroSamplerOutput

    if isinstance(out, HeteroSamplerOutput):
        from .hetero_loader import join_hetero_sample

        return join_hetero_sample(loader, out, sampler)
    if not isinstance(out, SamplerOutput):
        raise TypeError(f"'{type(loader).__name__}' found invalid type: '{type(out)}'")
    perm = sampler.edge_permutation
    if DataType.from_data(loader.data) == DataType.homogeneous:
        data = filter_data(loader.data, out.node, out.row, out.col, out.edge, perm)
    else:
        data = filter_custom_store(*loader.data, out.node, out.row, out.col, out.edge, loader.custom_cls)
    if "n_id" not in data:
        data.n_id = out.node
    if out.edge is not None and "e_id" not in data:
        edge = out.edge.to(torch.long)
        data.e_id = perm[edge] if perm is not None else edge
    data.batch = out.batch
    data.num_sampled_nodes = out.num_sampled_nodes
    data.num_sampled_edges = out.num_sampled_edges
    data.input_id = out.metadata[0]
    return data, out


class SampledLoaderMixin:
    """What NodeLoader and LinkLoader share: sampling in collate_fn, joining features in the worker
    (filter_per_worker) or in the main process (through DataLoaderIterator)."""

    def __call__(self, index):
        """The batch of the input positions `index` (sampled and joined in this process)."""
        out = self.collate_fn(index)
        return out if self.filter_per_worker else self.filter_fn(out)

    def _get_iterator(self) -> Iterator:
        # one seed per epoch, drawn here from torch's default generator; each batch then samples under its own
        # seed (epoch seed, first input position), so the batches are the same whatever num_workers and the
        # workers' start method are (with persistent_workers the workers keep the first epoch's seed)
        sampler = getattr(self, "node_sampler", None) or getattr(self, "link_sampler", None)
        self._epoch_seed = int(torch.randint(0, 2**62, (1,)).item()) if sampler is not None else None
        if self.filter_per_worker:
            return super()._get_iterator()
        return DataLoaderIterator(super()._get_iterator(), self.filter_fn)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _batch_rng(self, index):
        """A context in which torch's default generator is seeded for the batch of input positions `index` (see
        _get_iterator); a no-op for calls outside an iteration."""
        import contextlib

        seed = getattr(self, "_epoch_seed", None)
        if seed is None or len(index) == 0:
            return contextlib.nullcontext()
        first = int(index[0]) if not isinstance(index, torch.Tensor) else int(index.view(-1)[0])
        ctx = torch.random.fork_rng(devices=[])

        class _Seeded:
            def __enter__(self_inner):
                ctx.__enter__()
                torch.manual_seed((seed * 1000003 + first * 7919 + len(index)) % (2**62))

            def __exit__(self_inner, *exc):
                return ctx.__exit__(*exc)

        return _Seeded()


def infer_filter_per_worker(data) -> bool:
    return not (DataType.from_data(data) == DataType.homogeneous and data.is_cuda)


class NodeLoader(SampledLoaderMixin, torch.utils.data.DataLoader):
    """Mini-batches sampled around seed nodes by any `BaseSampler` (PyG's `NodeLoader`)."""

    def __init__(self, data, node_sampler: BaseSampler, input_nodes=None, input_time=None,
                 transform: Callable | None = None, transform_sampler_output: Callable | None = None,
                 filter_per_worker: bool | None = None, custom_cls=None, input_id=None, **kwargs):
        if filter_per_worker is None:
            filter_per_worker = infer_filter_per_worker(data)
        self.data = data
        self.node_sampler = node_sampler
        self.input_nodes = input_nodes
        self.input_time = input_time
        self.transform = transform
        self.transform_sampler_output = transform_sampler_output
        self.filter_per_worker = filter_per_worker
        self.custom_cls = custom_cls
        self.input_id = input_id
        kwargs.pop("dataset", None)
        kwargs.pop("collate_fn", None)
        input_type, nodes, input_id = get_input_nodes(data, input_nodes, input_id)
        if input_time is not None and input_time.numel() != nodes.numel():
            raise ValueError(f"input_time has {input_time.numel()} entries, input_nodes {nodes.numel()}")
        self.input_data = NodeSamplerInput(input_id=input_id, node=nodes, time=input_time, input_type=input_type)
        super().__init__(range(nodes.size(0)), collate_fn=self.collate_fn, **kwargs)

    def collate_fn(self, index) -> Any:
        with self._batch_rng(index):
            out = self.node_sampler.sample_from_nodes(self.input_data[index])
        return self.filter_fn(out) if self.filter_per_worker else out

    def filter_fn(self, out: SamplerOutput) -> Data:
        """Joins the sampled nodes and edges with their features."""
        data, out = join_sample(self, out, self.node_sampler)
        if not isinstance(out, SamplerOutput):  # hetero: the seeds' values live in data[input_type]
            store = data[self.input_data.input_type]
            store.seed_time = out.metadata[1]
            store.batch_size = out.metadata[0].size(0)
            return data if self.transform is None else self.transform(data)
        if out.orig_row is not None and out.orig_col is not None:
            data._orig_edge_index = torch.stack([out.orig_row, out.orig_col], dim=0)
        data.seed_time = out.metadata[1]
        data.batch_size = out.metadata[0].size(0)
        return data if self.transform is None else self.transform(data)


class NeighborLoader(NodeLoader):
    """Neighbour-sampled mini-batches (PyG's `NeighborLoader`; see the module docstring for the batch layout).

    `num_neighbors[h]` neighbours are drawn per node at hop h (-1: all); `subgraph_type` 'directional',
    'bidirectional' or 'induced'; `disjoint` gives each seed its own subtree; `time_attr` restricts each seed's
    subtree to neighbours (node-level time) or edges (edge-level time) not later than the seed's time (`input_time`
    overrides the seeds' node times; edge-level times need it), drawn uniformly or, with
    `temporal_strategy='last'`, the latest ones (meshgraph.sampling.temporal); `weight_attr` draws in proportion to
    an edge weight. `data` is a `Data`, a `HeteroData` or a `(FeatureStore, GraphStore)` pair.
    """

    def __init__(self, data, num_neighbors, input_nodes=None, input_time=None, replace: bool = False,
                 subgraph_type="directional", disjoint: bool = False, temporal_strategy: str = "uniform",
                 time_attr: str | None = None, weight_attr: str | None = None, transform: Callable | None = None,
                 transform_sampler_output: Callable | None = None, is_sorted: bool = False,
                 filter_per_worker: bool | None = None, neighbor_sampler: NeighborSampler | None = None,
                 directed: bool = True, **kwargs):
        if input_time is not None and time_attr is None:
            raise ValueError("Received conflicting 'input_time' and 'time_attr' arguments: 'input_time' is set "
                             "while 'time_attr' is not set.")
        if neighbor_sampler is None:
            neighbor_sampler = NeighborSampler(
                data, num_neighbors=num_neighbors, replace=replace, subgraph_type=subgraph_type, disjoint=disjoint,
                temporal_strategy=temporal_strategy, time_attr=time_attr, weight_attr=weight_attr,
                is_sorted=is_sorted, share_memory=kwargs.get("num_workers", 0) > 0, directed=directed)
        super().__init__(data=data, node_sampler=neighbor_sampler, input_nodes=input_nodes, input_time=input_time,
                         transform=transform, transform_sampler_output=transform_sampler_output,
                         filter_per_worker=filter_per_worker, **kwargs)


__all__ = ["DataLoaderIterator", "NeighborLoader", "NodeLoader", "SampledLoaderMixin", "filter_custom_store",
           "filter_data", "get_input_nodes", "index_select", "infer_filter_per_worker", "join_sample"]
