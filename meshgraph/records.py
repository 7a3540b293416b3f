"""Data and Batch: attribute records of one graph / a collated batch of graphs (PyG 2.8's vocabulary).

A `Data` holds any named values: node-level tensors (`x`, `pos`, ... one row per node), edge-level tensors
(`edge_index` (2, E), `edge_attr`, ... one row per edge) and graph-level values (`y`, strings, lists). Attribute
and item access read the same store (`data.x`, `data["x"]`), and setting a value to None removes it.

`Batch.from_data_list` concatenates records along each attribute's `__cat_dim__` (edge_index and any `*index` or
`face` attribute along their last dimension, shifted by the number of nodes before them: `__inc__`), adds the
`batch` vector (graph of each node) and `ptr` offsets, and remembers the slices so `batch[i]` / `to_data_list()`
give the records back. Subclasses override `__cat_dim__` / `__inc__` to batch their own attributes.

The values live in a `Storage` (PyG's BaseStorage / GlobalStorage API: views, node / edge sizes, attribute
kinds), so code written against PyG's stores, such as its transforms, runs on these records unchanged.

With meshgraph ops: the packed tensors of a Batch are those meshgraph kernels take (`batch.x`,
`batch.edge_index`, `batch.batch`), and

- `adjacency(directed=True, index_dtype=None, self_loops=False)` returns the CSR `Adjacency` of `edge_index`,
  built and validated once and cached on the edge tensor (`ops.adjacency.cached_on`), so a record is the `graph`
  argument of meshgraph's graph ops (`gather_scatter`, `neighbor_softmax`, `edge_dot`: their graph resolution
  duck-types on `adjacency` / `num_edges`);
- `graph_batch()` returns a `GraphBatch` over the same tensors (no copy of features or edges), for the
  GraphBatch-first native API.

PyG's own Data / Batch objects are accepted by the same ops: their graph resolution falls back to the object's
`edge_index` (`ops.adjacency.resolve_graph`), and pools take the `batch` vector.
"""

from __future__ import annotations

import copy
import enum
import warnings
import weakref
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import torch

from ._utils import index_from_counts, index_from_offsets, offsets_from_counts
from .ops.edge_utils import is_edge_index_like

# Attributes that reveal the number of nodes / edges (checked first, in store order), as in PyG.
N_KEYS = {"x", "feat", "pos", "batch", "node_type", "n_id", "tf"}
E_KEYS = {"edge_index", "edge_weight", "edge_attr", "edge_type", "e_id"}


class AttrType(enum.Enum):
    """What an attribute describes: nodes, edges, or the graph (cached per store once decided)."""

    NODE = "NODE"
    EDGE = "EDGE"
    OTHER = "OTHER"


def _is_array(value) -> bool:
    """A tensor or numpy array (has a shape and can be indexed along a dimension)."""
    if isinstance(value, torch.Tensor):
        return True
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return False
    return isinstance(value, np.ndarray)


def _is_sparse(value) -> bool:
    return isinstance(value, torch.Tensor) and value.layout != torch.strided


def infer_num_nodes(store, size_along: Callable, where: str = "'data'", extra: Callable | None = None) -> int | None:
    """PyG's rule for a store's node count: `num_nodes` if set; else the rows of a node-level value (N_KEYS first,
    then any key with "node" in it; `size_along(key, value)` gives an array's size along its cat dimension); else
    `extra(store)` when given and not None; else adj / adj_t; else, with a warning naming `where`, the largest node
    index in edge_index / face plus one."""
    if "num_nodes" in store:
        return store["num_nodes"]
    for pick in (lambda k: k in N_KEYS, lambda k: "node" in k):
        for key, value in store.items():
            if pick(key):
                if _is_array(value):
                    return size_along(key, value)
                if hasattr(value, "num_rows"):
                    return value.num_rows
    if extra is not None:
        found = extra(store)
        if found is not None:
            return found
    for key in ("adj", "adj_t"):
        value = store.get(key)
        if isinstance(value, torch.Tensor):
            return value.size(0 if key == "adj" else 1)
    warnings.warn(
        f"Unable to accurately infer 'num_nodes' from the attribute set '{set(store.keys())}'. Please "
        f"explicitly set 'num_nodes' as an attribute of {where} to suppress this warning",
        UserWarning, stacklevel=3,
    )
    for key in ("edge_index", "face"):
        value = store.get(key)
        if isinstance(value, torch.Tensor):
            return int(value.max()) + 1 if value.numel() else 0
    return None


class _View:
    """A live view of a store's keys, values or items (only `keys` when given), printed as PyG prints it."""

    def __init__(self, mapping: dict, *keys: str) -> None:
        self._mapping = mapping
        self._keys = keys

    def _picked(self) -> dict:
        if not self._keys:
            return self._mapping
        return {k: self._mapping[k] for k in self._keys if k in self._mapping}

    def __len__(self) -> int:
        return len(self._picked())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._picked()!r})"


class KeysView(_View):
    def __iter__(self):
        return iter(list(self._picked()))


class ValuesView(_View):
    def __iter__(self):
        return iter(list(self._picked().values()))


class ItemsView(_View):
    def __iter__(self):
        return iter(list(self._picked().items()))


class _TensorMethods:
    """clone / to / detach / ... of a record or store, written once on top of its `apply` / `apply_`."""

    def apply(self, func: Callable, *args: str):
        raise NotImplementedError

    def apply_(self, func: Callable, *args: str):
        raise NotImplementedError

    def clone(self, *args: str):
        return copy.copy(self).apply(lambda t: t.clone(), *args)

    def contiguous(self, *args: str):
        return self.apply(lambda t: t.contiguous(), *args)

    def to(self, device, *args: str, non_blocking: bool = False):
        return self.apply(lambda t: t.to(device=device, non_blocking=non_blocking), *args)

    def cpu(self, *args: str):
        return self.apply(lambda t: t.cpu(), *args)

    def cuda(self, device=None, *args: str, non_blocking: bool = False):
        device = "cuda" if device is None else device
        return self.apply(lambda t: t.cuda(device, non_blocking=non_blocking), *args)

    def pin_memory(self, *args: str):
        return self.apply(lambda t: t.pin_memory(), *args)

    def share_memory_(self, *args: str):
        return self.apply_(lambda t: t.share_memory_(), *args)

    def detach(self, *args: str):
        return self.apply(lambda t: t.detach(), *args)

    def detach_(self, *args: str):
        return self.apply_(lambda t: t.detach_(), *args)

    def requires_grad_(self, *args: str, requires_grad: bool = True):
        return self.apply_(lambda t: t.requires_grad_(requires_grad=requires_grad), *args)


