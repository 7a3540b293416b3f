"""Graph transforms with PyG 2.8's names, signatures and semantics (`torch_geometric.transforms`).

A transform is a callable object: `data = T.Compose([T.ToUndirected(), T.AddSelfLoops()])(data)`. Calling one
shallow-copies its input (as PyG's `BaseTransform.__call__` does) and runs `forward` on the copy, so the record a
user holds keeps its attributes. On the compat records (`meshgraph.records.Data` / `Batch`) and on PyG's own each
transform does what PyG's does, on meshgraph's ops (edge utils, knn / radius builders, gcn_norm).

Randomness is PyG's: the same draws from the same global RNGs in the same order (torch's for RandomNodeSplit,
RandomLinkSplit's permutation, AddLaplacianEigenvectorPE's signs, RandomJitter, SamplePoints; Python's `random`
for RandomFlip, RandomRotate and RandomLinkSplit's negative edges), so a run seeded with `torch.manual_seed` (and
`random.seed`) gives PyG's output.

Native containers: the geometric transforms (Center, NormalizeScale, RandomJitter, RandomFlip, RandomRotate,
LinearTransformation, KNNGraph, RadiusGraph, FaceToEdge, SamplePoints) and Compose of them also take a `Graph` or a
`GraphBatch` and return the same kind (a new object; the input is unchanged). On a GraphBatch each graph is
transformed on its own, as PyG's transform applied to each graph's Data in turn (Center / NormalizeScale use each
graph's own mean and extent; a random transform draws for graph 0, then graph 1, ...); KNNGraph / RadiusGraph /
FaceToEdge replace the edges (edge features are dropped). SamplePoints on a GraphBatch samples with meshgraph's
`sample_points_from_meshes` (PyTorch3D's draws, not PyG's) and returns point clouds.
"""

from __future__ import annotations

import copy
import math
import random
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import repeat
from typing import Any, Callable

import torch

from ..graph import POS, Graph, GraphBatch
from ..ops.edge_utils import (
    add_self_loops,
    get_self_loop_attr,
    is_torch_sparse_tensor,
    maybe_num_nodes,
    remove_self_loops,
    sort_edge_index,
    to_edge_index,
    to_torch_coo_tensor,
    to_scipy_sparse_matrix,
    to_torch_csr_tensor,
    to_undirected,
)
from ..ops.graph_builders import knn_graph, radius_graph
from ..ops.scatter import scatter
from ..utils_graph import negative_sampling

REDUCES = ("add", "sum", "mean", "min", "max", "mul")

__all__ = [
    "AddLaplacianEigenvectorPE", "AddRandomWalkPE", "AddSelfLoops", "BaseTransform", "Center", "Compose",
    "ComposeFilters", "FaceToEdge", "GCNNorm", "KNNGraph", "LinearTransformation", "NormalizeFeatures",
    "NormalizeScale", "RadiusGraph", "RandomFlip", "RandomJitter", "RandomLinkSplit", "RandomNodeSplit",
    "RandomRotate", "RemoveIsolatedNodes", "SamplePoints", "ToSparseTensor", "ToUndirected",
]


