"""HeteroGraph: a graph with typed nodes and typed edges (PyG 2.8's `HeteroData`, its API and semantics).

A HeteroGraph holds one store per node type (`data['paper']`, a `NodeStorage`), one per edge type
(`data['author', 'writes', 'paper']`, an `EdgeStorage`) and a global store (`data.y`). Every store takes any named
attribute (`data['paper'].x = ...`, `data['author', 'writes', 'paper'].edge_index = ...`); an edge type is a
`(src, relation, dst)` triple, and `data['author', 'paper']` is shorthand for the one edge type between the two (or
`(src, 'to', dst)` when there is none), `data['writes']` for the one edge type of that relation.
`metadata()` gives `(node_types, edge_types)`; `x_dict` / `edge_index_dict` / `collect(key)` the per-type values.

A node type may hold a mesh (a meshgraph `GraphBatch`; a `Graph` is stored as a one-graph GraphBatch): its nodes are
the mesh's packed vertices, so edge types index them, and a scene graph can mix meshes and abstract entities.

- `to_homogeneous()` concatenates node types (in `node_types` order) and edge types (in `edge_types` order) into
  one `Data` with `node_type` / `edge_type` vectors, as PyG orders them; `Data.to_heterogeneous()` /
  `from_homogeneous(data)` go back.
- `Batch.from_data_list([hetero, ...])` and `DataLoader` collate HeteroGraphs into a `HeteroBatch`: per node type a
  `batch` vector and `ptr`, every edge type's `edge_index` shifted by the source / destination counts of its own
  node types (`__inc__`), meshes collated into one GraphBatch; `batch[i]` / `to_data_list()` give them back.
- `to(device)`, `clone()`, `detach()` etc. act on every tensor (meshes included); the type is a pytree node
  (leaves: the tensors and meshes; context: the keys and plain values), so `tree_map` / `torch.compile` take it apart.

Bad input: `validate()` raises a ValueError naming the edge type whose node types are missing, or whose
`edge_index` is malformed or out of range of its node types.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections import defaultdict, namedtuple
from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any, Callable

import torch
import torch.utils._pytree as pytree

from ._utils import index_from_counts
from .records import infer_num_nodes
from .records import (Data, Storage, _TensorMethods, _apply, _collate, _cumsum, _is_array, _is_sparse, _separate,
                      _size_repr)

DEFAULT_REL = "to"
_WARNED_TYPE_NAME = False


def _is_mesh(value) -> bool:
    from .graph import GraphBatch

    return isinstance(value, GraphBatch)


def _as_stored(value):
    """Values as a store keeps them: a meshgraph Graph becomes a one-graph GraphBatch (a pytree node)."""
    from .graph import Graph, GraphBatch

    return GraphBatch([value]) if isinstance(value, Graph) else value


def _apply_any(value, fn: Callable):
    """fn on every tensor of value, a mesh's packed tensors included."""
    if _is_mesh(value):
        return pytree.tree_map(fn, value)
    return _apply(value, fn)


class _TypedStorage(Storage):
    """A node or edge store of a HeteroGraph: `_key` is its type."""

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, _as_stored(value))

    def update(self, mapping: Mapping[str, Any]):
        for key, value in mapping.items():
            self[key] = value
        return self

    def apply(self, func: Callable, *args: str):
        for key, value in self.items(*args):
            self._mapping[key] = _apply_any(value, func)
        return self

    def apply_(self, func: Callable, *args: str):
        for _, value in self.items(*args):
            if _is_mesh(value):
                pytree.tree_map(func, value)
            else:
                _apply(value, func)
        return self

    def _record(self):
        ref = self.__dict__.get("_parent")
        return ref() if ref is not None else None

    def _has_rows(self, key: str, kind: str, count) -> bool:
        """Whether attribute `key` has one row (along its cat dim) per node / edge of the store: cached per key."""
        cache = self.__dict__.setdefault("_cached_attr", {kind: set(), "other": set()})
        if key in cache[kind]:
            return True
        if key in cache["other"]:
            return False
        value = self[key]
        if isinstance(value, (list, tuple)) or hasattr(value, "num_rows"):
            ok = (len(value) if isinstance(value, (list, tuple)) else value.num_rows) == count()
        elif not _is_array(value) or value.ndim == 0:
            ok = False
        else:
            ok = self._size_along(key, value) == count()
        cache[kind if ok else "other"].add(key)
        return ok

    def _size_along(self, key: str, value) -> int:
        dim = self._cat_dim(key, value)
        return value.size(dim) if isinstance(value, torch.Tensor) else value.shape[dim]


def _mesh_vertex_count(store) -> int | None:
    """The vertex count of the first mesh (Graph / GraphBatch) a node store holds, if any."""
    for value in store.values():
        if _is_mesh(value):
            return value.num_verts
    return None


class NodeStorage(_TypedStorage):
    """The attributes of one node type (PyG's NodeStorage): `num_nodes` from `num_nodes`, a node-level tensor
    (x, pos, ...), a mesh (its vertex count), else (with a warning) the largest index of an own edge_index."""

    @property
    def num_nodes(self) -> int | None:
        where = "'data'" if self._key is None else f"'data[{self._key}]'"
        return infer_num_nodes(self, self._size_along, where, extra=_mesh_vertex_count)

    @num_nodes.setter
    def num_nodes(self, num_nodes: int | None) -> None:
        self["num_nodes"] = num_nodes

    @property
    def can_infer_num_nodes(self) -> bool:
        keys = set(self.keys())
        if keys & {"num_nodes", "x", "pos", "batch", "adj", "adj_t", "edge_index", "face"}:
            return True
        return any("node" in k for k in keys) or any(_is_mesh(v) for v in self.values())

    @property
    def num_edges(self) -> int:
        return 0

    def size(self, dim: int | None = None):
        size = (self.num_nodes, self.num_nodes)
        return size if dim is None else size[dim]

    def is_node_attr(self, key: str) -> bool:
        return self._has_rows(key, "node", lambda: self.num_nodes)

    def is_edge_attr(self, key: str) -> bool:
        return False

    def node_attrs(self) -> list[str]:
        return [k for k in self.keys() if self.is_node_attr(k)]

    def edge_attrs(self) -> list[str]:
        return []

    def _find_mesh(self):
        """The GraphBatch this node type holds (its first mesh attribute), or None."""
        return next((v for v in self.values() if _is_mesh(v)), None)