class Storage(_TensorMethods):
    """The attribute store of one record: a mapping of names to values with attribute access.

    Names starting with "_" are private attributes of the store (not data); `_parent` is a weak reference to the
    record that owns it (for its `__cat_dim__` / `__inc__`)."""

    def __init__(self, _mapping: Mapping[str, Any] | None = None, _parent=None, **kwargs) -> None:
        self.__dict__["_mapping"] = {}
        if _parent is not None:
            self._parent = _parent
        for k, v in {**(_mapping or {}), **kwargs}.items():
            self[k] = v

    # ---------------------------------------------------------------- mapping protocol
    def __getattr__(self, key: str) -> Any:
        if key == "_mapping":  # during unpickling, before __setstate__
            self.__dict__["_mapping"] = {}
            return self.__dict__["_mapping"]
        try:
            return self._mapping[key]
        except KeyError:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{key}'") from None

    def __setattr__(self, key: str, value: Any) -> None:
        prop = getattr(type(self), key, None)
        if isinstance(prop, property) and prop.fset is not None:
            prop.fset(self, value)
        elif key == "_parent":
            self.__dict__["_parent"] = weakref.ref(value)
        elif key.startswith("_"):
            self.__dict__[key] = value
        else:
            self[key] = value

    def __delattr__(self, key: str) -> None:
        if key.startswith("_"):
            self.__dict__.pop(key, None)
        else:
            del self[key]

    def __getitem__(self, key: str) -> Any:
        return self._mapping[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._forget(key)
        if value is None:
            self._mapping.pop(key, None)
        else:
            self._mapping[key] = value

    def __delitem__(self, key: str) -> None:
        self._forget(key)
        self._mapping.pop(key, None)

    def _forget(self, key: str) -> None:
        cached = self.__dict__.get("_cached_attr")
        if cached is not None:
            for names in cached.values():
                names.discard(key)

    def __contains__(self, key: str) -> bool:
        return key in self._mapping

    def __iter__(self):
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)

    def keys(self, *args: str) -> KeysView:
        return KeysView(self._mapping, *args)

    def values(self, *args: str) -> ValuesView:
        return ValuesView(self._mapping, *args)

    def items(self, *args: str) -> ItemsView:
        return ItemsView(self._mapping, *args)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Storage):
            return NotImplemented
        return dict(self._mapping) == dict(other._mapping)

    __hash__ = None

    def apply(self, func: Callable, *args: str):
        """Replace every tensor (of the attributes `args`, or all) by func(tensor); returns self."""
        for key, value in self.items(*args):
            self._mapping[key] = _apply(value, func)
        return self

    def apply_(self, func: Callable, *args: str):
        """Call func on every tensor in place (of `args`, or all); returns self."""
        for _, value in self.items(*args):
            _apply(value, func)
        return self

    def get(self, key: str, default: Any = None) -> Any:
        return self._mapping.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._mapping)

    def to_namedtuple(self):
        return namedtuple("DataTuple", list(self._mapping))(*self._mapping.values())

    _key = None  # a homogeneous store has no node / edge type

    def _cat_dim(self, key: str, value: Any) -> Any:
        """The owning record's __cat_dim__ (the default rule for a store on its own)."""
        ref = self.__dict__.get("_parent")
        record = ref() if ref is not None else None
        return record.__cat_dim__(key, value, self) if record is not None else _default_cat_dim(key, value)

    def is_bipartite(self) -> bool:
        return False

    # ---------------------------------------------------------------- node / edge sizes (PyG's GlobalStorage)
    def _cat_size(self, key: str, value: Any) -> int:
        dim = self._cat_dim(key, value)
        dim = dim[0] if isinstance(dim, tuple) else dim
        return value.size(dim) if isinstance(value, torch.Tensor) else value.shape[dim]

    @property
    def num_nodes(self) -> int | None:
        """Number of nodes: `num_nodes` if set, else the rows of a node-level tensor (x, pos, ...), else (with a
        warning) inferred from the largest node index in `edge_index` / `face`."""
        return infer_num_nodes(self, self._cat_size)

    @num_nodes.setter
    def num_nodes(self, num_nodes: int | None) -> None:
        self["num_nodes"] = num_nodes

    @property
    def num_edges(self) -> int:
        """Number of edges: `num_edges` if set, else the size of an edge-level tensor (edge_index, ...)."""
        store = self
        if "num_edges" in store:
            return store["num_edges"]
        for pick in (lambda k: k in E_KEYS, lambda k: "edge" in k):
            for key, value in store.items():
                if pick(key) and _is_array(value):
                    return self._cat_size(key, value)
        for key in ("adj", "adj_t"):
            value = store.get(key)
            if _is_sparse(value):
                return value._nnz()
        return 0

    def size(self, dim: int | None = None):
        size = (self.num_nodes, self.num_nodes)
        return size if dim is None else size[dim]

    def _width(self, key: str) -> int:
        """Features per row of attribute `key` (1 for a vector, 0 when absent)."""
        v = self.get(key)
        if _is_array(v):
            return 1 if v.ndim == 1 else v.shape[-1]
        return 0

    @property
    def num_node_features(self) -> int:
        return self._width("x")

    @property
    def num_features(self) -> int:
        return self.num_node_features

    @property
    def num_edge_features(self) -> int:
        return self._width("edge_attr")

    # ---------------------------------------------------------------- node / edge attributes
    def _kind(self, key: str) -> AttrType:
        store = self
        cache = store.__dict__.setdefault("_cached_attr", {t: set() for t in AttrType})
        for kind, names in cache.items():
            if key in names:
                return kind
        value = store[key]
        N, E = self.num_nodes, self.num_edges
        if isinstance(value, (list, tuple)) or hasattr(value, "num_rows"):
            n = len(value) if isinstance(value, (list, tuple)) else value.num_rows
            kind = AttrType.NODE if n == N else AttrType.EDGE if n == E else AttrType.OTHER
        elif not _is_array(value) or value.ndim == 0:
            kind = AttrType.OTHER
        else:
            n = self._cat_size(key, value)
            if n == N and n == E:  # ambiguous: decided by the name
                kind = AttrType.EDGE if "edge" in key else AttrType.NODE
            else:
                kind = AttrType.NODE if n == N else AttrType.EDGE if n == E else AttrType.OTHER
        cache[kind].add(key)
        return kind

    def is_node_attr(self, key: str) -> bool:
        return self._kind(key) is AttrType.NODE

    def is_edge_attr(self, key: str) -> bool:
        return self._kind(key) is AttrType.EDGE

    def node_attrs(self) -> list[str]:
        return [k for k in self.keys() if self.is_node_attr(k)]

    def edge_attrs(self) -> list[str]:
        return [k for k in self.keys() if self.is_edge_attr(k)]

    # ---------------------------------------------------------------- copies and pickling
    def __copy__(self):
        out = type(self).__new__(type(self))
        for k, v in self.__dict__.items():
            if k != "_cached_attr":
                out.__dict__[k] = v
        out.__dict__["_mapping"] = dict(self._mapping)
        return out

    def __deepcopy__(self, memo):
        out = type(self).__new__(type(self))
        for k, v in self.__dict__.items():
            if k not in ("_parent", "_cached_attr"):
                out.__dict__[k] = copy.deepcopy(v, memo)
        if "_parent" in self.__dict__:
            out.__dict__["_parent"] = self.__dict__["_parent"]
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_parent", "_cached_attr")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return repr(self._mapping)