# ---------------------------------------------------------------------- argument checks


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_int(v: Any, name: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        what = "a positive int" if minimum == 1 else "a non-negative int"
        raise ValueError(f"{name} must be {what}, got {v!r}")
    return v


def _check_count(v: Any, name: str) -> int | float:
    """A number of items (a non-negative int) or a ratio (a float in [0, 1])."""
    if isinstance(v, float):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be a non-negative int or a ratio in [0, 1], got {v!r}")
        return v
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{name} must be a non-negative int or a ratio in [0, 1], got {v!r}")
    return v


def _check_nonnegative(v: Any, name: str) -> float:
    if not _is_number(v) or not v >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {v!r}")
    return v


def _check_choice(v: Any, name: str, choices: Sequence) -> Any:
    if v not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {v!r}")
    return v


def _pos(data: Any) -> torch.Tensor:
    """data.pos, or a ValueError naming it (PyG asserts it is set)."""
    pos = getattr(data, "pos", None)
    if pos is None:
        raise ValueError("data.pos is required (node positions), but data has none")
    return pos


def _edge_index(data: Any) -> torch.Tensor:
    edge_index = getattr(data, "edge_index", None)
    if edge_index is None:
        raise ValueError("data.edge_index is required, but data has none")
    return edge_index


def _num_nodes(data: Any) -> int:
    n = data.num_nodes
    if n is None:
        raise ValueError("data.num_nodes is unknown: set data.num_nodes or a node-level attribute")
    return n


# ---------------------------------------------------------------------- base classes


class BaseTransform(ABC):
    """A transform of a record (PyG's BaseTransform): `transform(data)` runs `forward` on a shallow copy.

    Subclasses implement `forward(data)`. A transform that also defines `_graph_batch(batch)` takes a
    meshgraph `Graph` / `GraphBatch` (returning the same kind); the others refuse them with a TypeError."""

    def __call__(self, data: Any) -> Any:
        if isinstance(data, Graph):
            return self(GraphBatch([data])).graphs()[0]
        if isinstance(data, GraphBatch):
            if not hasattr(self, "_graph_batch"):
                raise TypeError(f"data: {type(self).__name__} takes a Data / Batch record, not a "
                                f"{type(data).__name__} (convert with Batch.from_data_list or GraphBatch records)")
            return self._graph_batch(data)
        return self.forward(copy.copy(data))

    @abstractmethod
    def forward(self, data: Any) -> Any:
        pass

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class Compose(BaseTransform):
    """Apply `transforms` in order; a list / tuple of records is transformed element-wise."""

    def __init__(self, transforms: list[Callable]):
        self.transforms = transforms

    def forward(self, data: Any) -> Any:
        for transform in self.transforms:
            if isinstance(data, (list, tuple)):
                data = [transform(d) for d in data]
            else:
                data = transform(data)
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        return self.forward(batch)

    def __repr__(self) -> str:
        args = [f"  {transform}" for transform in self.transforms]
        return "{}([\n{}\n])".format(self.__class__.__name__, ",\n".join(args))


class ComposeFilters:
    """True when every filter accepts the record (for a list / tuple: every record)."""

    def __init__(self, filters: list[Callable]):
        self.filters = filters

    def __call__(self, data: Any) -> bool:
        for filter_fn in self.filters:
            if isinstance(data, (list, tuple)):
                if not all(filter_fn(d) for d in data):
                    return False
            elif not filter_fn(data):
                return False
        return True

    def __repr__(self) -> str:
        args = [f"  {filter_fn}" for filter_fn in self.filters]
        return "{}([\n{}\n])".format(self.__class__.__name__, ",\n".join(args))


# ---------------------------------------------------------------------- features and edges


class NormalizeFeatures(BaseTransform):
    """Shift the attributes `attrs` (default ["x"]) to a minimum of 0 and divide each row by its sum (rows
    summing to less than 1 are only shifted). Empty attributes are left alone."""

    def __init__(self, attrs: list[str] | None = None) -> None:
        self.attrs = attrs or ["x"]

    def forward(self, data: Any) -> Any:
        for store in data.stores:
            for key, value in store.items(*self.attrs):
                if value.numel() > 0:
                    value = value - value.min()
                    value.div_(value.sum(dim=-1, keepdim=True).clamp_(min=1.0))
                    store[key] = value
        return data


def _edit_edges(store, edit: Callable, skip: Sequence[str] = ()) -> None:
    """store.edge_index and its edge-level attributes (but `skip`) replaced by
    edit(edge_index, [attribute values]) -> (edge_index, [attribute values])."""
    keys = [k for k in store.keys() if k != "edge_index" and k not in skip and store.is_edge_attr(k)]
    store.edge_index, values = edit(store.edge_index, [store[k] for k in keys])
    for key, value in zip(keys, values):
        store[key] = value


class ToUndirected(BaseTransform):
    """Add the reverse of every edge and coalesce (edges sorted by (row, col)); edge-level attributes follow,
    duplicates merged with `reduce`. On a heterogeneous graph (PyG's rule), an edge type (src, rel, dst) between two
    node types, or any edge type when `merge=False`, gets its reverse as a new type (dst, "rev_" + rel, src) with the
    same edge-level attributes instead."""

    def __init__(self, reduce: str = "add", merge: bool = True):
        self.reduce = _check_choice(reduce, "reduce", REDUCES)
        self.merge = merge

    def forward(self, data: Any) -> Any:
        hetero = hasattr(data, "edge_types") and hasattr(data, "node_types")
        for store in list(data.edge_stores):
            if "edge_index" not in store:
                continue
            if hetero and (store.is_bipartite() or not self.merge):
                src, rel, dst = store._key
                nnz = store.edge_index.shape[1]
                inverse = data[dst, f"rev_{rel}", src]
                inverse.edge_index = store.edge_index.flip(0)
                for key, value in store.items():
                    if key != "edge_index" and isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == nnz:
                        inverse[key] = value
                continue
            _edit_edges(store, lambda ei, values: to_undirected(ei, values, reduce=self.reduce))
        return data


class AddSelfLoops(BaseTransform):
    """Append a loop i -> i for every node (after the existing edges, existing loops kept). The loops' values of
    the edge attribute `attr` are `fill_value`: a number or tensor, or a reduction ("add", "mean", "min", "max",
    "mul") of the values of the edges pointing to the node."""

    def __init__(self, attr: str = "edge_weight", fill_value: float | torch.Tensor | str = 1.0) -> None:
        if isinstance(fill_value, str):
            _check_choice(fill_value, "fill_value", REDUCES)
        elif not (_is_number(fill_value) or isinstance(fill_value, torch.Tensor)):
            raise ValueError(f"fill_value must be a number, a tensor or one of {list(REDUCES)}, got {fill_value!r}")
        self.attr = attr
        self.fill_value = fill_value

    def forward(self, data: Any) -> Any:
        for store in data.edge_stores:
            if store.is_bipartite() or "edge_index" not in store:
                continue
            store.edge_index, store[self.attr] = add_self_loops(
                store.edge_index, edge_attr=store.get(self.attr, None), fill_value=self.fill_value,
                num_nodes=store.size(0))
        return data


class RemoveIsolatedNodes(BaseTransform):
    """Keep only the nodes some edge touches (a node with only a self loop stays), renumbered in order; node-level
    attributes are cut to them. A graph without `edge_index` keeps no node. On a heterogeneous graph each node type
    keeps the nodes that an edge of any type touches (PyG's rule); a type no edge touches keeps none."""

    def forward(self, data: Any) -> Any:
        def ends(store):
            key = getattr(store, "_key", None)
            return (None, None) if key is None else (key[0], key[-1])

        touched: dict = {}
        for store in data.edge_stores:
            if "edge_index" in store:
                src, dst = ends(store)
                touched.setdefault(src, []).append(store.edge_index[0])
                touched.setdefault(dst, []).append(store.edge_index[1])
        n_id = {k: torch.cat(v).unique() for k, v in touched.items()}
        mapping = {}
        for store in data.node_stores:
            key = getattr(store, "_key", None)
            idx = n_id.setdefault(key, torch.empty(0, dtype=torch.long))
            n = _num_nodes(data) if key is None else (store.num_nodes or 0)
            n = max(n, int(idx.max()) + 1) if idx.numel() else n
            m = idx.new_zeros(n)
            m[idx] = torch.arange(idx.numel(), device=idx.device)
            mapping[key] = m
        for store in data.edge_stores:
            if "edge_index" in store:
                src, dst = ends(store)
                store.edge_index = torch.stack([mapping[src][store.edge_index[0]], mapping[dst][store.edge_index[1]]], dim=0)
        old = copy.copy(data)
        for out, store in zip(data.node_stores, old.node_stores):
            keep = n_id[getattr(store, "_key", None)]
            for key, value in store.items():
                if key == "num_nodes":
                    out.num_nodes = keep.numel()
                elif store.is_node_attr(key):
                    out[key] = value[keep]
        return data


class ToSparseTensor(BaseTransform):
    """Replace `edge_index` by the transposed sparse adjacency `adj_t` (a torch.sparse CSR tensor, or COO for
    layout=torch.sparse_coo or multi-dimensional `attr` values), the values of edge attribute `attr` (default
    "edge_weight") as its entries. Edges are first sorted by column (edge attributes alike; edge_label /
    edge_label_index left alone). remove_edge_index drops edge_index and `attr`. fill_cache is accepted for
    PyG's torch_sparse SparseTensor, which meshgraph does not build."""

    def __init__(self, attr: str | None = "edge_weight", remove_edge_index: bool = True, fill_cache: bool = True,
                 layout: int | None = None) -> None:
        if layout not in {None, torch.sparse_coo, torch.sparse_csr}:
            raise ValueError(f"layout must be None, torch.sparse_coo or torch.sparse_csr, got {layout!r}")
        self.attr = attr
        self.remove_edge_index = remove_edge_index
        self.fill_cache = fill_cache
        self.layout = layout

    def forward(self, data: Any) -> Any:
        for store in data.edge_stores:
            if "edge_index" not in store:
                continue
            _edit_edges(store, lambda ei, values: sort_edge_index(ei, values, sort_by_row=False),
                        skip=("edge_label", "edge_label_index"))
            size = store.size()[::-1]
            weight = store[self.attr] if self.attr is not None and self.attr in store else None
            build = (to_torch_coo_tensor if (weight is not None and weight.dim() > 1) or self.layout == torch.sparse_coo
                     else to_torch_csr_tensor)
            store.adj_t = build(store.edge_index.flip([0]), edge_attr=weight, size=size)
            if self.remove_edge_index:
                del store["edge_index"]
                if self.attr is not None and self.attr in store:
                    del store[self.attr]
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(attr={self.attr}, layout={self.layout})"


class GCNNorm(BaseTransform):
    """Replace the edges by GCN's normalized adjacency D^-1/2 (A + I) D^-1/2 (`edge_index`, `edge_weight`), or
    normalize a torch.sparse `adj_t` (meshgraph.nn.conv.gcn_norm). For a torch.sparse adj_t the normalized matrix
    is stored (PyG 2.8 stores gcn_norm's (matrix, None) pair there: it expects torch_sparse's SparseTensor)."""

    def __init__(self, add_self_loops: bool = True):
        self.add_self_loops = add_self_loops

    def forward(self, data: Any) -> Any:
        from ..nn.conv import gcn_norm

        if "edge_index" in data:
            data.edge_index, data.edge_weight = gcn_norm(data.edge_index, data.edge_weight, data.num_nodes,
                                                         add_self_loops=self.add_self_loops)
        elif "adj_t" in data:
            data.adj_t = gcn_norm(data.adj_t, add_self_loops=self.add_self_loops)[0]
        else:
            raise ValueError("data.edge_index or data.adj_t is required, but data has neither")
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(add_self_loops={self.add_self_loops})"


# ---------------------------------------------------------------------- splits


class RandomNodeSplit(BaseTransform):
    """Add boolean `train_mask`, `val_mask`, `test_mask` ((N,), or (N, num_splits) for num_splits > 1).

    split="train_rest": num_val / num_test random nodes, the rest train; "test_rest": num_train_per_class per class
    of `data[key]`, then num_val of the remaining, the rest test; "random": as test_rest but num_test test nodes.
    num_val / num_test are counts or (floats) ratios of the nodes. Only stores holding `key` are split (all when
    key is None). One torch.randperm per draw, in PyG's order."""

    def __init__(self, split: str = "train_rest", num_splits: int = 1, num_train_per_class: int = 20,
                 num_val: int | float = 500, num_test: int | float = 1000, key: str | None = "y") -> None:
        self.split = _check_choice(split, "split", ("train_rest", "test_rest", "random"))
        self.num_splits = _check_int(num_splits, "num_splits", 1)
        self.num_train_per_class = _check_int(num_train_per_class, "num_train_per_class", 0)
        self.num_val = _check_count(num_val, "num_val")
        self.num_test = _check_count(num_test, "num_test")
        if key is None and split != "train_rest":
            raise ValueError(f"key (the label attribute) is required for split={split!r}")
        self.key = key

    def forward(self, data: Any) -> Any:
        for store in data.node_stores:
            if self.key is not None and self.key not in store:
                continue
            masks = [self._split(store) for _ in range(self.num_splits)]
            store.train_mask = torch.stack([m[0] for m in masks], dim=-1).squeeze(-1)
            store.val_mask = torch.stack([m[1] for m in masks], dim=-1).squeeze(-1)
            store.test_mask = torch.stack([m[2] for m in masks], dim=-1).squeeze(-1)
        return data

    def _split(self, store) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        N = store.num_nodes
        if N is None:
            raise ValueError("data.num_nodes is unknown: set data.num_nodes or a node-level attribute")
        train, val, test = (torch.zeros(N, dtype=torch.bool) for _ in range(3))
        num_val = round(N * self.num_val) if isinstance(self.num_val, float) else self.num_val
        num_test = round(N * self.num_test) if isinstance(self.num_test, float) else self.num_test
        if self.split == "train_rest":
            perm = torch.randperm(N)
            val[perm[:num_val]] = True
            test[perm[num_val:num_val + num_test]] = True
            train[perm[num_val + num_test:]] = True
            return train, val, test
        y = store[self.key]
        num_classes = int(y.max()) + 1 if y.numel() else 0
        for c in range(num_classes):
            idx = (y == c).nonzero(as_tuple=False).view(-1)
            idx = idx[torch.randperm(idx.size(0))][:self.num_train_per_class]
            train[idx] = True
        rest = (~train).nonzero(as_tuple=False).view(-1)
        rest = rest[torch.randperm(rest.size(0))]
        val[rest[:num_val]] = True
        test[rest[num_val:] if self.split == "test_rest" else rest[num_val:num_val + num_test]] = True
        return train, val, test

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(split={self.split})"


class RandomLinkSplit(BaseTransform):
    """Split the edges into (train_data, val_data, test_data) for link prediction, as PyG's RandomLinkSplit.

    Message-passing edges: train holds the train edges (less the disjoint supervision ones), val the train edges,
    test the train and val edges. Each split gets `edge_label_index` / `edge_label` (or, with split_labels,
    `pos_*` / `neg_*`): its positive edges (labels 1, or data[key] + 1) then negative pairs (label 0),
    neg_sampling_ratio per positive. is_undirected: split each undirected pair once (edges with i <= j) and add
    both directions to the message-passing edges.

    Heterogeneous graphs: `edge_types` (one type or a list, required) are split, each with its own permutation and
    negatives (bipartite types draw (src, dst) pairs); `rev_edge_types` (one per edge type, or None) are replaced by
    the flipped message-passing edges of their forward type, with the same edge attributes. A type is split as
    undirected only when is_undirected is set, it is not bipartite and its reverse type is None or itself."""

    def __init__(self, num_val: int | float = 0.1, num_test: int | float = 0.2, is_undirected: bool = False,
                 key: str = "edge_label", split_labels: bool = False, add_negative_train_samples: bool = True,
                 neg_sampling_ratio: float = 1.0, disjoint_train_ratio: int | float = 0.0, edge_types=None,
                 rev_edge_types=None) -> None:
        self.num_val = _check_count(num_val, "num_val")
        self.num_test = _check_count(num_test, "num_test")
        self.is_undirected = is_undirected
        self.key = key
        self.split_labels = split_labels
        self.add_negative_train_samples = add_negative_train_samples
        self.neg_sampling_ratio = _check_nonnegative(neg_sampling_ratio, "neg_sampling_ratio")
        self.disjoint_train_ratio = _check_count(disjoint_train_ratio, "disjoint_train_ratio")
        if isinstance(edge_types, list):  # heterogeneous graphs only: PyG's checks
            rev_edge_types = [None] * len(edge_types) if rev_edge_types is None else rev_edge_types
            if not isinstance(rev_edge_types, list) or len(rev_edge_types) != len(edge_types):
                raise ValueError("rev_edge_types must be a list as long as edge_types")
        self.edge_types = edge_types
        self.rev_edge_types = rev_edge_types

    def forward(self, data: Any) -> tuple[Any, Any, Any]:
        train_data, val_data, test_data = copy.copy(data), copy.copy(data), copy.copy(data)
        hetero = hasattr(data, "edge_types") and hasattr(data, "node_types")
        if hetero:
            edge_types, rev_edge_types = self.edge_types, self.rev_edge_types
            if edge_types is None:
                raise ValueError("The 'RandomLinkSplit' transform expects 'edge_types' to be specified when "
                                 "operating on 'HeteroData' objects")
            if not isinstance(edge_types, list):
                if isinstance(rev_edge_types, list):
                    raise ValueError("rev_edge_types must be a single edge type (or None) when edge_types is one")
                edge_types, rev_edge_types = [edge_types], [rev_edge_types]
            for edge_type in edge_types + [t for t in rev_edge_types if t is not None]:
                if data._to_canonical(edge_type) not in data.edge_types:
                    raise ValueError(f"edge type {edge_type!r} (edge_types / rev_edge_types) is not an edge type "
                                     f"of the graph, whose edge types are {data.edge_types}")
            items = [(data[t], train_data[t], val_data[t], test_data[t], r) for t, r in zip(edge_types, rev_edge_types)]
        else:
            _edge_index(data)
            items = [(data._store, train_data._store, val_data._store, test_data._store, None)]
        for store, train_store, val_store, test_store, rev_edge_type in items:
            if "edge_index" not in store:
                where = "data" if getattr(store, "_key", None) is None else f"data[{store._key!r}]"
                raise ValueError(f"{where}.edge_index is required, but the store has none")
            # PyG's rule: an edge type is split as undirected only if it is not bipartite and its reverse type is
            # None or itself
            undirected = bool(self.is_undirected) and not store.is_bipartite() and (
                rev_edge_type is None or (hetero and store._key == data[rev_edge_type]._key))
            self._split_store(data, store, train_store, val_store, test_store, rev_edge_type, undirected)
        return train_data, val_data, test_data

    def _split_store(self, data, store, train_store, val_store, test_store, rev_edge_type, undirected) -> None:
        edge_index = store.edge_index
        if undirected:
            perm = (edge_index[0] <= edge_index[1]).nonzero(as_tuple=False).view(-1)
            perm = perm[torch.randperm(perm.size(0), device=perm.device)]
        else:
            perm = torch.randperm(edge_index.size(1), device=edge_index.device)
        num_val = int(self.num_val * perm.numel()) if isinstance(self.num_val, float) else self.num_val
        num_test = int(self.num_test * perm.numel()) if isinstance(self.num_test, float) else self.num_test
        num_train = perm.numel() - num_val - num_test
        if num_train <= 0:
            raise ValueError("Insufficient number of edges for training")
        train_edges = perm[:num_train]
        val_edges = perm[num_train:num_train + num_val]
        test_edges = perm[num_train + num_val:]
        num_disjoint = self.disjoint_train_ratio
        if isinstance(num_disjoint, float):
            num_disjoint = int(num_disjoint * train_edges.numel())
        if num_train - num_disjoint <= 0:
            raise ValueError("Insufficient number of edges for training")

        self._split(train_store, train_edges[num_disjoint:], undirected, rev_edge_type)
        self._split(val_store, train_edges, undirected, rev_edge_type)
        self._split(test_store, perm[:num_train + num_val], undirected, rev_edge_type)

        num_neg_train = 0
        if self.add_negative_train_samples:
            num_neg_train = int((num_disjoint if num_disjoint > 0 else num_train) * self.neg_sampling_ratio)
        num_neg_val = int(num_val * self.neg_sampling_ratio)
        num_neg_test = int(num_test * self.neg_sampling_ratio)
        num_neg = num_neg_train + num_neg_val + num_neg_test
        key = getattr(store, "_key", None)
        size = store.size(0) if key is None or key[0] == key[-1] else store.size()  # bipartite: (N_src, N_dst)
        neg = negative_sampling(edge_index, size, num_neg, method="sparse")
        if neg.size(1) < num_neg:
            found = neg.size(1)
            warnings.warn(f"There are not enough negative edges to satisfy the provided sampling ratio. The ratio "
                          f"will be adjusted to {found / num_neg:.2f}.", stacklevel=3)
            num_neg_train = int((num_neg_train / num_neg) * found)
            num_neg_val = int((num_neg_val / num_neg) * found)
            num_neg_test = found - num_neg_train - num_neg_val
        if num_disjoint > 0:
            train_edges = train_edges[:num_disjoint]
        self._label(store, train_edges, neg[:, num_neg_val + num_neg_test:], train_store)
        self._label(store, val_edges, neg[:, :num_neg_val], val_store)
        self._label(store, test_edges, neg[:, num_neg_val:num_neg_val + num_neg_test], test_store)

    @staticmethod
    def _split(store, index: torch.Tensor, undirected: bool, rev_edge_type=None) -> None:
        """Keep the edges `index` picks (and their reverses when undirected), edge attributes alike; the reverse
        edge type (if any) becomes the flipped copy of the result (its attributes the same; others dropped)."""
        edge_keys = {k for k in store.keys() if store.is_edge_attr(k)}
        for key, value in store.items():
            if key != "edge_index" and key in edge_keys:
                value = value[index]
                store[key] = torch.cat([value, value], dim=0) if undirected else value
        edge_index = store.edge_index[:, index]
        store.edge_index = torch.cat([edge_index, edge_index.flip([0])], dim=-1) if undirected else edge_index
        if rev_edge_type is not None:
            rev_store = store._record()[rev_edge_type]
            for key in list(rev_store.keys()):
                if key not in store:
                    del rev_store[key]
                elif key == "edge_index":
                    rev_store.edge_index = store.edge_index.flip([0])
                else:
                    rev_store[key] = store[key]

    def _label(self, store, index: torch.Tensor, neg: torch.Tensor, out) -> None:
        edge_index = store.edge_index[:, index]
        if self.key in store:
            label = store[self.key][index]
            if neg.numel() > 0:
                if label.dtype != torch.long or label.size(0) != edge_index.size(1):
                    raise ValueError(f"data.{self.key} must be an int64 label per edge to add negative samples, "
                                     f"got {label.dtype} of shape {tuple(label.shape)}")
                label.add_(1)
            if self.key in out:
                del out[self.key]
        else:
            label = torch.ones(index.numel(), device=index.device)
        neg_label = label.new_zeros((neg.size(1),) + label.size()[1:]) if neg.numel() > 0 else None
        if self.split_labels:
            out[f"pos_{self.key}"] = label
            out[f"pos_{self.key}_index"] = edge_index
            if neg_label is not None:
                out[f"neg_{self.key}"] = neg_label
                out[f"neg_{self.key}_index"] = neg
        else:
            if neg_label is not None:
                label = torch.cat([label, neg_label], dim=0)
                edge_index = torch.cat([edge_index, neg], dim=-1)
            out[self.key] = label
            out[f"{self.key}_index"] = edge_index

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_val={self.num_val}, num_test={self.num_test})"