class EdgeStorage(_TypedStorage):
    """The attributes of one edge type (PyG's EdgeStorage): `num_edges` from an edge-level tensor, `size()` the
    node counts of its source and destination types."""

    def size(self, dim: int | None = None):
        record = self._record()
        if self._key is None or record is None:
            raise NameError("Unable to infer 'size' without explicit '_key' assignment")
        size = (record[self._key[0]].num_nodes, record[self._key[-1]].num_nodes)
        return size if dim is None else size[dim]

    @property
    def num_nodes(self) -> int | None:
        return self.size(0)

    def is_bipartite(self) -> bool:
        return self._key is not None and self._key[0] != self._key[-1]

    def is_node_attr(self, key: str) -> bool:
        return False

    def is_edge_attr(self, key: str) -> bool:
        return self._has_rows(key, "edge", lambda: self.num_edges)

    def node_attrs(self) -> list[str]:
        return []

    def edge_attrs(self) -> list[str]:
        return [k for k in self.keys() if self.is_edge_attr(k)]

    def is_undirected(self) -> bool:
        from .ops.edge_utils import is_undirected

        if self.is_bipartite() or "edge_index" not in self:
            return not self.is_bipartite() or "edge_index" not in self
        return is_undirected(self.edge_index, num_nodes=self.size(0))


def _check_type_name(name: str, cls_name: str) -> None:
    global _WARNED_TYPE_NAME
    if not _WARNED_TYPE_NAME and "__" in name:
        _WARNED_TYPE_NAME = True
        warnings.warn(f"There exist type names in the '{cls_name}' object that contain double underscores '__' (e.g., "
                      f"'{name}'). This may lead to unexpected behavior. To avoid any issues, ensure that your type "
                      f"names only contain single underscores.", stacklevel=3)


def _warn_or_raise(msg: str, raise_on_error: bool) -> None:
    if raise_on_error:
        raise ValueError(msg)
    warnings.warn(msg, stacklevel=3)


class _AsRecord:
    """One store of a HeteroGraph seen as a homogeneous record by records' collate / separate helpers."""

    def __init__(self, record, store) -> None:
        self._record, self._store = record, store

    def __cat_dim__(self, key, value, store=None, *args, **kwargs):
        return self._record.__cat_dim__(key, value, self._store)

    def __inc__(self, key, value, store=None, *args, **kwargs):
        return self._record.__inc__(key, value, self._store)