def _size_repr(key: Any, value: Any, indent: int = 0) -> str:
    """PyG's `key=<size>` notation: tensors by shape, strings quoted, sequences by length, dicts nested."""
    pad = " " * indent
    if isinstance(value, torch.Tensor) and value.dim() == 0:
        out = str(value.item())
    elif isinstance(value, torch.Tensor) and getattr(value, "is_nested", False):
        out = str(list(value.to_padded_tensor(padding=0.0).size()))
    elif isinstance(value, torch.Tensor):
        out = str(list(value.shape))
    elif _is_array(value):
        out = str(list(value.shape))
    elif isinstance(value, str):
        out = f"'{value}'"
    elif isinstance(value, Sequence):
        out = str([len(value)])
    elif isinstance(value, Mapping) and not value:
        out = "{}"
    elif isinstance(value, Mapping) and len(value) == 1 and not isinstance(next(iter(value.values())), Mapping):
        out = "{ " + ", ".join(_size_repr(k, v) for k, v in value.items()) + " }"
    elif isinstance(value, Mapping):
        out = "{\n" + ",\n".join(_size_repr(k, v, indent + 2) for k, v in value.items()) + ",\n" + pad + "}"
    else:
        out = str(value)
    return f"{pad}{str(key).replace(chr(39), '')}={out}"