# ---------------------------------------------------------------------- positional encodings


def _add_node_attr(data: Any, value: torch.Tensor, attr_name: str | None) -> Any:
    """data[attr_name] = value, or (attr_name None) value appended to the columns of data.x."""
    if attr_name is None:
        if data.x is not None:
            x = data.x.view(-1, 1) if data.x.dim() == 1 else data.x
            data.x = torch.cat([x, value.to(x.device, x.dtype)], dim=-1)
        else:
            data.x = value
    else:
        data[attr_name] = value
    return data


def _sym_laplacian(edge_index: torch.Tensor, edge_weight: torch.Tensor | None, num_nodes: int):
    """L = I - D^-1/2 A D^-1/2 as (edge_index, weight): the non-loop edges (loops dropped), then one loop per node
    with weight 1 (PyG's get_laplacian(normalization="sym"))."""
    edge_index, edge_weight = remove_self_loops(edge_index, edge_weight)
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), device=edge_index.device)
    row, col = edge_index[0], edge_index[1]
    deg = scatter(edge_weight, row, dim_size=num_nodes, reduce="sum")
    dinv = deg.pow(-0.5)
    dinv.masked_fill_(dinv == float("inf"), 0)
    weight = dinv[row] * edge_weight * dinv[col]
    return add_self_loops(edge_index, -weight, fill_value=1.0, num_nodes=num_nodes)