class HeteroGraph(_TensorMethods):
    """Typed node and edge stores (see the module docstring). `HeteroGraph(_mapping=None, **kwargs)`: a mapping
    or keywords of `{node_type: {attr: value}}`, `{(src, rel, dst): {...}}` (or `'src__rel__dst'`) and global
    attributes."""

    def __init__(self, _mapping: Mapping[Any, Any] | None = None, **kwargs) -> None:
        self.__dict__["_global_store"] = Storage(_parent=self)
        self.__dict__["_node_store_dict"] = {}
        self.__dict__["_edge_store_dict"] = {}
        for key, value in chain((_mapping or {}).items(), kwargs.items()):
            if isinstance(key, str) and "__" in key and isinstance(value, Mapping):
                key = tuple(key.split("__"))
            if isinstance(value, Mapping):
                self[key].update(value)
            else:
                setattr(self, key, value)

    # ---------------------------------------------------------------- access
    def __getattr__(self, key: str) -> Any:
        if "_global_store" not in self.__dict__:
            raise AttributeError(key)
        if hasattr(self._global_store, key):
            return getattr(self._global_store, key)
        if key.endswith("_dict"):
            return self.collect(key[:-5])
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{key}'")

    def __setattr__(self, key: str, value: Any) -> None:
        prop = getattr(type(self), key, None)
        if isinstance(prop, property) and prop.fset is not None:
            prop.fset(self, value)
            return
        if key in self.node_types:
            raise AttributeError(f"'{key}' is already present as a node type")
        if key in self.edge_types:
            raise AttributeError(f"'{key}' is already present as an edge type")
        setattr(self._global_store, key, value)

    def __delattr__(self, key: str) -> None:
        delattr(self._global_store, key)

    def __getitem__(self, *args) -> Any:
        key = self._to_canonical(*args)
        out = self._global_store.get(key) if isinstance(key, str) else None
        if out is not None:
            return out
        if isinstance(key, tuple):
            return self.get_edge_store(*key)
        return self.get_node_store(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self.node_types:
            raise AttributeError(f"'{key}' is already present as a node type")
        if key in self.edge_types:
            raise AttributeError(f"'{key}' is already present as an edge type")
        self._global_store[key] = value

    def __delitem__(self, *args) -> None:
        key = self._to_canonical(*args)
        if key in self.edge_types:
            del self._edge_store_dict[key]
        elif key in self.node_types:
            del self._node_store_dict[key]
        elif isinstance(key, str) and key in self._global_store:
            del self._global_store[key]

    def _to_canonical(self, *args):
        """A node type, a full edge type, or a global key from `data[...]`'s arguments (PyG's shorthands)."""
        if len(args) == 1 and isinstance(args[0], tuple):
            args = args[0]
        if len(args) == 1 and isinstance(args[0], str):
            name = args[0]
            if name in self._node_store_dict:
                return name
            by_rel = [t for t in self.edge_types if t[1] == name]
            return by_rel[0] if len(by_rel) == 1 else name
        if len(args) == 2:
            pairs = [t for t in self.edge_types if t[0] == args[0] and t[-1] == args[-1]]
            if len(pairs) == 1:
                return pairs[0]
            if not pairs:
                return (args[0], DEFAULT_REL, args[-1])
        return args

    def get_node_store(self, key: str) -> NodeStorage:
        out = self._node_store_dict.get(key)
        if out is None:
            _check_type_name(key, type(self).__name__)
            out = NodeStorage(_parent=self)
            out._key = key
            self._node_store_dict[key] = out
        return out

    def get_edge_store(self, src: str, rel: str, dst: str) -> EdgeStorage:
        key = (src, rel, dst)
        out = self._edge_store_dict.get(key)
        if out is None:
            _check_type_name(rel, type(self).__name__)
            out = EdgeStorage(_parent=self)
            out._key = key
            self._edge_store_dict[key] = out
        return out

    # ---------------------------------------------------------------- stores and types
    @property
    def stores(self) -> list[Storage]:
        return [self._global_store, *self._node_store_dict.values(), *self._edge_store_dict.values()]

    @property
    def node_types(self) -> list[str]:
        return list(self.__dict__.get("_node_store_dict", {}))

    @property
    def edge_types(self) -> list[tuple[str, str, str]]:
        return list(self.__dict__.get("_edge_store_dict", {}))

    @property
    def node_stores(self) -> list[NodeStorage]:
        return list(self._node_store_dict.values())

    @property
    def edge_stores(self) -> list[EdgeStorage]:
        return list(self._edge_store_dict.values())

    def node_items(self) -> list[tuple[str, NodeStorage]]:
        return list(self._node_store_dict.items())

    def edge_items(self) -> list[tuple[tuple, EdgeStorage]]:
        return list(self._edge_store_dict.items())

    @property
    def num_node_types(self) -> int:
        return len(self._node_store_dict)

    @property
    def num_edge_types(self) -> int:
        return len(self._edge_store_dict)

    def metadata(self) -> tuple[list[str], list[tuple[str, str, str]]]:
        """(node_types, edge_types)."""
        return self.node_types, self.edge_types

    def stores_as(self, data: HeteroGraph):
        for node_type in data.node_types:
            self.get_node_store(node_type)
        for edge_type in data.edge_types:
            self.get_edge_store(*edge_type)
        return self

    @property
    def input_type(self):
        for key, store in chain(self.node_items(), self.edge_items()):
            if "input_id" in store:
                return key
        return None

    def collect(self, key: str, allow_empty: bool = False) -> dict:
        """{type: value of attribute `key`} over the node and edge types that have it."""
        out = {t: s[key] for t, s in chain(self.node_items(), self.edge_items()) if key in s}
        if not allow_empty and not out:
            raise KeyError(f"Tried to collect '{key}' but did not find any occurrences of it in any node and/or edge "
                           f"type")
        return out

    def set_value_dict(self, key: str, value_dict: Mapping):
        for t, v in (value_dict or {}).items():
            self[t][key] = v
        return self

    def keys(self) -> list[str]:
        out: dict[str, None] = {}
        for store in self.stores:
            out.update(dict.fromkeys(store.keys()))
        return list(out)

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key: str) -> bool:
        return key in self.keys()

    def __iter__(self):
        for store in self.stores:
            yield from store.items()

    def __call__(self, *keys: str):
        for store in self.stores:
            yield from store.items(*keys)

    def update(self, data: HeteroGraph):
        for store in data.stores:
            target = self._global_store if store._key is None else self[store._key]
            for key, value in store.items():
                target[key] = value
        return self

    def to_dict(self) -> dict:
        out = {"_global_store": self._global_store.to_dict()}
        for key, store in chain(self.node_items(), self.edge_items()):
            out[key] = store.to_dict()
        return out

    @classmethod
    def from_dict(cls, mapping: Mapping):
        out = cls(**mapping.get("_global_store", {}))
        for key, value in mapping.items():
            if key != "_global_store":
                out[key].update(value)
        return out

    def to_namedtuple(self):
        names = list(self._global_store.keys())
        values = list(self._global_store.values())
        for key, store in chain(self.node_items(), self.edge_items()):
            names.append("__".join(key) if isinstance(key, tuple) else key)
            values.append(store.to_namedtuple())
        return namedtuple("DataTuple", names)(*values)

    def rename(self, name: str, new_name: str):
        """Rename node type `name` (moved to the end of node_types) and every edge type that references it."""
        if name in self._node_store_dict:
            store = self._node_store_dict.pop(name)
            store._key = new_name
            self._node_store_dict[new_name] = store
        edges = {}
        for (src, rel, dst), store in self._edge_store_dict.items():
            key = (new_name if src == name else src, rel, new_name if dst == name else dst)
            store._key = key
            edges[key] = store
        self.__dict__["_edge_store_dict"] = edges
        return self

    # ---------------------------------------------------------------- copies and pickling
    def __copy__(self):
        out = type(self).__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.__dict__["_global_store"] = copy.copy(self._global_store)
        out.__dict__["_node_store_dict"] = {k: copy.copy(s) for k, s in self._node_store_dict.items()}
        out.__dict__["_edge_store_dict"] = {k: copy.copy(s) for k, s in self._edge_store_dict.items()}
        out._reparent()
        return out

    def __deepcopy__(self, memo):
        out = type(self).__new__(type(self))
        memo[id(self)] = out
        for key, value in self.__dict__.items():
            out.__dict__[key] = copy.deepcopy(value, memo)
        out._reparent()
        return out

    def _reparent(self) -> None:
        for store in self.stores:
            store._parent = self
            store.__dict__.pop("_cached_attr", None)

    def __getstate__(self) -> dict:
        return dict(self.__dict__)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reparent()

    def __repr__(self) -> str:
        info = [_size_repr(k, v, 2) for k, v in self._global_store.items()]
        for key, store in chain(self.node_items(), self.edge_items()):
            info.append(_size_repr(key, store.to_dict(), 2))
        body = ",\n".join(info)
        return f"{type(self).__name__}(" + (f"\n{body}\n" if body else "") + ")"

    # ---------------------------------------------------------------- tensors
    def apply(self, func: Callable, *args: str):
        for store in self.stores:
            store.apply(func, *args)
        return self

    def apply_(self, func: Callable, *args: str):
        for store in self.stores:
            store.apply_(func, *args)
        return self

    @property
    def is_cuda(self) -> bool:
        return any(isinstance(v, torch.Tensor) and v.is_cuda for s in self.stores for v in s.values())

    # ---------------------------------------------------------------- batching rules
    def __cat_dim__(self, key: str, value: Any, store=None, *args, **kwargs) -> Any:
        if _is_sparse(value) and ("adj" in key or "edge_index" in key):
            return (0, 1)
        if isinstance(store, EdgeStorage) and "index" in key:
            return -1
        return 0

    def __inc__(self, key: str, value: Any, store=None, *args, **kwargs) -> Any:
        if "batch" in key and isinstance(value, torch.Tensor):
            dim_size = getattr(value, "get_dim_size", None)
            return dim_size() if dim_size is not None else int(value.max()) + 1
        if isinstance(store, EdgeStorage) and "index" in key:
            return torch.tensor(store.size()).view(2, 1)
        return 0

    # ---------------------------------------------------------------- sizes
    @property
    def num_nodes(self) -> int | None:
        try:
            return sum(s.num_nodes for s in self.node_stores)
        except TypeError:
            return None

    @property
    def num_edges(self) -> int:
        return sum(s.num_edges for s in self.edge_stores)

    @property
    def node_offsets(self) -> dict[str, int]:
        """The first node's index of each node type in the types' concatenation (node_types order), as PyG's."""
        out, offset = {}, 0
        for key in self.node_types:
            out[key] = offset
            offset += self[key].num_nodes
        return out

    @property
    def num_node_features(self) -> dict[str, int]:
        return {k: s.num_node_features for k, s in self.node_items()}

    @property
    def num_features(self) -> dict[str, int]:
        return self.num_node_features

    @property
    def num_edge_features(self) -> dict[tuple, int]:
        return {k: s.num_edge_features for k, s in self.edge_items()}

    def node_attrs(self) -> list[str]:
        return list(dict.fromkeys(k for s in self.node_stores for k in s.node_attrs()))

    def edge_attrs(self) -> list[str]:
        return list(dict.fromkeys(k for s in self.edge_stores for k in s.edge_attrs()))

    def is_node_attr(self, key: str) -> bool:
        return any(key in s and s.is_node_attr(key) for s in self.node_stores)

    def is_edge_attr(self, key: str) -> bool:
        return any(key in s and s.is_edge_attr(key) for s in self.edge_stores)

    def generate_ids(self) -> None:
        """n_id per node type and e_id per edge type (aranges)."""
        for store in self.node_stores:
            store.n_id = torch.arange(store.num_nodes)
        for store in self.edge_stores:
            store.e_id = torch.arange(store.num_edges)

    # ---------------------------------------------------------------- graph properties
    def has_isolated_nodes(self) -> bool:
        from .ops.edge_utils import contains_isolated_nodes

        ei, _, _ = _homogeneous_edge_index(self)
        return contains_isolated_nodes(ei if ei is not None else torch.zeros((2, 0), dtype=torch.long), self.num_nodes)

    def has_self_loops(self) -> bool:
        from .ops.edge_utils import contains_self_loops

        return any(contains_self_loops(s.edge_index) for t, s in self.edge_items()
                   if t[0] == t[-1] and "edge_index" in s)

    def is_undirected(self) -> bool:
        from .ops.edge_utils import is_undirected

        ei, _, _ = _homogeneous_edge_index(self)
        return ei is None or is_undirected(ei, num_nodes=self.num_nodes)

    def is_directed(self) -> bool:
        return not self.is_undirected()

    def validate(self, raise_on_error: bool = True) -> bool:
        """Every edge type's node types exist, and its edge_index is a (2, E) int64 tensor within their counts
        (ValueError naming the edge type when raise_on_error, else a warning); isolated node types warn."""
        name = type(self).__name__
        ok = True
        node_types = set(self.node_types)
        referenced = {t[0] for t in self.edge_types} | {t[-1] for t in self.edge_types}
        dangling = referenced - node_types
        if dangling:
            ok = False
            _warn_or_raise(f"The node types {dangling} are referenced in edge types but do not exist as node types",
                           raise_on_error)
        isolated = node_types - referenced
        if isolated:
            warnings.warn(f"The node types {isolated} are isolated and are not referenced by any edge type ",
                          stacklevel=2)
        for (src, rel, dst), store in self.edge_items():
            if src not in node_types or dst not in node_types:
                continue
            n_src, n_dst = self[src].num_nodes, self[dst].num_nodes
            for t, n in ((src, n_src), (dst, n_dst)):
                if n is None:
                    ok = False
                    _warn_or_raise(f"'num_nodes' is undefined in node type '{t}' of '{name}'", raise_on_error)
            ei = store.get("edge_index")
            if not isinstance(ei, torch.Tensor):
                continue
            et = (src, rel, dst)
            if ei.dim() != 2 or ei.size(0) != 2:
                ok = False
                _warn_or_raise(f"'edge_index' of edge type {et} needs to be of shape [2, num_edges] in '{name}' "
                               f"(found {tuple(ei.shape)})", raise_on_error)
                continue
            if ei.dtype != torch.long:
                ok = False
                _warn_or_raise(f"'edge_index' of edge type {et} needs to be of type 'torch.long' in '{name}' "
                               f"(found {ei.dtype})", raise_on_error)
            if ei.numel() == 0:
                continue
            if int(ei.min()) < 0:
                ok = False
                _warn_or_raise(f"'edge_index' of edge type {et} contains negative indices in '{name}' "
                               f"(found {int(ei.min())})", raise_on_error)
            for row, n, side in ((0, n_src, "source"), (1, n_dst, "destination")):
                if n is not None and int(ei[row].max()) >= n:
                    ok = False
                    _warn_or_raise(f"'edge_index' of edge type {et} contains larger {side} indices than the number "
                                   f"of {side} nodes ({n}) in '{name}' (found {int(ei[row].max())})", raise_on_error)
        return ok

    def debug(self) -> None:  # PyG's placeholder
        pass

    # ---------------------------------------------------------------- selections
    def subgraph(self, subset_dict: Mapping[str, torch.Tensor]):
        """The subgraph induced by `subset_dict` ({node type: positions or bool mask}; types not given keep all
        their nodes), nodes renumbered in subset order; edges of every type between kept nodes stay, with their
        edge attributes."""
        data = copy.copy(self)
        subsets = {}
        for node_type, subset in subset_dict.items():
            if node_type not in self._node_store_dict:
                raise ValueError(f"subset_dict names node type {node_type!r}, which this graph does not have "
                                 f"(node types: {self.node_types})")
            store = self[node_type]
            if not isinstance(subset, torch.Tensor):
                subset = torch.as_tensor(subset, dtype=torch.long)
            if store._find_mesh() is not None:
                raise ValueError(f"subgraph: node type {node_type!r} holds a mesh; a vertex subset of a mesh is not "
                                 f"a mesh (select whole meshes through batching instead)")
            subsets[node_type] = subset
            for key, value in store.items():
                if key == "num_nodes":
                    data[node_type].num_nodes = int(subset.sum()) if subset.dtype == torch.bool else subset.numel()
                elif store.is_node_attr(key):
                    data[node_type][key] = _select(value, subset)
        for edge_type, store in self.edge_items():
            if "edge_index" not in store:
                continue
            src, _, dst = edge_type
            ei = store.edge_index
            keep = torch.ones(ei.size(1), dtype=torch.bool, device=ei.device)
            rows = []
            for side, t in ((0, src), (1, dst)):
                idx = ei[side]
                if t in subsets:
                    new_id = _relabel(subsets[t], self[t].num_nodes, ei.device)
                    idx = new_id[idx]
                    keep &= idx >= 0
                rows.append(idx)
            new_ei = torch.stack(rows)[:, keep]
            for key, value in store.items():
                if key == "edge_index":
                    data[edge_type].edge_index = new_ei
                elif store.is_edge_attr(key):
                    data[edge_type][key] = _select(value, keep)
        return data

    def node_type_subgraph(self, node_types: Sequence[str]):
        """Only the given node types and the edge types between them."""
        data = copy.copy(self)
        for edge_type in self.edge_types:
            if edge_type[0] not in node_types or edge_type[-1] not in node_types:
                del data[edge_type]
        for node_type in self.node_types:
            if node_type not in node_types:
                del data[node_type]
        return data

    def edge_type_subgraph(self, edge_types: Sequence):
        """Only the given edge types (shorthands allowed) and the node types they reference."""
        wanted = [self._to_canonical(t) for t in edge_types]
        data = copy.copy(self)
        for edge_type in self.edge_types:
            if edge_type not in wanted:
                del data[edge_type]
        used = {t[0] for t in wanted} | {t[-1] for t in wanted}
        for node_type in self.node_types:
            if node_type not in used:
                del data[node_type]
        return data

    def edge_subgraph(self, subset_dict: Mapping):
        """The same nodes with only the edges `subset_dict[edge type]` (positions or masks) of the given types."""
        data = copy.copy(self)
        for edge_type, subset in subset_dict.items():
            edge_type = self._to_canonical(edge_type)
            store = self[edge_type]
            for key, value in store.items():
                if store.is_edge_attr(key):
                    dim = self.__cat_dim__(key, value, store)
                    if isinstance(value, torch.Tensor):
                        idx = subset.nonzero().view(-1) if subset.dtype == torch.bool else subset
                        data[edge_type][key] = value.index_select(dim, idx.to(value.device))
                    else:
                        data[edge_type][key] = _select(value, subset)
        return data

    def connected_components(self) -> list:
        """One HeteroGraph per connected component (edges taken as undirected, over all types)."""
        self._parents, self._ranks = {}, {}
        try:
            for (src, _, dst), store in self.edge_items():
                if "edge_index" in store:
                    for a, b in store.edge_index.t().tolist():
                        self._union((src, a), (dst, b))
            for node_type in self.node_types:
                for i in range(self[node_type].num_nodes):
                    self._find_parent((node_type, i))
            groups = defaultdict(list)
            for node in list(self._parents):
                groups[self._find_parent(node)].append(node)
        finally:
            del self._parents, self._ranks
        out = []
        for nodes in groups.values():
            subset = {t: [] for t in self.node_types}
            for t, i in nodes:
                subset[t].append(i)
            out.append(self.subgraph({t: torch.tensor(sorted(v), dtype=torch.long) for t, v in subset.items()}))
        return out

    _find_parent = Data._find_parent
    _union = Data._union

    # ---------------------------------------------------------------- homogeneous view
    def to_homogeneous(self, node_attrs: list[str] | None = None, edge_attrs: list[str] | None = None,
                       add_node_type: bool = True, add_edge_type: bool = True, dummy_values: bool = True) -> Data:
        """One `Data`: node types concatenated in `node_types` order, edge types in `edge_types` order (indices
        shifted by the node offsets), node attributes shared by all types (2-D features zero-padded to the widest)
        and edge attributes shared by all edge types; `node_type` / `edge_type` vectors and the type names kept
        for `to_heterogeneous()`. dummy_values fills an attribute missing in some types with NaN / -1."""
        if dummy_values:
            self = copy.copy(self)
            _fill_dummy(self, self.node_stores, node_attrs)
            _fill_dummy(self, self.edge_stores, edge_attrs)
        edge_index, node_slices, edge_slices = _homogeneous_edge_index(self)
        device = edge_index.device if edge_index is not None else None
        data = Data(**self._global_store.to_dict())
        if edge_index is not None:
            data.edge_index = edge_index
        data._node_type_names = list(node_slices)
        data._edge_type_names = list(edge_slices)
        if node_attrs is None:
            node_attrs = _consistent_keys(self, self.node_stores)
        for key in node_attrs:
            if key == "ptr":
                continue
            values = [s[key] for s in self.node_stores]
            dim = self.__cat_dim__(key, values[0], self.node_stores[0])
            dim = values[0].dim() + dim if dim < 0 else dim
            if values[0].dim() == 2 and dim == 0:
                width = max(v.size(-1) for v in values)
                values = [torch.cat([v, v.new_zeros(v.size(0), width - v.size(-1))], dim=-1) if v.size(-1) < width
                          else v for v in values]
            data[key] = torch.cat(values, dim) if len(values) > 1 else values[0]
        if not any(k in data for k in ("x", "pos", "batch", "num_nodes")) and not any("node" in k for k in data.keys()):
            data.num_nodes = list(node_slices.values())[-1][1] if node_slices else 0
        if edge_attrs is None:
            edge_attrs = _consistent_keys(self, self.edge_stores)
        for key in edge_attrs:
            values = [s[key] for s in self.edge_stores]
            dim = self.__cat_dim__(key, values[0], self.edge_stores[0])
            data[key] = torch.cat(values, dim) if len(values) > 1 else values[0]
        if "edge_label_index" in self:
            parts = []
            for et, eli in self.collect("edge_label_index").items():
                eli = eli.clone()
                eli[0] += node_slices[et[0]][0]
                eli[1] += node_slices[et[-1]][0]
                parts.append(eli)
            data.edge_label_index = torch.cat(parts, dim=-1)
        if add_node_type:
            sizes = torch.tensor([b - a for a, b in node_slices.values()], dtype=torch.long, device=device)
            data.node_type = torch.arange(len(sizes), device=device).repeat_interleave(sizes)
        if add_edge_type and edge_index is not None:
            sizes = torch.tensor([b - a for a, b in edge_slices.values()], dtype=torch.long, device=device)
            data.edge_type = torch.arange(len(sizes), device=device).repeat_interleave(sizes)
        return data

    @classmethod
    def from_homogeneous(cls, data: Data, node_type=None, edge_type=None, node_type_names=None,
                         edge_type_names=None) -> HeteroGraph:
        """The HeteroGraph of a homogeneous record with `node_type` / `edge_type` vectors (PyG's
        `Data.to_heterogeneous`)."""
        return from_homogeneous(data, node_type, edge_type, node_type_names, edge_type_names, cls)


