"""Feature and graph stores for graphs bigger than memory (PyG 2.8's remote-backend interface).

`FeatureStore` keys tensors by `TensorAttr(group_name, attr_name, index)`; `GraphStore` keys edge indices by
`EdgeAttr(edge_type, layout, is_sorted, size)` in COO, CSR or CSC and converts between layouts (`coo()`, `csr()`,
`csc()`). Subclasses implement the underscored methods, as in PyG, so a PyG backend written against these bases
works here. Two implementations:

- `InMemoryFeatureStore` / `InMemoryGraphStore`: tensors in a dict (PyG's testing stores, as a library class);
- `MemmapFeatureStore(root)`: every tensor is a raw file under `root` plus a JSON header (dtype, shape); a get with
  an index maps only the windows of the file the requested rows lie in (`numpy.memmap` with an offset), copies
  those rows out and unmaps, so a read costs the rows it returns and the process's address space never holds the
  whole file. Tensors can be streamed in with `put_tensor` on row blocks via `append=True`.

`NeighborLoader((feature_store, graph_store), ...)` samples on the graph store's CSC and gathers the batch's rows
from the feature store.
"""

from __future__ import annotations

import copy
import json
import os
from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
import torch

from .._utils import index_from_offsets, offsets_from_counts
from .sampler import CastMixin


class _FieldStatus(Enum):
    UNSET = None


@dataclass
class TensorAttr(CastMixin):
    """Names one tensor of a FeatureStore: group_name (node type / None), attr_name ('x'), index (rows)."""

    group_name: Any = _FieldStatus.UNSET
    attr_name: Any = _FieldStatus.UNSET
    index: Any = _FieldStatus.UNSET

    def is_set(self, key: str) -> bool:
        assert key in self.__dataclass_fields__
        return getattr(self, key) is not _FieldStatus.UNSET

    def is_fully_specified(self) -> bool:
        return all(self.is_set(key) for key in self.__dataclass_fields__)

    def update(self, attr: "TensorAttr") -> "TensorAttr":
        for key in self.__dataclass_fields__:
            if attr.is_set(key):
                setattr(self, key, getattr(attr, key))
        return self


class AttrView(CastMixin):
    """A partially specified TensorAttr bound to its store: fields fill in by attribute / item access in order;
    the view returns the tensor once every field is set, and `view()` reads with the unset fields as None."""

    def __init__(self, store: "FeatureStore", attr: TensorAttr):
        self.__dict__["_store"] = store
        self.__dict__["_attr"] = attr

    def __getattr__(self, key: Any):
        out = copy.copy(self)
        name = next((f for f in out._attr.__dataclass_fields__ if not out._attr.is_set(f)), None)
        if name is None:
            raise AttributeError(f"Cannot access attribute '{key}' on view '{out}' as all attributes have already "
                                 f"been set in this view")
        setattr(out._attr, name, key)
        if out._attr.is_fully_specified():
            return out._store.get_tensor(out._attr)
        return out

    def __getitem__(self, key: Any):
        return self.__getattr__(key)

    def __setattr__(self, key: str, value: Any) -> None:
        if key not in self._attr.__dataclass_fields__:
            raise ValueError(f"Attempted to set nonexistent attribute '{key}' (acceptable attributes are "
                             f"{self._attr.__dataclass_fields__})")
        setattr(self._attr, key, value)

    def __setitem__(self, key: str, value: Any) -> None:
        self.__setattr__(key, value)

    def __call__(self):
        attr = copy.copy(self._attr)
        for key in attr.__dataclass_fields__:
            if not attr.is_set(key):
                setattr(attr, key, None)
        return self._store.get_tensor(attr)

    def __copy__(self) -> "AttrView":
        out = type(self).__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.__dict__["_attr"] = copy.copy(self.__dict__["_attr"])
        return out

    def __eq__(self, obj: Any) -> bool:
        return isinstance(obj, AttrView) and self._store == obj._store and self._attr == obj._attr

    def __repr__(self) -> str:
        return f"{type(self).__name__}(store={self._store}, attr={self._attr})"