class AddLaplacianEigenvectorPE(BaseTransform):
    """Add the k eigenvectors of the symmetric normalized Laplacian with the smallest eigenvalues after the first
    (the first is trivial), each with a random sign (one torch.randint draw), as `attr_name` (None: appended to x).
    Below SPARSE_THRESHOLD nodes a dense eigensolver (numpy eig, or eigh when is_undirected), else scipy's eigs /
    eigsh for k + 1 eigenpairs, `kwargs` passed on (PyG's solvers, so results match PyG's)."""

    SPARSE_THRESHOLD: int = 100

    def __init__(self, k: int, attr_name: str | None = "laplacian_eigenvector_pe", is_undirected: bool = False,
                 **kwargs: Any) -> None:
        self.k = _check_int(k, "k", 1)
        self.attr_name = attr_name
        self.is_undirected = is_undirected
        self.kwargs = kwargs

    def forward(self, data: Any) -> Any:
        import numpy as np

        edge_index = _edge_index(data)
        N = _num_nodes(data)
        if self.k >= N:
            raise ValueError(f"k must be smaller than the number of nodes ({N}), got {self.k}")
        index, weight = _sym_laplacian(edge_index, data.edge_weight, N)
        L = to_scipy_sparse_matrix(index, weight, N)
        if N < self.SPARSE_THRESHOLD:
            vals, vecs = (np.linalg.eigh if self.is_undirected else np.linalg.eig)(L.todense())
        else:
            from scipy.sparse.linalg import eigs, eigsh

            vals, vecs = (eigsh if self.is_undirected else eigs)(
                L, k=self.k + 1, which="SA" if self.is_undirected else "SR", return_eigenvectors=True, **self.kwargs)
        vecs = np.real(vecs[:, vals.argsort()])
        pe = torch.from_numpy(vecs[:, 1:self.k + 1])
        pe *= -1 + 2 * torch.randint(0, 2, (self.k,))
        return _add_node_attr(data, pe, self.attr_name)