def _select(value, subset: torch.Tensor):
    if isinstance(value, torch.Tensor):
        return value[subset.to(value.device)]
    if _is_array(value):
        return value[subset.cpu().numpy()]
    if isinstance(value, (list, tuple)):
        idx = subset.nonzero().view(-1) if subset.dtype == torch.bool else subset
        return [value[i] for i in idx.tolist()]
    return value[subset]


def _relabel(subset: torch.Tensor, n: int, device) -> torch.Tensor:
    """(n,) new ids of the kept nodes in subset order, -1 for dropped ones."""
    subset = subset.to(device)
    if subset.dtype == torch.bool:
        subset = subset.nonzero().view(-1)
    new_id = torch.full((n,), -1, dtype=torch.long, device=device)
    new_id[subset] = torch.arange(subset.numel(), device=device)
    return new_id


def _homogeneous_edge_index(data: HeteroGraph):
    """(concatenated edge_index or None, {node type: (start, end)}, {edge type: (start, end)})."""
    node_slices, acc = {}, 0
    for node_type, store in data.node_items():
        n = store.num_nodes
        node_slices[node_type] = (acc, acc + n)
        acc += n
    parts, edge_slices, acc = [], {}, 0
    for (src, rel, dst), ei in data.collect("edge_index", True).items():
        if src not in node_slices or dst not in node_slices:
            raise ValueError(f"edge type {(src, rel, dst)} references node types that do not exist "
                             f"(node types: {list(node_slices)})")
        offset = torch.tensor([[node_slices[src][0]], [node_slices[dst][0]]], device=ei.device)
        parts.append(ei + offset)
        edge_slices[(src, rel, dst)] = (acc, acc + ei.size(1))
        acc += ei.size(1)
    ei = None if not parts else parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
    return ei, node_slices, edge_slices