def _apply(value: Any, fn: Callable) -> Any:
    """fn on every tensor inside value (nested lists, tuples and dicts rebuilt); other values unchanged."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_apply(v, fn) for v in value))
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_apply(v, fn) for v in value]
    if isinstance(value, Mapping):
        return {k: _apply(v, fn) for k, v in value.items()}
    return value


def _default_cat_dim(key: str, value: Any) -> Any:
    if _is_sparse(value) and ("adj" in key or "edge_index" in key):
        return (0, 1)
    if "index" in key or key == "face":
        return -1
    return 0


def _warn_deprecated(name: str, details: str) -> None:
    warnings.warn(f"'{name}' is deprecated, {details}", UserWarning, stacklevel=3)


def _attribute(key: str) -> property:
    """A common attribute: None when absent (PyG reads e.g. `data.edge_attr` without checking it exists)."""

    def get(self):
        return self._store.get(key)

    def set(self, value):
        self._store[key] = value

    return property(get, set, doc=f"The {key!r} attribute, or None.")


class Data(_TensorMethods):
    """One graph's attributes (see the module docstring). `Data(x=, edge_index=, edge_attr=, y=, pos=, time=,
    **any)`; every keyword becomes an attribute."""

    def __init__(self, x=None, edge_index=None, edge_attr=None, y=None, pos=None, time=None, **kwargs) -> None:
        self.__dict__["_store"] = Storage(_parent=self)
        for key, value in (("x", x), ("edge_index", edge_index), ("edge_attr", edge_attr), ("y", y), ("pos", pos),
                           ("time", time), *kwargs.items()):
            if value is not None:
                setattr(self, key, value)

    # ---------------------------------------------------------------- attribute access
    x = _attribute("x")
    edge_index = _attribute("edge_index")
    edge_weight = _attribute("edge_weight")
    edge_attr = _attribute("edge_attr")
    y = _attribute("y")
    pos = _attribute("pos")
    batch = _attribute("batch")
    time = _attribute("time")
    face = _attribute("face")

    def __getattr__(self, key: str) -> Any:
        if "_store" not in self.__dict__:
            raise AttributeError(key)
        return getattr(self._store, key)

    def __setattr__(self, key: str, value: Any) -> None:
        prop = getattr(type(self), key, None)
        if isinstance(prop, property) and prop.fset is not None:
            prop.fset(self, value)
        else:
            setattr(self._store, key, value)

    def __delattr__(self, key: str) -> None:
        delattr(self._store, key)

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value) if not key.startswith("_") else self._store.__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if key in self._store:
            del self._store[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(key, default)

    def keys(self) -> list[str]:
        return list(self._store.keys())

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: str) -> bool:
        return key in self._store

    def __iter__(self):
        return iter(self._store.items())

    def __call__(self, *keys: str):
        """Iterate over (key, value) pairs, only those of `keys` when given."""
        yield from self._store.items(*keys)

    @property
    def stores(self) -> list[Storage]:
        return [self._store]

    def stores_as(self, data):
        """This record (a homogeneous record has one store, whatever `data` has)."""
        return self

    @property
    def node_stores(self) -> list[Storage]:
        return [self._store]

    @property
    def edge_stores(self) -> list[Storage]:
        return [self._store]

    @property
    def num_node_types(self) -> int:
        return 1

    @property
    def num_edge_types(self) -> int:
        return 1

    def to_dict(self) -> dict[str, Any]:
        return self._store.to_dict()

    def to_namedtuple(self):
        return self._store.to_namedtuple()

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]):
        return cls(**mapping)

    def update(self, data):
        """Set every attribute of `data` (a record or a dict) on this one; returns self."""
        for key, value in (data.items() if isinstance(data, Mapping) else data):
            self[key] = value
        return self

    # ---------------------------------------------------------------- copies and pickling
    def __copy__(self):
        out = type(self).__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.__dict__["_store"] = copy.copy(self._store)
        out._store._parent = out
        return out

    def __deepcopy__(self, memo):
        out = type(self).__new__(type(self))
        memo[id(self)] = out
        for key, value in self.__dict__.items():
            out.__dict__[key] = copy.deepcopy(value, memo)
        out._store._parent = out
        return out

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._store._parent = self

    def __repr__(self) -> str:
        items = self._store.items()
        if any(isinstance(v, Mapping) for _, v in items):
            return f"{type(self).__name__}(\n" + ",\n".join(_size_repr(k, v, 2) for k, v in items) + "\n)"
        return f"{type(self).__name__}(" + ", ".join(_size_repr(k, v) for k, v in items) + ")"

    # ---------------------------------------------------------------- batching rules
    def __cat_dim__(self, key: str, value: Any, *args, **kwargs) -> Any:
        """Dimension along which `key` is concatenated when batching: -1 for `*index` / `face` (edge lists),
        (0, 1) (block diagonal) for sparse adjacency matrices, else 0."""
        return _default_cat_dim(key, value)

    def __inc__(self, key: str, value: Any, *args, **kwargs) -> Any:
        """Offset added to `key` of each record after the first when batching: the node count for edge lists
        (`*index`, `face`), the number of graphs for `*batch` vectors, else 0."""
        if "batch" in key and isinstance(value, torch.Tensor):
            dim_size = getattr(value, "get_dim_size", None)
            return dim_size() if dim_size is not None else int(value.max()) + 1
        if "index" in key or key == "face":
            n = self.num_nodes
            if n is None:
                raise RuntimeError(
                    f"Unable to infer 'num_nodes' from the attribute '{key}'. Please explicitly set 'num_nodes' as "
                    f"an attribute of 'data' to prevent this error"
                )
            return n
        return 0

    # ---------------------------------------------------------------- sizes (the store's)
    @property
    def num_nodes(self) -> int | None:
        """Number of nodes: `num_nodes` if set, else the rows of a node-level tensor (x, pos, ...), else (with a
        warning) inferred from the largest node index in `edge_index` / `face`."""
        return self._store.num_nodes

    @num_nodes.setter
    def num_nodes(self, num_nodes: int | None) -> None:
        self._store.num_nodes = num_nodes

    @property
    def num_edges(self) -> int:
        return self._store.num_edges

    def size(self, dim: int | None = None):
        return self._store.size(dim)

    @property
    def num_node_features(self) -> int:
        return self._store.num_node_features

    @property
    def num_features(self) -> int:
        return self._store.num_features

    @property
    def num_edge_features(self) -> int:
        return self._store.num_edge_features

    @property
    def num_faces(self) -> int | None:
        _warn_deprecated("num_faces", "use 'data.face.size(-1)' instead")
        face = self._store.get("face")
        return face.size(self.__cat_dim__("face", face)) if isinstance(face, torch.Tensor) else None

    def is_node_attr(self, key: str) -> bool:
        return self._store.is_node_attr(key)

    def is_edge_attr(self, key: str) -> bool:
        return self._store.is_edge_attr(key)

    def node_attrs(self) -> list[str]:
        return self._store.node_attrs()

    def edge_attrs(self) -> list[str]:
        return self._store.edge_attrs()

    # ---------------------------------------------------------------- tensors
    def apply(self, func: Callable, *args: str):
        """Replace every tensor (of the attributes `args`, or all) by func(tensor); returns self."""
        for store in self.stores:
            store.apply(func, *args)
        return self

    def apply_(self, func: Callable, *args: str):
        """Call func on every tensor in place (of `args`, or all); returns self."""
        for store in self.stores:
            store.apply_(func, *args)
        return self

    @property
    def is_cuda(self) -> bool:
        return any(isinstance(v, torch.Tensor) and v.is_cuda for v in self._store.values())

    # ---------------------------------------------------------------- graph properties
    def validate(self, raise_on_error: bool = True) -> bool:
        """Check that num_nodes is known and edge_index is a (2, E) int64 tensor of indices in [0, num_nodes)."""
        problems = []
        N = self.num_nodes
        if N is None:
            problems.append(f"'num_nodes' is undefined in '{type(self).__name__}'")
        ei = self._store.get("edge_index")
        if isinstance(ei, torch.Tensor):
            if ei.dim() != 2 or ei.size(0) != 2:
                problems.append(f"'edge_index' needs to be of shape [2, num_edges] (found {tuple(ei.shape)})")
            elif ei.dtype != torch.long:
                problems.append(f"'edge_index' needs to be of type 'torch.long' (found {ei.dtype})")
            elif ei.numel() and (int(ei.min()) < 0 or (N is not None and int(ei.max()) >= N)):
                problems.append(f"'edge_index' contains indices outside [0, {N})")
        for msg in problems:
            if raise_on_error:
                raise ValueError(msg)
            warnings.warn(msg, stacklevel=2)
        return not problems

    def _edge_index(self) -> torch.Tensor:
        return self._store["edge_index"]

    def has_isolated_nodes(self) -> bool:
        from .ops.edge_utils import contains_isolated_nodes

        return "edge_index" in self and contains_isolated_nodes(self._edge_index(), self.num_nodes)

    def has_self_loops(self) -> bool:
        from .ops.edge_utils import contains_self_loops

        return "edge_index" in self and contains_self_loops(self._edge_index())

    def is_undirected(self) -> bool:
        from .ops.edge_utils import is_undirected

        return "edge_index" not in self or is_undirected(self._edge_index(), num_nodes=self.num_nodes)

    def is_directed(self) -> bool:
        return not self.is_undirected()

    def _edge_attr_keys(self) -> list[str]:
        return [k for k in self.keys() if k != "edge_index" and self.is_edge_attr(k)]

    def is_coalesced(self) -> bool:
        from .ops.edge_utils import coalesce

        if "edge_index" not in self:
            return True
        ei = self._edge_index()
        out = coalesce(ei, None, self.num_nodes)[0]
        return out.shape == ei.shape and torch.equal(out, ei)

    def _with_edges(self, fn):
        """A copy whose edge_index and edge attributes are fn(edge_index, [attributes]) -> (edge_index, [...])."""
        out = copy.copy(self)
        if "edge_index" in out:
            keys = out._edge_attr_keys()
            ei, attrs = fn(out._edge_index(), [out[k] for k in keys])
            out.edge_index = ei
            for k, v in zip(keys, attrs):
                out[k] = v
        return out

    def coalesce(self, reduce: str = "sum"):
        """A copy with edges sorted by (row, col) and duplicates merged (edge attributes reduced)."""
        from .ops.edge_utils import coalesce

        return self._with_edges(lambda ei, attrs: coalesce(ei, attrs, self.num_nodes, reduce))

    def is_sorted(self, sort_by_row: bool = True) -> bool:
        if "edge_index" not in self:
            return True
        idx = self._edge_index()[0 if sort_by_row else 1]
        return bool((idx[1:] >= idx[:-1]).all())

    def sort(self, sort_by_row: bool = True):
        """A copy with edges sorted by (row, col) (or (col, row)), edge attributes permuted alike."""
        from .ops.edge_utils import sort_edge_index

        return self._with_edges(lambda ei, attrs: sort_edge_index(ei, attrs, self.num_nodes, sort_by_row))

    def generate_ids(self) -> None:
        """Add n_id (arange(num_nodes)) and e_id (arange(num_edges))."""
        self.n_id = torch.arange(self.num_nodes)
        self.e_id = torch.arange(self.num_edges)

    # ---------------------------------------------------------------- selections
    def _select_rows(self, keys: list[str], index: torch.Tensor) -> None:
        """Index the attributes `keys` along their cat dim (index: int64 positions or a bool mask)."""
        positions = index.nonzero().view(-1) if index.dtype == torch.bool else index
        for key in keys:
            value = self._store[key]
            if isinstance(value, torch.Tensor):
                self._store[key] = value.index_select(self.__cat_dim__(key, value), positions.to(value.device))
            elif _is_array(value):
                import numpy as np

                self._store[key] = np.take(value, positions.cpu().numpy(), axis=self.__cat_dim__(key, value))
            elif isinstance(value, (list, tuple)):
                self._store[key] = [value[i] for i in positions.tolist()]

    def subgraph(self, subset: torch.Tensor):
        """The subgraph induced by `subset` (node positions or a bool mask), nodes renumbered in subset order;
        node attributes are selected, edge attributes follow the kept edges, graph attributes are kept."""
        out = copy.copy(self)
        N = self.num_nodes
        node_keys = [k for k in self.keys() if k != "num_nodes" and self.is_node_attr(k)]
        edge_keys = self._edge_attr_keys()
        if subset.dtype == torch.bool:
            subset = subset.nonzero().view(-1)
        if "edge_index" in self:
            ei = self._edge_index()
            new_id = torch.full((N,), -1, dtype=torch.long, device=ei.device)
            new_id[subset.to(ei.device)] = torch.arange(subset.numel(), device=ei.device)
            keep = (new_id[ei[0]] >= 0) & (new_id[ei[1]] >= 0)
            out.edge_index = new_id[ei[:, keep]]
            out._select_rows(edge_keys, keep)
        out._select_rows(node_keys, subset)
        if "num_nodes" in self:
            out.num_nodes = int(subset.numel())
        return out

    def edge_subgraph(self, subset: torch.Tensor):
        """The same nodes with only the edges `subset` (positions or a bool mask)."""
        out = copy.copy(self)
        out._select_rows([k for k in self.keys() if self.is_edge_attr(k)], subset)
        return out

    def connected_components(self) -> list:
        """One subgraph per connected component (edges taken as undirected), ordered by their first node."""
        self._parents, self._ranks = {}, {}
        N = self.num_nodes
        if "edge_index" in self:
            for a, b in self._edge_index().t().tolist():
                self._union(a, b)
        groups: dict[int, list[int]] = {}
        for node in range(N):
            groups.setdefault(self._find_parent(node), []).append(node)
        return [self.subgraph(torch.tensor(nodes)) for nodes in groups.values()]

    def _find_parent(self, node: int) -> int:
        """Root of node's set in the union-find forest (unseen nodes start a singleton set; paths compressed)."""
        parents, ranks = self._parents, self._ranks
        path = []
        while True:
            if node not in parents:
                parents[node], ranks[node] = node, 0
            if parents[node] == node:
                break
            path.append(node)
            node = parents[node]
        for n in path:
            parents[n] = node
        return node

    def _union(self, a: int, b: int) -> None:
        """Merge the sets of a and b (union by rank; ties attach b's root under a's)."""
        ra, rb = self._find_parent(a), self._find_parent(b)
        if ra == rb:
            return
        ranks = self._ranks
        if ranks[ra] < ranks[rb]:
            self._parents[ra] = rb
        else:
            self._parents[rb] = ra
            if ranks[ra] == ranks[rb]:
                ranks[ra] += 1

    # ---------------------------------------------------------------- temporal graphs
    def _time_keys(self, attr: str) -> list[str]:
        if self.is_node_attr(attr):
            return self.node_attrs()
        if self.is_edge_attr(attr):
            return self.edge_attrs()
        return []

    def is_sorted_by_time(self) -> bool:
        t = self._store.get("time")
        return not isinstance(t, torch.Tensor) or bool((t[:-1] <= t[1:]).all())

    def sort_by_time(self):
        out = copy.copy(self)
        if "time" in out and not out.is_sorted_by_time():
            out._select_rows(out._time_keys("time"), torch.argsort(out.time, stable=True))
        return out

    def snapshot(self, start_time, end_time, attr: str = "time"):
        """A copy with the nodes or edges whose `attr` lies in [start_time, end_time]."""
        out = copy.copy(self)
        if attr in out:
            t = out[attr]
            mask = (t >= start_time) & (t <= end_time)
            node_level = out.is_node_attr(attr)
            out._select_rows(out._time_keys(attr), mask)
            if node_level and "num_nodes" in out:
                out.num_nodes = int(mask.sum())
        return out

    def up_to(self, end_time):
        """A copy with the nodes or edges whose time is <= end_time."""
        out = copy.copy(self)
        if "time" in out:
            t = out.time
            mask = t <= end_time
            node_level = out.is_node_attr("time")
            out._select_rows(out._time_keys("time"), mask)
            if node_level and "num_nodes" in out:
                out.num_nodes = int(mask.sum())
        return out

    def concat(self, data):
        """A copy with `data`'s nodes and edges appended (attributes concatenated along their cat dim, indices
        not shifted: PyG's `concat`); num_nodes adds up."""
        out = copy.copy(self)
        for key, value in self._store.items():
            if key == "num_nodes":
                out.num_nodes = value + data.num_nodes
            elif isinstance(value, torch.Tensor) and (self.is_node_attr(key) or self.is_edge_attr(key)):
                out._store[key] = torch.cat([value, data[key]], dim=self.__cat_dim__(key, value))
        return out

    # ---------------------------------------------------------------- meshgraph
    def adjacency(self, directed: bool = True, index_dtype: torch.dtype | None = None, self_loops: bool = False):
        """The CSR `Adjacency` of `edge_index` over `num_nodes` nodes, built and validated once, then cached on the
        edge tensor (dropped when that tensor changes in place)."""
        from ._utils import check_index_range, check_index_tensor
        from .ops.adjacency import build_adjacency, cached_on

        ei = self._store.get("edge_index")
        if ei is None:
            ei = torch.zeros((2, 0), dtype=torch.long)
        check_index_tensor(ei, "edge_index", dim=2, shape=(2, None))
        N = self.num_nodes or 0

        def build():
            check_index_range(ei, "edge_index", N, once=True)
            return build_adjacency(ei, N, directed=directed, index_dtype=index_dtype, self_loops=self_loops)

        return cached_on(ei, ("record", N, directed, index_dtype, self_loops), build)

    def _graph_counts(self) -> tuple[list[int], list[int]]:
        """Node and edge count of each graph (one graph for a Data)."""
        return [self.num_nodes or 0], [self.num_edges]

    def graph_batch(self):
        """A GraphBatch over this record's tensors (no copy): node-level tensors become vertex features (`pos`
        the positions), edge-level ones edge features, `face` (3, F) the faces."""
        from .graph import POS, GraphBatch

        node_counts, edge_counts = self._graph_counts()
        ei = self._store.get("edge_index")
        if ei is None:
            ei = torch.zeros((2, 0), dtype=torch.long)
        device = ei.device
        face = self._store.get("face")
        faces = face.t().long() if isinstance(face, torch.Tensor) else torch.zeros((0, 3), dtype=torch.long, device=device)
        face_counts = self._face_counts() if isinstance(face, torch.Tensor) else [0] * len(node_counts)
        skip = {"edge_index", "face", "batch", "ptr", "num_nodes"}
        vfeats, efeats = {}, {}
        for key, value in self._store.items():
            if key in skip or not isinstance(value, torch.Tensor) or value.layout != torch.strided:
                continue
            if self.is_node_attr(key) and self.__cat_dim__(key, value) == 0:
                if key == POS and not (value.dim() == 2 and value.is_floating_point()):
                    continue
                vfeats[key] = value
            elif self.is_edge_attr(key) and self.__cat_dim__(key, value) == 0:
                efeats[key] = value
        return GraphBatch.from_packed(
            node_counts, edge_index=ei, num_edges=edge_counts, faces=faces, num_faces=face_counts,
            vertex_features=vfeats, edge_features=efeats,
        )

    def _face_counts(self) -> list[int]:
        return [int(self._store["face"].shape[-1])]


# ---------------------------------------------------------------------- batches

_BATCH_CLASSES: dict[type, type] = {}


def _batch_class(data_cls: type) -> type:
    """`<Name>Batch`: a Batch that also inherits data_cls's batching rules (one class per data class)."""
    if issubclass(data_cls, Batch):
        return data_cls
    if not issubclass(data_cls, Data):  # another library's records (PyG's Data): batched into ours
        data_cls = Data
    cls = _BATCH_CLASSES.get(data_cls)
    if cls is None:
        bases = (Batch,) if data_cls is Data else (Batch, data_cls)
        cls = type(f"{data_cls.__name__}Batch", bases, {"_data_cls": data_cls, "__module__": __name__})
        _BATCH_CLASSES[data_cls] = cls
    return cls


def _rebuild_batch(data_cls: type, state: dict):
    cls = _batch_class(data_cls)
    out = cls.__new__(cls)
    out.__setstate__(state)
    return out


def _cumsum(sizes: list[int], device=None) -> torch.Tensor:
    """(n + 1,) int64 offsets of consecutive blocks of the given sizes."""
    return offsets_from_counts(torch.as_tensor(sizes, dtype=torch.long, device=device))


class Batch(Data):
    """Records collated into one (see the module docstring): `Batch.from_data_list(data_list)`; `batch`, `ptr`,
    `num_graphs`, `batch[i]` / `get_example(i)`, `batch[1:3]` / `index_select(...)` and `to_data_list()`."""

    _data_cls: type = Data

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)

    @classmethod
    def from_data_list(cls, data_list: Sequence[Data], follow_batch: Sequence[str] | None = None,
                       exclude_keys: Sequence[str] | None = None):
        """Collate records (all of one class). `follow_batch` names attributes that get their own
        `<key>_batch` / `<key>_ptr` vectors; `exclude_keys` are left out."""
        data_list = list(data_list)
        if not data_list:
            raise ValueError("from_data_list needs at least one record")
        first = data_list[0]
        out = _batch_class(type(first))()
        follow, exclude = set(follow_batch or ()), set(exclude_keys or ())
        add_batch = not isinstance(first, Batch)
        keys: list[str] = []
        for d in data_list:
            keys.extend(k for k in d._store.keys() if k not in keys)  # store order (PyG's keys() is a set)
        slices, incs, meta = {}, {}, {}
        stores = [d._store for d in data_list]
        for key in keys:
            if key in exclude or (add_batch and key == "ptr"):
                continue
            values = [s[key] for s in stores]
            if key == "num_nodes":
                out.__dict__["_num_nodes"] = list(values)
                out._store["num_nodes"] = sum(values)
                continue
            value, slc, inc = _collate(key, values, data_list)
            if _index_meta(values[0]) is not None:  # index subclasses: batch-level metadata, per-record kept
                value = _batched_index(value, values, inc is not None)
                meta[key] = [_index_meta(v) for v in values]
            out._store[key] = value
            slices[key], incs[key] = slc, inc
            if key in follow:
                out._store[f"{key}_batch"], out._store[f"{key}_ptr"] = _follow(slc, _first_device(out))
        if add_batch:
            counts = [d.num_nodes for d in data_list]
            if all(c is not None for c in counts):
                device = _first_device(out)
                out._store["batch"] = index_from_counts(torch.tensor(counts, device=device), sum(counts))
                out._store["ptr"] = _cumsum(counts, device)
        out.__dict__["_slice_dict"] = slices
        out.__dict__["_inc_dict"] = incs
        out.__dict__["_index_meta"] = meta
        out.__dict__["_num_graphs"] = len(data_list)
        return out

    def __reduce_ex__(self, protocol):
        if _BATCH_CLASSES.get(self._data_cls) is type(self):
            return _rebuild_batch, (self._data_cls, self.__getstate__())
        return super().__reduce_ex__(protocol)

    @property
    def num_graphs(self) -> int:
        if "_num_graphs" in self.__dict__:
            return self.__dict__["_num_graphs"]
        if "ptr" in self:
            return self.ptr.numel() - 1
        if "batch" in self:
            return int(self.batch.max()) + 1
        raise ValueError("Can not infer the number of graphs")

    @property
    def batch_size(self) -> int:
        return self.num_graphs

    def __len__(self) -> int:
        return self.num_graphs

    def get_example(self, idx: int) -> Data:
        """The idx-th record, as it was before batching (indices shifted back, attributes sliced out)."""
        if "_slice_dict" not in self.__dict__:
            raise RuntimeError("Cannot reconstruct 'Data' object from 'Batch' because 'Batch' was not created via "
                               "'Batch.from_data_list()'")
        n = self.num_graphs
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for a batch of {n} graphs")
        idx %= n
        out = self._data_cls.__new__(self._data_cls)
        out.__dict__["_store"] = Storage(_parent=out)
        slices, incs = self._slice_dict, self._inc_dict
        for key, value in self._store.items():
            if key == "num_nodes" and "_num_nodes" in self.__dict__:
                out._store["num_nodes"] = self._num_nodes[idx]
            elif key in slices:
                piece = _separate(self, key, value, idx, slices[key], incs[key])
                meta = self.__dict__.get("_index_meta", {}).get(key)
                out._store[key] = piece if meta is None else _with_index_meta(piece, meta[idx])
        return out

    def index_select(self, idx) -> list[Data]:
        """The records picked by a slice, a list / int tensor / numpy array of positions, or a bool mask."""
        n = self.num_graphs
        if isinstance(idx, slice):
            picks = list(range(n))[idx]
        else:
            if not isinstance(idx, torch.Tensor):
                idx = torch.as_tensor(idx)
            if idx.dtype == torch.bool:
                picks = idx.nonzero().view(-1).tolist()
            elif not idx.dtype.is_floating_point:
                picks = idx.view(-1).tolist()
            else:
                raise IndexError(f"Only slices (':'), list, tuples, torch.tensor and np.ndarray of dtype long or "
                                 f"bool are valid indices (got '{idx.dtype}')")
        return [self.get_example(i) for i in picks]

    def __getitem__(self, idx):
        if isinstance(idx, str):
            return super().__getitem__(idx)
        if isinstance(idx, int) and not isinstance(idx, bool):
            return self.get_example(idx)
        if isinstance(idx, torch.Tensor) and idx.dim() == 0 and not idx.dtype.is_floating_point and idx.dtype != torch.bool:
            return self.get_example(int(idx))
        if type(idx).__module__ == "numpy" and getattr(idx, "ndim", 1) == 0:
            return self.get_example(int(idx))
        return self.index_select(idx)

    def to_data_list(self) -> list[Data]:
        return [self.get_example(i) for i in range(self.num_graphs)]

    def _graph_counts(self) -> tuple[list[int], list[int]]:
        if "ptr" in self:
            node_counts = self.ptr.diff().tolist()
        else:
            node_counts = [self.num_nodes or 0]
        slc = self.__dict__.get("_slice_dict", {}).get("edge_index")
        edge_counts = slc.diff().tolist() if isinstance(slc, torch.Tensor) else [self.num_edges] + [0] * (len(node_counts) - 1)
        return node_counts, edge_counts

    def _face_counts(self) -> list[int]:
        slc = self.__dict__.get("_slice_dict", {}).get("face")
        if isinstance(slc, torch.Tensor):
            return slc.diff().tolist()
        return super()._face_counts() + [0] * (len(self._graph_counts()[0]) - 1)


def _first_device(record: Data):
    for v in record._store.values():
        if isinstance(v, torch.Tensor):
            return v.device
    return None


def _follow(slices, device=None):
    """`<key>_batch` / `<key>_ptr` of a collated attribute from its slices (nested like the value), on device."""
    if isinstance(slices, Mapping):
        pairs = {k: _follow(v, device) for k, v in slices.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    if isinstance(slices, list):
        pairs = [_follow(s, device) for s in slices]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    slices = slices.to(device)
    batch = index_from_offsets(slices, int(slices[-1]))
    return batch, slices


def _collate(key: str, values: list, data_list: list[Data]):
    """(collated value, slices, per-record offsets or None) of one attribute over the records."""
    elem = values[0]
    parent = data_list[0]
    if isinstance(elem, torch.Tensor) and getattr(elem, "is_nested", False):
        offsets = _offsets([d.__inc__(key, v, d._store) for d, v in zip(data_list, values)])
        if offsets is not None:
            values = [v + o for v, o in zip(values, offsets)]
        rows = [t for v in values for t in v.unbind()]
        return torch.nested.nested_tensor(rows), _cumsum([v.size(0) for v in values]), offsets
    if isinstance(elem, torch.Tensor) and not _is_sparse(elem):
        cat_dim = parent.__cat_dim__(key, elem, parent._store)
        offsets = _offsets([d.__inc__(key, v, d._store) for d, v in zip(data_list, values)])
        if cat_dim is None or elem.dim() == 0:
            values = [v.unsqueeze(0) for v in values]
            dim = 0
        else:
            dim = cat_dim % elem.dim()
        slices = _cumsum([v.shape[dim] for v in values])  # on the CPU: read back per example
        if offsets is not None:
            values = [v + (o.to(v.device) if isinstance(o, torch.Tensor) else o) for v, o in zip(values, offsets)]
        return torch.cat(values, dim=dim), slices, offsets
    if _is_sparse(elem):
        cat_dim = parent.__cat_dim__(key, elem, parent._store)
        if isinstance(cat_dim, tuple):  # block diagonal adjacency
            value = torch.block_diag(*[v.to_dense() for v in values]).to_sparse(layout=elem.layout)
            return value, _cumsum([v.shape[0] for v in values]), None
        value = torch.cat([v.to_sparse_coo() for v in values], dim=cat_dim)
        return value, _cumsum([v.shape[cat_dim] for v in values]), None
    if isinstance(elem, (int, float)) and not isinstance(elem, bool):
        return torch.tensor(values), torch.arange(len(values) + 1), None
    if isinstance(elem, Mapping):
        parts = {k: _collate(key, [v[k] for v in values], data_list) for k in elem}
        return ({k: p[0] for k, p in parts.items()}, {k: p[1] for k, p in parts.items()},
                {k: p[2] for k, p in parts.items()})
    if isinstance(elem, Sequence) and not isinstance(elem, str) and elem and isinstance(elem[0], torch.Tensor):
        parts = [_collate(key, [v[i] for v in values], data_list) for i in range(len(elem))]
        return [p[0] for p in parts], [p[1] for p in parts], [p[2] for p in parts]
    return list(values), torch.arange(len(values) + 1), None


def _is_index_like(t) -> bool:
    """A 1-D index tensor subclass with its dim size and sortedness (PyG's Index, duck-typed)."""
    return (isinstance(t, torch.Tensor) and type(t) is not torch.Tensor and hasattr(t, "dim_size")
            and hasattr(t, "is_sorted") and callable(getattr(t, "get_dim_size", None)))


def _index_meta(t):
    """The metadata an index subclass carries (its constructor's keywords), or None for anything else."""
    if is_edge_index_like(t):
        return {"sparse_size": t.sparse_size(), "sort_order": t.sort_order, "is_undirected": t.is_undirected}
    if _is_index_like(t):
        return {"dim_size": t.dim_size, "is_sorted": t.is_sorted}
    return None


def _with_index_meta(t: torch.Tensor, meta: dict) -> torch.Tensor:
    """t's values as the index subclass `type(t)` carrying `meta` (built through its public constructor)."""
    return type(t)(t.as_subclass(torch.Tensor), **meta)


def _batched_index(value: torch.Tensor, values: list, incremented: bool) -> torch.Tensor:
    """The collated index subclass with PyG's batch-level metadata: sizes as the concatenation gives them, and
    sorted (by row / by col for edge indices) only when the first record was and the whole concatenation is."""
    meta = _index_meta(value) if type(value) is type(values[0]) else None
    if meta is None:
        return value
    first, plain = values[0], value.as_subclass(torch.Tensor)
    if _is_index_like(value):
        meta["is_sorted"] = bool(incremented and first.is_sorted and (plain.diff() >= 0).all())
    else:
        meta["sort_order"] = None
        if incremented and first.sort_order == "row" and bool((plain[0].diff() >= 0).all()):
            meta["sort_order"] = "row"
        elif incremented and first.sort_order == "col" and bool((plain[1].diff() >= 0).all()):
            meta["sort_order"] = "col"
    return _with_index_meta(value, meta)


def _offsets(step: list):
    """Offset of each record (the sum of the increments of the records before it); None when all are 0."""
    if all(not isinstance(s, torch.Tensor) and s == 0 for s in step):
        return None
    acc, out = 0, []
    for s in step:
        out.append(acc)
        acc = acc + (s if isinstance(s, torch.Tensor) and s.dim() > 0 else int(s))
    return out


def _separate(batch: Batch, key: str, value: Any, idx: int, slices, inc):
    """Attribute `key` of record idx, cut out of the collated value."""
    if isinstance(value, Mapping):
        return {k: _separate(batch, key, v, idx, slices[k], inc[k]) for k, v in value.items()}
    if isinstance(value, list) and isinstance(slices, list):
        return [_separate(batch, key, v, idx, s, i) for v, s, i in zip(value, slices, inc)]
    if isinstance(value, torch.Tensor) and getattr(value, "is_nested", False):
        start, end = int(slices[idx]), int(slices[idx + 1])
        out = torch.nested.nested_tensor(list(value.unbind()[start:end]))
        return out - inc[idx] if inc is not None else out
    if isinstance(value, torch.Tensor):
        start, end = int(slices[idx]), int(slices[idx + 1])
        cat_dim = batch.__cat_dim__(key, value, batch._store)
        if _is_sparse(value):
            if isinstance(cat_dim, tuple):
                dense = value.to_dense()[start:end, start:end]
                return dense.to_sparse(layout=value.layout)
            return value.to_dense().narrow(cat_dim, start, end - start).to_sparse(layout=value.layout)
        dim = 0 if cat_dim is None else cat_dim % value.dim()
        out = value.narrow(dim, start, end - start)
        if inc is not None:
            offset = inc[idx]
            if isinstance(offset, torch.Tensor) or offset != 0:
                out = out - (offset.to(out.device) if isinstance(offset, torch.Tensor) else offset)
        if cat_dim is None:
            out = out.squeeze(0)
        return out
    return value[idx]


# ---------------------------------------------------------------------- networkx


def _networkx_value(value):
    """A value as networkx holds it (PyG's rule): a tensor as (nested) Python lists / numbers, others as they are."""
    return value.tolist() if isinstance(value, torch.Tensor) else value


def _rows(value) -> list:
    """value[i] as networkx holds it, for every i (a tensor converted once, not row by row)."""
    return value.tolist() if isinstance(value, torch.Tensor) else [_networkx_value(v) for v in value]


def to_networkx(data, node_attrs=None, edge_attrs=None, graph_attrs=None, to_undirected: bool | str | None = False,
                to_multi: bool = False, remove_self_loops: bool = False):
    """A networkx graph of a record (Data or HeteroGraph): nodes numbered 0..N-1 carrying `node_attrs`, one edge per
    column of edge_index carrying `edge_attrs` (each row as tensor.tolist() gives it), `graph_attrs` on G.graph.
    to_undirected=True gives an undirected graph (a later edge overwrites an earlier one between the same nodes),
    "upper" / "lower" keeps only edges with i <= j / i >= j; to_multi keeps parallel edges; remove_self_loops drops
    i -> i (not on bipartite edge types).

    A HeteroGraph's node types are numbered one after another (node_offsets, in node_types order); every node gets
    a `type` attribute (its node type) and every edge a `type` (its edge type triple), as PyG's. to_undirected is
    not supported for heterogeneous graphs (a ValueError, as PyG)."""
    import networkx as nx

    from .hetero import HeteroGraph

    hetero = isinstance(data, HeteroGraph)
    if to_undirected not in (None, False, True, "upper", "lower"):
        raise ValueError(f"to_undirected must be a bool, 'upper' or 'lower', got {to_undirected!r}")
    undirected = to_undirected is True or to_undirected in ("upper", "lower")
    if hetero and undirected:
        raise ValueError("'to_undirected' is not supported in 'to_networkx' for heterogeneous graphs")
    G = (nx.MultiGraph if to_multi else nx.Graph)() if undirected else (nx.MultiDiGraph if to_multi else nx.DiGraph)()
    for k in graph_attrs or []:
        G.graph[k] = _networkx_value(data[k])

    offsets, start = {}, 0
    for store in data.node_stores:
        offsets[getattr(store, "_key", None)] = start
        n = store.num_nodes
        if n is None:
            raise ValueError("data.num_nodes is unknown: set num_nodes or a node-level attribute")
        values = {k: _rows(store[k]) for k in (node_attrs or [])}
        for i in range(n):
            kwargs = {"type": store._key} if hetero else {}
            kwargs.update((k, v[i]) for k, v in values.items())
            G.add_node(start + i, **kwargs)
        start += n
    for store in data.edge_stores:
        ei = store.edge_index if "edge_index" in store else None
        if ei is None:
            continue
        key = getattr(store, "_key", None)
        src_off, dst_off = (offsets[key[0]], offsets[key[-1]]) if hetero else (0, 0)
        bipartite = hetero and key[0] != key[-1]
        values = {k: _rows(store[k]) for k in (edge_attrs or [])}
        for e, (u, v) in enumerate(ei.t().tolist()):
            if (to_undirected == "upper" and u > v) or (to_undirected == "lower" and u < v):
                continue
            if remove_self_loops and u == v and not bipartite:
                continue
            kwargs = {"type": key} if hetero else {}
            kwargs.update((k, vals[e]) for k, vals in values.items())
            G.add_edge(u + src_off, v + dst_off, **kwargs)
    return G


def from_networkx(G, group_node_attrs=None, group_edge_attrs=None) -> Data:
    """A record of a networkx graph: nodes renumbered 0.. in G's order, edge_index from G's (directed) edges in
    G's order, node / edge / graph attributes as tensors where they convert (lists otherwise; an edge attribute
    sharing a node attribute's name becomes `edge_<name>`). group_node_attrs / group_edge_attrs (a list of names,
    or `all`) concatenate attributes into `x` / `edge_attr`."""
    import networkx as nx

    G = G.to_directed() if not nx.is_directed(G) else G
    index = {node: i for i, node in enumerate(G.nodes())}
    edges = [(index[u], index[v]) for u, v in G.edges()]
    edge_index = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)

    values: dict[str, list] = {}
    node_keys = list(next(iter(G.nodes(data=True)))[-1].keys()) if G.number_of_nodes() else []
    edge_keys = list(next(iter(G.edges(data=True)))[-1].keys()) if G.number_of_edges() else []
    for _, feats in G.nodes(data=True):
        if set(feats) != set(node_keys):
            raise ValueError("Not all nodes contain the same attributes")
        for k, v in feats.items():
            values.setdefault(str(k), []).append(v)
    edge_names = {}
    for *_, feats in G.edges(data=True):
        if set(feats) != set(edge_keys):
            raise ValueError("Not all edges contain the same attributes")
        for k, v in feats.items():
            name = edge_names.setdefault(k, f"edge_{k}" if k in node_keys else str(k))
            values.setdefault(name, []).append(v)
    for k, v in G.graph.items():
        if k in ("node_default", "edge_default"):
            continue
        values[f"graph_{k}" if k in node_keys else str(k)] = v

    converted = {}
    for k, v in values.items():
        if isinstance(v, (list, tuple)) and v and isinstance(v[0], torch.Tensor):
            converted[k] = torch.stack(v, dim=0)
        else:
            try:
                converted[k] = torch.as_tensor(v)
            except (TypeError, ValueError, RuntimeError):
                converted[k] = v
    converted["edge_index"] = edge_index
    data = Data.from_dict(converted)

    def group(keys, names, target):
        if keys is None:
            return
        keys = [str(k) for k in names] if keys is all else list(keys)
        if target == "edge_attr":
            keys = [edge_names.get(k, k) for k in keys]
        parts = []
        for k in keys:
            t = data[k]
            parts.append(t.view(-1, 1) if t.dim() <= 1 else t)
            del data[k]
        data[target] = torch.cat(parts, dim=-1)

    group(group_node_attrs, node_keys, "x")
    group(group_edge_attrs, edge_keys, "edge_attr")
    if data.x is None and data.pos is None:
        data.num_nodes = G.number_of_nodes()
    return data


# ---------------------------------------------------------------------- trimesh


def to_trimesh(data: Data):
    """A trimesh.Trimesh of a record's `pos` (N, 3) and `face` (3, F) (no processing: vertex order kept)."""
    import trimesh

    return trimesh.Trimesh(vertices=data.pos.detach().cpu().numpy(), faces=data.face.detach().t().cpu().numpy(),
                           process=False)


def from_trimesh(mesh) -> Data:
    """A record with `pos` (float32) and `face` (3, F) int64 of a trimesh mesh."""
    pos = torch.from_numpy(mesh.vertices).to(torch.float)
    face = torch.from_numpy(mesh.faces).t().contiguous().long()
    return Data(pos=pos, face=face)


# --- hetero graphs (issue 15)
# HeteroGraph records (meshgraph/hetero.py) batch through the same entry point, and a homogeneous record with
# node_type / edge_type vectors converts back to one (PyG's Data.to_heterogeneous).
_from_data_list_homogeneous = Batch.from_data_list.__func__


def _from_data_list(cls, data_list, follow_batch=None, exclude_keys=None):
    from .hetero import HeteroBatch, HeteroGraph

    data_list = list(data_list)
    if data_list and isinstance(data_list[0], HeteroGraph):
        return HeteroBatch.from_data_list(data_list, follow_batch=follow_batch, exclude_keys=exclude_keys)
    return _from_data_list_homogeneous(cls, data_list, follow_batch=follow_batch, exclude_keys=exclude_keys)


_from_data_list.__doc__ = _from_data_list_homogeneous.__doc__ + " HeteroGraphs collate into a HeteroBatch."
Batch.from_data_list = classmethod(_from_data_list)


def _to_heterogeneous(self, node_type=None, edge_type=None, node_type_names=None, edge_type_names=None):
    """The HeteroGraph of this record: nodes split by `node_type`, edges by `edge_type` (default: the record's
    own vectors, e.g. from `HeteroGraph.to_homogeneous()`), named by `node_type_names` / `edge_type_names`."""
    from .hetero import from_homogeneous

    return from_homogeneous(self, node_type, edge_type, node_type_names, edge_type_names)


Data.to_heterogeneous = _to_heterogeneous
# --- end hetero graphs