class FeatureStore(ABC):
    """Abstract feature store (PyG's interface): implement _put_tensor, _get_tensor, _remove_tensor,
    _get_tensor_size and get_all_tensor_attrs."""

    def __init__(self, tensor_attr_cls: Any | None = None):
        super().__init__()
        self.__dict__["_tensor_attr_cls"] = tensor_attr_cls or TensorAttr

    def _attr(self, *args, **kwargs) -> TensorAttr:
        return self._tensor_attr_cls.cast(*args, **kwargs)

    @staticmethod
    def _require_full(attr: TensorAttr) -> None:
        if not attr.is_fully_specified():
            raise ValueError(f"The input TensorAttr '{attr}' is not fully specified. Please fully-specify the input "
                             f"by specifying all 'UNSET' fields")

    @abstractmethod
    def _put_tensor(self, tensor, attr: TensorAttr) -> bool: ...

    def put_tensor(self, tensor, *args, **kwargs) -> bool:
        attr = self._attr(*args, **kwargs)
        self._require_full(attr)
        return self._put_tensor(tensor, attr)

    @abstractmethod
    def _get_tensor(self, attr: TensorAttr): ...

    def get_tensor(self, *args, convert_type: bool = False, **kwargs):
        attr = self._attr(*args, **kwargs)
        self._require_full(attr)
        tensor = self._get_tensor(attr)
        return self._to_type(attr, tensor) if convert_type else tensor

    def _multi_get_tensor(self, attrs: list[TensorAttr]) -> list:
        return [self._get_tensor(attr) for attr in attrs]

    def multi_get_tensor(self, attrs: list[TensorAttr], convert_type: bool = False) -> list:
        attrs = [self._tensor_attr_cls.cast(attr) for attr in attrs]
        bad = [attr for attr in attrs if not attr.is_fully_specified()]
        if bad:
            raise ValueError(f"The input TensorAttr(s) '{bad}' are not fully specified. Please fully-specify them "
                             f"by specifying all 'UNSET' fields")
        tensors = self._multi_get_tensor(attrs)
        return [self._to_type(a, t) for a, t in zip(attrs, tensors)] if convert_type else tensors

    @abstractmethod
    def _remove_tensor(self, attr: TensorAttr) -> bool: ...

    def remove_tensor(self, *args, **kwargs) -> bool:
        attr = self._attr(*args, **kwargs)
        self._require_full(attr)
        return self._remove_tensor(attr)

    def update_tensor(self, tensor, *args, **kwargs) -> bool:
        attr = self._attr(*args, **kwargs)
        self.remove_tensor(attr)
        return self.put_tensor(tensor, attr)

    @abstractmethod
    def _get_tensor_size(self, attr: TensorAttr): ...

    def get_tensor_size(self, *args, **kwargs):
        attr = self._attr(*args, **kwargs)
        if not attr.is_set("index"):
            attr.index = None
        return self._get_tensor_size(attr)

    @abstractmethod
    def get_all_tensor_attrs(self) -> list[TensorAttr]: ...

    def view(self, *args, **kwargs) -> AttrView:
        return AttrView(self, self._attr(*args, **kwargs))

    @staticmethod
    def _to_type(attr: TensorAttr, tensor):
        if isinstance(attr.index, torch.Tensor) and isinstance(tensor, np.ndarray):
            return torch.from_numpy(tensor)
        if isinstance(attr.index, np.ndarray) and isinstance(tensor, torch.Tensor):
            return tensor.detach().cpu().numpy()
        return tensor

    def __setitem__(self, key, value) -> None:
        key = self._tensor_attr_cls.cast(key)
        assert key.is_fully_specified()
        self.put_tensor(value, key)

    def __getitem__(self, key):
        attr = self._tensor_attr_cls.cast(key)
        return self.get_tensor(attr) if attr.is_fully_specified() else self.view(attr)

    def __delitem__(self, attr) -> None:
        attr = copy.copy(self._tensor_attr_cls.cast(attr))
        for key in attr.__dataclass_fields__:
            if not attr.is_set(key):
                setattr(attr, key, None)
        self.remove_tensor(attr)

    def __iter__(self):
        raise NotImplementedError

    def __eq__(self, obj: object) -> bool:
        return id(self) == id(obj)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EdgeLayout(Enum):
    COO = "coo"
    CSC = "csc"
    CSR = "csr"