_SKIP_IN_SIZES = {"edge_index", "edge_label_index", "adj", "adj_t"}


def _sizes(data: HeteroGraph, stores) -> dict[str, list[tuple]]:
    out = defaultdict(list)
    for store in stores:
        for key, value in store.items():
            if key in _SKIP_IN_SIZES or not isinstance(value, torch.Tensor):
                continue
            dim = data.__cat_dim__(key, value, store)
            out[key].append(tuple(value.size()[:dim] + value.size()[dim + 1:]))
    return out


def _fill_dummy(data: HeteroGraph, stores, keys) -> None:
    sizes = {k: v for k, v in _sizes(data, stores).items() if (keys is None or k in keys) and len(set(v)) == 1}
    for store in stores:
        for key, size in sizes.items():
            if key in store:
                continue
            ref = next(s[key] for s in stores if key in s)
            dim = data.__cat_dim__(key, ref, store)
            fill = float("nan") if ref.is_floating_point() else -1
            n = store.num_nodes if isinstance(store, NodeStorage) else store.num_edges
            shape = size[0][:dim] + (n,) + size[0][dim:]
            store[key] = torch.full(shape, fill, dtype=ref.dtype, device=ref.device)


def _consistent_keys(data: HeteroGraph, stores) -> list[str]:
    keys = []
    for key, sizes in _sizes(data, stores).items():
        if len(sizes) != len(stores) or len({len(s) for s in sizes}) != 1:
            continue
        if len(sizes[0]) != 1 and len(set(sizes)) != 1:
            continue
        keys.append(key)
    return keys