class AddRandomWalkPE(BaseTransform):
    """Add the probabilities of returning to each node after 1 .. walk_length random-walk steps, (N, walk_length)
    (weighted by edge_weight when present), as `attr_name` (None: appended to x). Dense products up to 2,000
    nodes, torch.sparse CSR products above."""

    def __init__(self, walk_length: int, attr_name: str | None = "random_walk_pe") -> None:
        self.walk_length = _check_int(walk_length, "walk_length", 1)
        self.attr_name = attr_name

    def forward(self, data: Any) -> Any:
        edge_index = _edge_index(data)
        row, col = edge_index[0], edge_index[1]
        N = _num_nodes(data)
        value = torch.ones(edge_index.size(1), device=row.device) if data.edge_weight is None else data.edge_weight
        value = 1.0 / scatter(value, row, dim_size=N, reduce="sum").clamp(min=1)[row]
        if N <= 2000:
            adj = torch.zeros((N, N), device=row.device)
            adj[row, col] = value
            loop = torch.arange(N, device=row.device)
        else:
            adj = to_torch_csr_tensor(edge_index, value, size=(N, N))

        def diagonal(out: torch.Tensor) -> torch.Tensor:
            if is_torch_sparse_tensor(out):
                return get_self_loop_attr(*to_edge_index(out), num_nodes=N)
            return out[loop, loop]

        out = adj
        pe = [diagonal(out)]
        for _ in range(self.walk_length - 1):
            out = out @ adj
            pe.append(diagonal(out))
        return _add_node_attr(data, torch.stack(pe, dim=-1), self.attr_name)