@dataclass(init=False)
class EdgeAttr(CastMixin):
    """Names one edge index of a GraphStore: edge_type (None when homogeneous), layout, is_sorted, size."""

    edge_type: Any
    layout: EdgeLayout
    is_sorted: bool = False
    size: tuple[int, int] | None = None

    def __init__(self, edge_type, layout, is_sorted: bool = False, size=None):
        layout = EdgeLayout(layout)
        if layout == EdgeLayout.CSR and is_sorted:
            raise ValueError("Cannot create a 'CSR' edge attribute with option 'is_sorted=True'")
        if layout == EdgeLayout.CSC:
            is_sorted = True
        self.edge_type, self.layout, self.is_sorted, self.size = edge_type, layout, is_sorted, size


def ptr2index(ptr: torch.Tensor) -> torch.Tensor:
    """CSR offsets (N + 1,) -> the row of every entry (PyG's ptr2index)."""
    return index_from_offsets(ptr)


def index2ptr(index: torch.Tensor, size: int) -> torch.Tensor:
    """Sorted row of every entry -> CSR offsets (size + 1,) (PyG's index2ptr)."""
    return offsets_from_counts(torch.bincount(index.long(), minlength=size))


class GraphStore(ABC):
    """Abstract graph store (PyG's interface): implement _put_edge_index, _get_edge_index, _remove_edge_index and
    get_all_edge_attrs; coo() / csr() / csc() convert (and with store=True keep the conversion)."""

    def __init__(self, edge_attr_cls: Any | None = None):
        super().__init__()
        self.__dict__["_edge_attr_cls"] = edge_attr_cls or EdgeAttr

    @abstractmethod
    def _put_edge_index(self, edge_index, edge_attr: EdgeAttr) -> bool: ...

    def put_edge_index(self, edge_index, *args, **kwargs) -> bool:
        return self._put_edge_index(edge_index, self._edge_attr_cls.cast(*args, **kwargs))

    @abstractmethod
    def _get_edge_index(self, edge_attr: EdgeAttr): ...

    def get_edge_index(self, *args, **kwargs):
        edge_attr = self._edge_attr_cls.cast(*args, **kwargs)
        edge_index = self._get_edge_index(edge_attr)
        if edge_index is None:
            raise KeyError(f"'edge_index' for '{edge_attr}' not found")
        return edge_index

    @abstractmethod
    def _remove_edge_index(self, edge_attr: EdgeAttr) -> bool: ...

    def remove_edge_index(self, *args, **kwargs) -> bool:
        return self._remove_edge_index(self._edge_attr_cls.cast(*args, **kwargs))

    @abstractmethod
    def get_all_edge_attrs(self) -> list[EdgeAttr]: ...

    def coo(self, edge_types=None, store: bool = False):
        return self._edges_to_layout(EdgeLayout.COO, edge_types, store)

    def csr(self, edge_types=None, store: bool = False):
        return self._edges_to_layout(EdgeLayout.CSR, edge_types, store)

    def csc(self, edge_types=None, store: bool = False):
        return self._edges_to_layout(EdgeLayout.CSC, edge_types, store)

    def __setitem__(self, key, value) -> None:
        self.put_edge_index(value, key)

    def __getitem__(self, key):
        return self.get_edge_index(key)

    def __delitem__(self, key):
        return self.remove_edge_index(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _edge_to_layout(self, attr: EdgeAttr, layout: EdgeLayout, store: bool = False):
        (row, col), perm = self.get_edge_index(attr), None
        if layout == EdgeLayout.COO:
            if attr.layout == EdgeLayout.CSR:
                row = ptr2index(row)
            elif attr.layout == EdgeLayout.CSC:
                col = ptr2index(col)
        elif layout == EdgeLayout.CSR:
            if attr.layout == EdgeLayout.CSC:
                col = ptr2index(col)
            if attr.layout != EdgeLayout.CSR:
                num_rows = attr.size[0] if attr.size is not None else int(row.max()) + 1
                row, perm = row.sort(stable=True)
                col = col[perm]
                row = index2ptr(row, num_rows)
        else:
            if attr.layout == EdgeLayout.CSR:
                row = ptr2index(row)
            if attr.layout != EdgeLayout.CSC:
                if getattr(self, "meta", {}).get("is_hetero", False) or attr.size is None:
                    num_cols = int(col.max()) + 1
                else:
                    num_cols = attr.size[1]
                if not attr.is_sorted:
                    col, perm = col.sort(stable=True)
                    row = row[perm]
                col = index2ptr(col, num_cols)
        if attr.layout != layout and store:
            attr = copy.copy(attr)
            attr.layout = layout
            if perm is not None:
                attr.is_sorted = False
            self.put_edge_index((row, col), attr)
        return row, col, perm

    def _edges_to_layout(self, layout: EdgeLayout, edge_types=None, store: bool = False):
        edge_attrs = self.get_all_edge_attrs()
        if hasattr(self, "meta"):
            is_hetero = self.meta.get("is_hetero", False)
        else:
            is_hetero = all(attr.edge_type is not None for attr in edge_attrs)
        if not is_hetero:
            return self._edge_to_layout(edge_attrs[0], layout, store)
        by_type: dict = defaultdict(list)
        for attr in edge_attrs:
            by_type[attr.edge_type].append(attr)
        if edge_types is not None:
            for edge_type in edge_types:
                if edge_type not in by_type:
                    raise ValueError(f"The 'edge_index' of type '{edge_type}' was not found in the graph store.")
            by_type = {k: v for k, v in by_type.items() if k in edge_types}
        rows, cols, perms = {}, {}, {}
        for edge_type, attrs in by_type.items():
            layouts = [a.layout for a in attrs]
            for want in (layout, EdgeLayout.COO, EdgeLayout.CSC, EdgeLayout.CSR):
                if want in layouts:
                    attr = attrs[layouts.index(want)]
                    break
            rows[edge_type], cols[edge_type], perms[edge_type] = self._edge_to_layout(attr, layout, store)
        return rows, cols, perms


def _key(attr) -> tuple:
    return (attr.group_name, attr.attr_name)


def _select(tensor, index):
    if index is None:
        return tensor
    return tensor[index]


class InMemoryFeatureStore(FeatureStore):
    """Tensors held in a dict keyed by (group_name, attr_name); a get with an index returns those rows."""

    def __init__(self):
        super().__init__()
        self.store: dict = {}

    def _put_tensor(self, tensor, attr: TensorAttr) -> bool:
        index = attr.index
        if index is None or (isinstance(index, slice) and index == slice(None)):
            self.store[_key(attr)] = tensor
            return True
        if _key(attr) not in self.store:
            raise KeyError(f"cannot write rows {index} of {_key(attr)}: put the whole tensor first")
        self.store[_key(attr)][index] = tensor
        return True

    def _get_tensor(self, attr: TensorAttr):
        tensor = self.store.get(_key(attr))
        if tensor is None:
            return None
        return _select(tensor, attr.index)

    def _remove_tensor(self, attr: TensorAttr) -> bool:
        return self.store.pop(_key(attr), None) is not None

    def _get_tensor_size(self, attr: TensorAttr):
        tensor = self._get_tensor(attr)
        return tuple(tensor.shape) if tensor is not None else None

    def get_all_tensor_attrs(self) -> list[TensorAttr]:
        return [self._tensor_attr_cls.cast(*key) for key in self.store]


class InMemoryGraphStore(GraphStore):
    """Edge indices held in a dict keyed by (edge_type, layout)."""

    def __init__(self):
        super().__init__()
        self.store: dict = {}

    @staticmethod
    def key(attr: EdgeAttr) -> tuple:
        return (attr.edge_type, attr.layout.value)

    def _put_edge_index(self, edge_index, edge_attr: EdgeAttr) -> bool:
        self.store[self.key(edge_attr)] = (edge_index, edge_attr)
        return True

    def _get_edge_index(self, edge_attr: EdgeAttr):
        entry = self.store.get(self.key(edge_attr))
        return entry[0] if entry is not None else None

    def _remove_edge_index(self, edge_attr: EdgeAttr) -> bool:
        return self.store.pop(self.key(edge_attr), None) is not None

    def get_all_edge_attrs(self) -> list[EdgeAttr]:
        return [attr for _, attr in self.store.values()]


_WINDOW = 32 << 20  # bytes mapped at a time by MemmapFeatureStore reads


class MemmapFeatureStore(FeatureStore):
    """Tensors on disk under `root` (see the module docstring), read on demand.

    Files: `<group>.<attr>.bin` (raw C-order values) and `<group>.<attr>.json` (dtype, shape). `window` bounds the
    bytes mapped at once by a read.
    """

    def __init__(self, root: str | os.PathLike, window: int = _WINDOW):
        super().__init__()
        self.root = os.fspath(root)
        self.window = int(window)
        os.makedirs(self.root, exist_ok=True)

    def _paths(self, attr) -> tuple[str, str]:
        stem = f"{attr.group_name}.{attr.attr_name}"
        if os.sep in stem or stem.startswith("."):
            raise ValueError(f"group_name / attr_name must not hold path separators, got {stem!r}")
        base = os.path.join(self.root, stem)
        return base + ".bin", base + ".json"

    def _meta(self, attr):
        path, meta = self._paths(attr)
        if not os.path.exists(meta):
            return None
        with open(meta) as f:
            info = json.load(f)
        shape = tuple(info["shape"])
        want = int(np.prod(shape)) * np.dtype(info["dtype"]).itemsize
        have = os.path.getsize(path) if os.path.exists(path) else -1
        if have != want:
            raise ValueError(f"{path} holds {have} bytes, its header {meta} says {want} ({info['dtype']} {shape}): "
                             f"the file is truncated or was written by something else")
        return np.dtype(info["dtype"]), shape

    def _put_tensor(self, tensor, attr: TensorAttr, append: bool = False) -> bool:
        array = tensor.detach().cpu().numpy() if isinstance(tensor, torch.Tensor) else np.asarray(tensor)
        array = np.ascontiguousarray(array)
        path, meta = self._paths(attr)
        index = attr.index
        if index is not None and not (isinstance(index, slice) and index == slice(None)):
            info = self._meta(attr)
            if info is None:
                raise KeyError(f"cannot write rows of {_key(attr)}: put the whole tensor first")
            mm = np.memmap(path, dtype=info[0], mode="r+", shape=info[1])
            mm[np.asarray(index)] = array
            mm.flush()
            del mm
            return True
        shape = list(array.shape)
        if append and os.path.exists(meta):
            dtype, old = self._meta(attr)
            if dtype != array.dtype or tuple(old[1:]) != tuple(shape[1:]):
                raise ValueError(f"append to {path}: got {array.dtype} {tuple(shape)}, the file holds {dtype} {old}")
            shape[0] += old[0]
            mode = "ab"
        else:
            mode = "wb"
        with open(path, mode) as f:
            f.write(array.tobytes())
        with open(meta, "w") as f:
            json.dump({"dtype": array.dtype.str, "shape": shape}, f)
        return True

    def append_tensor(self, tensor, *args, **kwargs) -> bool:
        """Appends rows to a stored tensor (streams a tensor larger than memory onto disk block by block)."""
        attr = self._attr(*args, **kwargs)
        if not attr.is_set("index"):
            attr.index = None
        return self._put_tensor(tensor, attr, append=True)

    def _get_tensor(self, attr: TensorAttr):
        info = self._meta(attr)
        if info is None:
            return None
        dtype, shape = info
        path = self._paths(attr)[0]
        index = attr.index
        rows = shape[0] if shape else 1
        if index is None or (isinstance(index, slice) and index == slice(None)):
            index = np.arange(rows)
        elif isinstance(index, slice):
            index = np.arange(rows)[index]
        elif isinstance(index, int):
            if not -rows <= index < rows:
                raise IndexError(f"index {index} is outside the {rows} rows of {path}")
            return torch.from_numpy(self._gather(path, dtype, shape, np.array([index % rows]))[0].copy())
        index = index.cpu().numpy() if isinstance(index, torch.Tensor) else np.asarray(index)
        if index.dtype == bool:
            index = np.nonzero(index)[0]
        index = index.astype(np.int64).reshape(-1)
        if index.size and (index.min() < -rows or index.max() >= rows):
            raise IndexError(f"index holds row {int(index.max()) if index.max() >= rows else int(index.min())}, "
                             f"outside the {rows} rows of {path}")
        index = np.where(index < 0, index + rows, index)
        return torch.from_numpy(self._gather(path, dtype, shape, index))

    def _gather(self, path: str, dtype: np.dtype, shape: tuple, index: np.ndarray) -> np.ndarray:
        """Rows `index` of the file, mapping at most `window` bytes at a time."""
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        out = np.empty((index.size,) + tuple(shape[1:]), dtype=dtype)
        if index.size == 0 or row_bytes == 0:
            return out
        rows_per_window = max(1, self.window // row_bytes)
        order = np.argsort(index, kind="stable")
        sorted_idx = index[order]
        win = sorted_idx // rows_per_window
        starts = np.flatnonzero(np.r_[True, win[1:] != win[:-1]])
        ends = np.r_[starts[1:], sorted_idx.size]
        for s, e in zip(starts.tolist(), ends.tolist()):
            first = int(sorted_idx[s])
            last = int(sorted_idx[e - 1])
            mm = np.memmap(path, dtype=dtype, mode="r", offset=first * row_bytes,
                           shape=(last - first + 1,) + tuple(shape[1:]))
            out[order[s:e]] = mm[sorted_idx[s:e] - first]
            del mm
        return out

    def _remove_tensor(self, attr: TensorAttr) -> bool:
        path, meta = self._paths(attr)
        if not os.path.exists(meta):
            return False
        os.remove(meta)
        if os.path.exists(path):
            os.remove(path)
        return True

    def _get_tensor_size(self, attr: TensorAttr):
        info = self._meta(attr)
        if info is None:
            return None
        if attr.index is None:
            return tuple(info[1])
        return tuple(self._get_tensor(attr).shape)

    def get_all_tensor_attrs(self) -> list[TensorAttr]:
        out = []
        for name in sorted(os.listdir(self.root)):
            if name.endswith(".json"):
                group, attr_name = name[:-5].split(".", 1)
                out.append(self._tensor_attr_cls.cast(None if group == "None" else group, attr_name))
        return out


def num_nodes(feature_store: FeatureStore, graph_store: GraphStore, query=None) -> int:
    """The number of nodes of a homogeneous (feature_store, graph_store) pair: the first node attribute's rows,
    else the edge attribute's size."""
    for attr in feature_store.get_all_tensor_attrs():
        if query is None or attr.group_name == query:
            attr = copy.copy(attr)
            attr.index = None
            size = feature_store.get_tensor_size(attr)
            if size is not None:
                return int(size[0])
    for attr in graph_store.get_all_edge_attrs():
        if attr.size is not None:
            return int(max(attr.size))
    raise ValueError("cannot infer the number of nodes of the (FeatureStore, GraphStore) pair: no node tensor and "
                     "no edge size")


__all__ = ["AttrView", "EdgeAttr", "EdgeLayout", "FeatureStore", "GraphStore", "InMemoryFeatureStore",
           "InMemoryGraphStore", "MemmapFeatureStore", "TensorAttr", "index2ptr", "num_nodes", "ptr2index"]