def from_homogeneous(data: Data, node_type=None, edge_type=None, node_type_names=None, edge_type_names=None,
                     cls: type | None = None) -> HeteroGraph:
    """The HeteroGraph of a homogeneous record (PyG's `Data.to_heterogeneous`): node_type / edge_type vectors
    (default: the record's own, else all zeros), type names (default: those `to_homogeneous` recorded, else the
    type ids as strings, edge types named (src type, id, dst type))."""
    cls = cls or HeteroGraph
    store = data._store
    if node_type is None:
        node_type = store.get("node_type")
    if node_type is None:
        node_type = torch.zeros(data.num_nodes, dtype=torch.long)
    if node_type_names is None:
        node_type_names = store.__dict__.get("_node_type_names")
    if node_type_names is None:
        node_type_names = [str(i) for i in node_type.unique().tolist()]
    if edge_type is None:
        edge_type = store.get("edge_type")
    if edge_type is None:
        edge_type = torch.zeros(data.num_edges, dtype=torch.long)
    if edge_type_names is None:
        edge_type_names = store.__dict__.get("_edge_type_names")
    if edge_type_names is None:
        edge_type_names = []
        for i in edge_type.unique().tolist():
            src, dst = data.edge_index[:, edge_type == i]
            src_types, dst_types = node_type[src].unique().tolist(), node_type[dst].unique().tolist()
            if len(src_types) != 1 or len(dst_types) != 1:
                raise ValueError("Could not construct a 'HeteroData' object from the 'Data' object because single "
                                 "edge types span over multiple node types")
            edge_type_names.append((node_type_names[src_types[0]], str(i), node_type_names[dst_types[0]]))
    if node_type.numel() != (data.num_nodes or 0):
        raise ValueError(f"node_type must have one entry per node ({data.num_nodes}), got {node_type.numel()}")
    node_ids, index_map = {}, torch.empty_like(node_type)
    for i in range(len(node_type_names)):
        node_ids[i] = (node_type == i).nonzero().view(-1)
        index_map[node_ids[i]] = torch.arange(node_ids[i].numel(), device=index_map.device)
    edge_ids = {i: (edge_type == i).nonzero().view(-1) for i in range(len(edge_type_names))}
    skip = {"node_type", "edge_type", "ptr"}
    out = cls()
    for i, key in enumerate(node_type_names):
        for attr, value in data:
            if attr in skip:
                continue
            if isinstance(value, torch.Tensor) and data.is_node_attr(attr):
                out[key][attr] = value.index_select(data.__cat_dim__(attr, value), node_ids[i].to(value.device))
        if len(out[key]) == 0:
            out[key].num_nodes = node_ids[i].numel()
    for i, key in enumerate(edge_type_names):
        for attr, value in data:
            if attr in skip:
                continue
            if attr == "edge_index":
                ei = value[:, edge_ids[i]]
                out[key].edge_index = index_map[ei]
            elif isinstance(value, torch.Tensor) and data.is_edge_attr(attr):
                out[key][attr] = value.index_select(data.__cat_dim__(attr, value), edge_ids[i].to(value.device))
    taken = set(out.keys()) | {"node_type", "edge_type", "edge_index", "num_nodes", "ptr"}
    for attr, value in data:
        if attr not in taken:
            out[attr] = value
    return out