# ---------------------------------------------------------------------- geometry (records and GraphBatch)


def _replace_pos(batch: GraphBatch, pos: torch.Tensor) -> GraphBatch:
    """A new batch like `batch` (topology and other features shared) with positions `pos`."""
    out = batch._map(lambda t: t)
    out.update_features(POS, pos)
    return out


def _batch_pos(batch: GraphBatch) -> torch.Tensor:
    pos = batch.pos
    if pos is None and len(batch) == 0:
        return torch.zeros((0, 3), device=batch.device)
    if pos is None:
        raise ValueError("data.pos is required (node positions), but the batch has none")
    return pos


def _per_graph_mean(batch: GraphBatch, pos: torch.Tensor) -> torch.Tensor:
    """(V, D) each vertex's graph's mean position."""
    index = batch.graph_index
    return scatter(pos, index, dim_size=len(batch), reduce="mean")[index]


class Center(BaseTransform):
    """Subtract the mean position from `pos` (of every store holding one; per graph on a GraphBatch)."""

    def forward(self, data: Any) -> Any:
        for store in data.node_stores:
            if "pos" in store:
                store.pos = store.pos - store.pos.mean(dim=-2, keepdim=True)
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        pos = _batch_pos(batch)
        return _replace_pos(batch, pos - _per_graph_mean(batch, pos))


class NormalizeScale(BaseTransform):
    """Center `pos` and scale it into (-1, 1): divided by its largest absolute coordinate, times 0.999999 (per graph
    on a GraphBatch). A graph without nodes is returned as it is."""

    def __init__(self) -> None:
        self.center = Center()

    def forward(self, data: Any) -> Any:
        data = self.center(data)
        pos = _pos(data)
        if pos.numel() == 0:
            return data
        data.pos = pos * ((1.0 / pos.abs().max()) * 0.999999)
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        pos = _batch_pos(batch)
        pos = pos - _per_graph_mean(batch, pos)
        index = batch.graph_index
        extent = scatter(pos.abs().amax(dim=-1), index, dim_size=len(batch), reduce="max")
        return _replace_pos(batch, pos * ((1.0 / extent) * 0.999999)[index][:, None])


class RandomJitter(BaseTransform):
    """Add uniform noise in [-|translate[d]|, |translate[d]|] to coordinate d of `pos` (one number: every axis),
    drawn one coordinate column at a time (per graph, in order, on a GraphBatch)."""

    def __init__(self, translate: float | int | Sequence[float | int]) -> None:
        if not _is_number(translate) and not (isinstance(translate, Sequence) and all(_is_number(t) for t in translate)):
            raise ValueError(f"translate must be a number or a sequence of numbers, got {translate!r}")
        self.translate = translate

    def _jitter(self, pos: torch.Tensor) -> torch.Tensor:
        n, dim = pos.size()
        if _is_number(self.translate):
            translate = list(repeat(self.translate, times=dim))
        elif len(self.translate) != dim:
            raise ValueError(f"translate has {len(self.translate)} entries but pos has {dim} coordinates")
        else:
            translate = self.translate
        jitter = pos.new_empty(n, dim)
        for d in range(dim):
            jitter[:, d].uniform_(-abs(translate[d]), abs(translate[d]))
        return pos + jitter

    def forward(self, data: Any) -> Any:
        data.pos = self._jitter(_pos(data))
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        parts = torch.split(_batch_pos(batch), batch.num_verts_per_graph.tolist())
        return _replace_pos(batch, torch.cat([self._jitter(p) for p in parts]) if parts else _batch_pos(batch))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.translate})"