# ---------------------------------------------------------------------- batches


class HeteroBatch(HeteroGraph):
    """HeteroGraphs collated into one (`Batch.from_data_list` / `DataLoader` build it): per node type `batch`
    (graph of each node) and `ptr`; every edge type's edge_index shifted per record by its own source /
    destination node counts; meshes of a node type collated into one GraphBatch. `num_graphs`, `batch[i]` /
    `get_example(i)`, `index_select`, `to_data_list()`."""

    @classmethod
    def from_data_list(cls, data_list: Sequence[HeteroGraph], follow_batch: Sequence[str] | None = None,
                       exclude_keys: Sequence[str] | None = None) -> HeteroBatch:
        from .graph import GraphBatch

        data_list = list(data_list)
        if not data_list:
            raise ValueError("from_data_list needs at least one record")
        first = data_list[0]
        for i, d in enumerate(data_list):
            if not isinstance(d, HeteroGraph):
                raise TypeError(f"data_list[{i}] is a {type(d).__name__}, not a HeteroGraph like data_list[0]")
            if set(d.node_types) - set(first.node_types) or set(d.edge_types) - set(first.edge_types):
                raise ValueError(f"data_list[{i}] has node / edge types that data_list[0] lacks "
                                 f"(metadata {d.metadata()} vs {first.metadata()}): records of one batch share "
                                 f"their metadata")
        follow, exclude = set(follow_batch or ()), set(exclude_keys or ())
        out = cls()
        out.__dict__["_data_cls"] = type(first)
        out.stores_as(first)
        slices, incs = {}, {}
        add_batch = not isinstance(first, HeteroBatch)
        for key in [None, *first.node_types, *first.edge_types]:
            stores = [d._global_store if key is None else d[key] for d in data_list]
            target = out._global_store if key is None else out[key]
            views = [_AsRecord(d, s) for d, s in zip(data_list, stores)]
            names = list(dict.fromkeys(k for s in stores for k in s.keys()))
            slices[key], incs[key] = {}, {}
            for name in names:
                if name in exclude or (add_batch and name == "ptr"):
                    continue
                if any(name not in s for s in stores):
                    raise ValueError(f"attribute {name!r} of {'the global store' if key is None else key!r} is "
                                     f"missing in some records of the batch")
                values = [s[name] for s in stores]
                if name == "num_nodes":
                    slices[key][name] = list(values)
                    target["num_nodes"] = sum(values)
                    continue
                if _is_mesh(values[0]):
                    target[name] = GraphBatch.collate(values)
                    slices[key][name] = _cumsum([v.num_graphs for v in values])
                    incs[key][name] = None
                    continue
                value, slc, inc = _collate(name, values, views)
                target[name] = value
                slices[key][name], incs[key][name] = slc, inc
                if name in follow:
                    from .records import _follow

                    target[f"{name}_batch"], target[f"{name}_ptr"] = _follow(slc, _device_of(value))
            if add_batch and key in first.node_types:
                counts = [s.num_nodes for s in stores]
                device = next((_device_of(v) for v in target.values() if _device_of(v) is not None), None)
                target["batch"] = index_from_counts(torch.tensor(counts, device=device), sum(counts))
                target["ptr"] = _cumsum(counts, device)
        out.__dict__["_slice_dict"] = slices
        out.__dict__["_inc_dict"] = incs
        out.__dict__["_num_graphs"] = len(data_list)
        return out

    @property
    def num_graphs(self) -> int:
        if "_num_graphs" in self.__dict__:
            return self.__dict__["_num_graphs"]
        for store in self.node_stores:
            if "ptr" in store:
                return store.ptr.numel() - 1
        raise ValueError("Can not infer the number of graphs")

    def __len__(self) -> int:
        """The number of graphs, as for PyG's batches (a HeteroGraph's len counts its attributes)."""
        return self.num_graphs

    @property
    def batch_size(self) -> int:
        return self.num_graphs

    def get_example(self, idx: int) -> HeteroGraph:
        if "_slice_dict" not in self.__dict__:
            raise RuntimeError("Cannot reconstruct 'HeteroData' object from 'Batch' because 'Batch' was not created "
                               "via 'Batch.from_data_list()'")
        n = self.num_graphs
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a batch of {n} graphs")
        idx %= n
        cls = self.__dict__.get("_data_cls", HeteroGraph)
        out = cls()
        out.stores_as(self)
        for key, slc in self._slice_dict.items():
            store = self._global_store if key is None else self[key]
            target = out._global_store if key is None else out[key]
            view = _AsRecord(self, store)
            for name, s in slc.items():
                value = store[name]
                if name == "num_nodes":
                    target[name] = s[idx]
                elif _is_mesh(value):
                    target[name] = value[int(s[idx]):int(s[idx + 1])]
                else:
                    target[name] = _separate(view, name, value, idx, s, self._inc_dict[key][name])
        return out

    def index_select(self, idx) -> list[HeteroGraph]:
        if isinstance(idx, slice):
            picks = list(range(self.num_graphs))[idx]
        else:
            t = torch.as_tensor(idx)
            picks = t.nonzero().view(-1).tolist() if t.dtype == torch.bool else t.view(-1).tolist()
        return [self.get_example(i) for i in picks]

    def __getitem__(self, *args):
        if len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
            return self.get_example(args[0])
        if len(args) == 1 and isinstance(args[0], (slice, list, torch.Tensor)):
            return self.index_select(args[0])
        return super().__getitem__(*args)

    def to_data_list(self) -> list[HeteroGraph]:
        return [self.get_example(i) for i in range(self.num_graphs)]