class RandomFlip(BaseTransform):
    """Negate coordinate `axis` of `pos` with probability p (one `random.random()` draw; per graph on a
    GraphBatch)."""

    def __init__(self, axis: int, p: float = 0.5) -> None:
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an int, got {axis!r}")
        if not _is_number(p) or not 0 <= p <= 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.axis = axis
        self.p = p

    def _check_axis(self, pos: torch.Tensor) -> None:
        if not -pos.size(-1) <= self.axis < pos.size(-1):
            raise ValueError(f"axis {self.axis} is out of range for {pos.size(-1)}-D positions")

    def forward(self, data: Any) -> Any:
        pos = _pos(data)
        self._check_axis(pos)
        if random.random() < self.p:
            pos = pos.clone()
            pos[..., self.axis] = -pos[..., self.axis]
            data.pos = pos
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        pos = _batch_pos(batch)
        self._check_axis(pos)
        flip = torch.tensor([random.random() < self.p for _ in range(len(batch))], dtype=torch.bool,
                            device=pos.device)
        pos = pos.clone()
        column = pos[..., self.axis]
        pos[..., self.axis] = torch.where(flip[batch.graph_index], -column, column)
        return _replace_pos(batch, pos)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(axis={self.axis}, p={self.p})"


class LinearTransformation(BaseTransform):
    """Map `pos` (rows) by a square matrix: pos @ matrix.T (the same matrix for every graph of a GraphBatch)."""

    def __init__(self, matrix: torch.Tensor):
        if not isinstance(matrix, torch.Tensor):
            matrix = torch.tensor(matrix)
        if matrix.dim() != 2 or matrix.size(0) != matrix.size(1):
            raise ValueError(f"matrix must be a square 2-D matrix, got shape {tuple(matrix.shape)}")
        self.matrix = matrix.t()

    def _apply(self, pos: torch.Tensor) -> torch.Tensor:
        pos = pos.view(-1, 1) if pos.dim() == 1 else pos
        if pos.size(-1) != self.matrix.size(-2):
            raise ValueError(f"matrix is {tuple(self.matrix.shape)} but pos has {pos.size(-1)} coordinates")
        return pos @ self.matrix.to(pos.device, pos.dtype)

    def forward(self, data: Any) -> Any:
        for store in data.node_stores:
            if "pos" in store:
                store.pos = self._apply(store.pos)
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        return _replace_pos(batch, self._apply(_batch_pos(batch)))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(\n{self.matrix.cpu().numpy()}\n)"


class RandomRotate(BaseTransform):
    """Rotate `pos` by an angle drawn uniformly from `degrees` (a pair, or d for (-|d|, |d|); one
    `random.uniform` draw, per graph on a GraphBatch) about axis 0, 1 or 2 (2-D positions: in their plane)."""

    def __init__(self, degrees: tuple[float, float] | float, axis: int = 0) -> None:
        if _is_number(degrees):
            degrees = (-abs(degrees), abs(degrees))
        if not isinstance(degrees, (tuple, list)) or len(degrees) != 2 or not all(_is_number(d) for d in degrees):
            raise ValueError(f"degrees must be a number or a pair of numbers, got {degrees!r}")
        _check_choice(axis, "axis", (0, 1, 2))
        self.degrees = degrees
        self.axis = axis

    def _matrix(self, dim: int) -> torch.Tensor:
        angle = math.pi * random.uniform(*self.degrees) / 180.0
        sin, cos = math.sin(angle), math.cos(angle)
        if dim == 2:
            m = [[cos, sin], [-sin, cos]]
        elif self.axis == 0:
            m = [[1, 0, 0], [0, cos, sin], [0, -sin, cos]]
        elif self.axis == 1:
            m = [[cos, 0, -sin], [0, 1, 0], [sin, 0, cos]]
        else:
            m = [[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]]
        return torch.tensor(m).t()  # LinearTransformation's operand (pos @ matrix.T)

    @staticmethod
    def _check_dim(pos: torch.Tensor) -> int:
        if pos.dim() != 2 or pos.size(-1) not in (2, 3):
            raise ValueError(f"pos must hold 2-D or 3-D positions, got shape {tuple(pos.shape)}")
        return pos.size(-1)

    def forward(self, data: Any) -> Any:
        pos = _pos(data)
        M = self._matrix(self._check_dim(pos))
        data.pos = pos @ M.to(pos.device, pos.dtype)
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        pos = _batch_pos(batch)
        dim = self._check_dim(pos)
        if len(batch) == 0:
            return _replace_pos(batch, pos)
        M = torch.stack([self._matrix(dim) for _ in range(len(batch))]).to(pos.device, pos.dtype)
        return _replace_pos(batch, torch.bmm(pos[:, None, :], M[batch.graph_index])[:, 0])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.degrees}, axis={self.axis})"


def _rebuild_edges(batch: GraphBatch, edge_index: torch.Tensor, drop_faces: bool = False,
                   only: Sequence[bool] | None = None) -> GraphBatch:
    """A GraphBatch with the vertices (and features) of `batch` whose graphs (those `only` marks, default all)
    get the packed edges of `edge_index` lying in them, without edge features (and without faces when
    drop_faces); the other graphs are kept as they are."""
    graphs = batch.graphs()
    owner = batch.graph_index[edge_index[1]] if edge_index.numel() else edge_index.new_zeros(0)
    ptr = batch.verts_ptr.tolist()
    for i, g in enumerate(graphs):
        if only is not None and not only[i]:
            continue
        g.edge_index = edge_index[:, owner == i] - ptr[i]
        g.edge_features = {}
        g.edges_from_faces = False
        if drop_faces:
            g.faces = None
    return GraphBatch(graphs)


class KNNGraph(BaseTransform):
    """Replace the edges by the k-nearest-neighbour graph of `pos` (within each graph of `batch`), edges neighbour
    -> point (flow="source_to_target"); force_undirected adds the reverses and coalesces. edge_attr is removed."""

    def __init__(self, k: int = 6, loop: bool = False, force_undirected: bool = False,
                 flow: str = "source_to_target", cosine: bool = False, num_workers: int = 1) -> None:
        self.k = _check_int(k, "k", 1)
        self.loop = loop
        self.force_undirected = force_undirected
        self.flow = _check_choice(flow, "flow", ("source_to_target", "target_to_source"))
        self.cosine = cosine
        self.num_workers = num_workers

    def _edges(self, pos: torch.Tensor, batch: torch.Tensor | None, num_nodes: int, num_graphs=None) -> torch.Tensor:
        edge_index = knn_graph(pos, self.k, batch, loop=self.loop, flow=self.flow, cosine=self.cosine,
                               num_workers=self.num_workers, batch_size=num_graphs)
        if self.force_undirected:
            edge_index = to_undirected(edge_index, num_nodes=num_nodes)
        return edge_index

    def forward(self, data: Any) -> Any:
        data.edge_index = self._edges(_pos(data), data.batch, data.num_nodes)
        data.edge_attr = None
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        pos = _batch_pos(batch)
        return _rebuild_edges(batch, self._edges(pos, batch.graph_index, batch.num_verts, len(batch)))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(k={self.k})"


class RadiusGraph(BaseTransform):
    """Replace the edges by the pairs of points of `pos` closer than r (within each graph of `batch`), at most
    max_num_neighbors per point (meshgraph's ball query keeps the ones with the smallest indices; PyG's
    torch_cluster may keep others when a point has more). edge_attr is removed."""

    def __init__(self, r: float, loop: bool = False, max_num_neighbors: int = 32, flow: str = "source_to_target",
                 num_workers: int = 1) -> None:
        self.r = _check_nonnegative(r, "r")
        self.loop = loop
        self.max_num_neighbors = _check_int(max_num_neighbors, "max_num_neighbors", 1)
        self.flow = _check_choice(flow, "flow", ("source_to_target", "target_to_source"))
        self.num_workers = num_workers

    def _edges(self, pos: torch.Tensor, batch: torch.Tensor | None, num_graphs=None) -> torch.Tensor:
        return radius_graph(pos, self.r, batch, self.loop, max_num_neighbors=self.max_num_neighbors, flow=self.flow,
                            num_workers=self.num_workers, batch_size=num_graphs)

    def forward(self, data: Any) -> Any:
        data.edge_index = self._edges(_pos(data), data.batch)
        data.edge_attr = None
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        return _rebuild_edges(batch, self._edges(_batch_pos(batch), batch.graph_index, len(batch)))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(r={self.r})"


def _face_edges(face: torch.Tensor) -> torch.Tensor:
    """(2, *) edges of (3, F) triangles (their 3 sides) or (4, F) tetrahedra (their 6 edges), one direction."""
    if face.size(0) == 3:
        return torch.cat([face[:2], face[1:], face[::2]], dim=1)
    return torch.cat([face[:2], face[1:3], face[2:4], face[::2], face[1::2], face[::3]], dim=1)


class FaceToEdge(BaseTransform):
    """Replace the edges by both directions of every side of the faces (`face` (3, F) triangles or (4, F)
    tetrahedra), coalesced; `face` is removed when remove_faces. A record without `face` is unchanged."""

    def __init__(self, remove_faces: bool = True) -> None:
        self.remove_faces = remove_faces

    def forward(self, data: Any) -> Any:
        if "face" in data:
            face = data.face
            if face.dim() != 2 or face.size(0) not in (3, 4):
                raise ValueError(f"data.face must have shape [3, num_faces] or [4, num_faces], got {list(face.size())}")
            data.edge_index = to_undirected(_face_edges(face), num_nodes=data.num_nodes)
            if self.remove_faces:
                data.face = None
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        if batch.num_faces == 0:
            return batch._map(lambda t: t)
        edges = to_undirected(_face_edges(batch.faces_packed().t()), num_nodes=batch.num_verts)
        meshes = [n > 0 for n in batch.num_faces_per_graph.tolist()]  # graphs without faces are unchanged
        return _rebuild_edges(batch, edges, drop_faces=self.remove_faces, only=meshes)


class SamplePoints(BaseTransform):
    """Replace the mesh (`pos`, (3, F) `face`) by `num` points sampled uniformly on its surface (faces drawn by
    area with one torch.multinomial, positions from one (num, 2) torch.rand, as PyG); include_normals adds the
    sampled faces' unit normals as `normal`. On a GraphBatch of meshes: `num` points per mesh with meshgraph's
    sample_points_from_meshes (area-weighted too, PyTorch3D's draws), returned as point clouds (with "normal"
    vertex features when include_normals)."""

    def __init__(self, num: int, remove_faces: bool = True, include_normals: bool = False):
        self.num = _check_int(num, "num", 1)
        self.remove_faces = remove_faces
        self.include_normals = include_normals

    def forward(self, data: Any) -> Any:
        pos = _pos(data)
        face = data.face
        if face is None:
            raise ValueError("data.face is required (triangles), but data has none")
        if pos.dim() != 2 or pos.size(1) != 3 or face.dim() != 2 or face.size(0) != 3:
            raise ValueError(f"data.pos must be [N, 3] and data.face [3, F], got {list(pos.size())} and "
                             f"{list(face.size())}")
        if face.size(1) == 0:
            raise ValueError("data.face has no faces to sample from")
        pos_max = pos.abs().max()
        pos = pos / pos_max
        area = (pos[face[1]] - pos[face[0]]).cross(pos[face[2]] - pos[face[0]], dim=1)
        area = area.norm(p=2, dim=1).abs() / 2
        sample = torch.multinomial(area / area.sum(), self.num, replacement=True)
        face = face[:, sample]
        frac = torch.rand(self.num, 2, device=pos.device)
        flip = frac.sum(dim=-1) > 1
        frac[flip] = 1 - frac[flip]
        vec1 = pos[face[1]] - pos[face[0]]
        vec2 = pos[face[2]] - pos[face[0]]
        if self.include_normals:
            data.normal = torch.nn.functional.normalize(vec1.cross(vec2, dim=1), p=2)
        sampled = pos[face[0]]
        sampled += frac[:, :1] * vec1
        sampled += frac[:, 1:] * vec2
        data.pos = sampled * pos_max
        if self.remove_faces:
            data.face = None
        return data

    def _graph_batch(self, batch: GraphBatch) -> GraphBatch:
        from ..ops.sample_points import sample_points_from_meshes

        out = sample_points_from_meshes(batch, self.num, return_normals=self.include_normals)
        points, normals = (out if self.include_normals else (out, None))
        extra = {"normal": list(normals)} if normals is not None else {}
        return GraphBatch.from_pointclouds(list(points), **extra)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.num})"