def _device_of(value):
    if isinstance(value, torch.Tensor):
        return value.device
    if _is_mesh(value):
        return value.device
    return None


# ---------------------------------------------------------------------- pytree registration
# Leaves: every tensor and mesh of every store; context: the class, the store keys, attribute names and the
# plain (non-tensor) values, so tree_map / torch.compile rebuild an equal HeteroGraph.


def _is_leafish(value) -> bool:
    return isinstance(value, torch.Tensor) or _is_mesh(value)


def _hetero_flatten(data: HeteroGraph):
    children, layout = [], []
    for key, store in [(None, data._global_store), *data.node_items(), *data.edge_items()]:
        names, plain = [], {}
        for name, value in store.items():
            if _is_leafish(value):
                names.append(name)
                children.append(value)
            else:
                plain[name] = value
        layout.append((key, tuple(names), plain, tuple(store.keys())))
    extra = {k: v for k, v in data.__dict__.items() if k not in ("_global_store", "_node_store_dict", "_edge_store_dict")}
    return children, (type(data), tuple(layout), extra)


def _hetero_unflatten(children, context):
    cls, layout, extra = context
    out = cls.__new__(cls)
    HeteroGraph.__init__(out)
    out.__dict__.update(extra)
    it = iter(children)
    for key, names, plain, order in layout:
        store = out._global_store if key is None else out[key]
        values = {**plain, **{n: next(it) for n in names}}
        for name in order:
            store._mapping[name] = values[name]
    return out


def _hetero_flatten_with_keys(data: HeteroGraph):
    children, context = _hetero_flatten(data)
    keys = [f"{'' if key is None else '__'.join(key) if isinstance(key, tuple) else key}.{n}"
            for key, names, _, _ in context[1] for n in names]
    return [(pytree.MappingKey(k), c) for k, c in zip(keys, children)], context


for _cls in (HeteroGraph, HeteroBatch):
    pytree.register_pytree_node(_cls, _hetero_flatten, _hetero_unflatten,
                                serialized_type_name=f"meshgraph.{_cls.__name__}",
                                flatten_with_keys_fn=_hetero_flatten_with_keys)

__all__ = ["EdgeStorage", "HeteroBatch", "HeteroGraph", "NodeStorage", "from_homogeneous"]
