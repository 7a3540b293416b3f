"""PyG's FeatureStore / GraphStore methods on `Data` and `HeteroGraph` (PyG's Data / HeteroData inherit both).

- Data: tensors are the node-level attributes (`TensorAttr(group_name=None, attr_name, index)`: `put_tensor(x,
  attr_name='x', index=None)`, `get_tensor('x')`, ...); the COO edge index is `data.edge_index`, with
  `size=(num_nodes, num_nodes)`.
- HeteroGraph: `group_name` is the node type, the edge type names the edge store (`data[edge_type].edge_index`).

CSR / CSC inputs of `put_edge_index` are kept beside the record as (rowptr, col) / (row, colptr) pairs (PyG keeps
them as torch_sparse `adj` / `adj_t` attributes, a package meshgraph does not use); `coo()` / `csr()` / `csc()`
convert as any GraphStore does.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stores import EdgeAttr, EdgeLayout, FeatureStore, GraphStore, TensorAttr, _FieldStatus


@dataclass
class DataTensorAttr(TensorAttr):
    """TensorAttr of a homogeneous Data: group_name is always None."""

    def __init__(self, attr_name=_FieldStatus.UNSET, index=None):
        super().__init__(None, attr_name, index)


@dataclass
class DataEdgeAttr(EdgeAttr):
    """EdgeAttr of a homogeneous Data: edge_type is always None."""

    def __init__(self, layout, is_sorted: bool = False, size=None):
        super().__init__(None, layout, is_sorted, size)


_FEATURE = ["_attr", "_require_full", "put_tensor", "get_tensor", "_multi_get_tensor", "multi_get_tensor",
            "remove_tensor", "update_tensor", "get_tensor_size", "_to_type", "view"]
_GRAPH = ["put_edge_index", "get_edge_index", "remove_edge_index", "coo", "csr", "csc", "_edge_to_layout",
          "_edges_to_layout"]


def _layouts(self) -> dict:
    return self.__dict__.setdefault("_edge_layouts", {})


class DataStoreMethods:
    """The store half of PyG's Data (see the module docstring)."""

    _tensor_attr_cls = DataTensorAttr
    _edge_attr_cls = DataEdgeAttr

    def _put_tensor(self, tensor, attr) -> bool:
        out = self[attr.attr_name] if attr.attr_name in self else None
        if out is not None and attr.index is not None:
            out[attr.index] = tensor
        else:
            if attr.index is not None:
                raise ValueError(f"put_tensor: '{attr.attr_name}' does not exist yet, so index must be None")
            self[attr.attr_name] = tensor
        return True

    def _get_tensor(self, attr):
        if attr.attr_name not in self:
            return None
        tensor = self[attr.attr_name]
        return tensor[attr.index] if attr.index is not None else tensor

    def _remove_tensor(self, attr) -> bool:
        if attr.attr_name in self:
            del self[attr.attr_name]
            return True
        return False

    def _get_tensor_size(self, attr):
        t = self._get_tensor(attr)
        return tuple(t.size()) if t is not None else None

    def get_all_tensor_attrs(self) -> list:
        return [DataTensorAttr(attr_name=name) for name in self.keys() if self.is_node_attr(name)]

    def _put_edge_index(self, edge_index, edge_attr) -> bool:
        row, col = edge_index
        if edge_attr.layout == EdgeLayout.COO:
            import torch

            self.edge_index = torch.stack([row, col])
        _layouts(self)[(edge_attr.edge_type, edge_attr.layout)] = ((row, col), edge_attr)
        return True

    def _get_edge_index(self, edge_attr):
        if edge_attr.layout == EdgeLayout.COO and "edge_index" in self._edge_store(edge_attr):
            ei = self._edge_store(edge_attr)["edge_index"]
            return ei[0], ei[1]
        got = _layouts(self).get((edge_attr.edge_type, edge_attr.layout))
        return got[0] if got is not None else None

    def _remove_edge_index(self, edge_attr) -> bool:
        found = _layouts(self).pop((edge_attr.edge_type, edge_attr.layout), None) is not None
        if edge_attr.layout == EdgeLayout.COO and "edge_index" in self._edge_store(edge_attr):
            del self._edge_store(edge_attr)["edge_index"]
            found = True
        return found

    def _edge_store(self, edge_attr):
        return self

    def _size_of(self, edge_type):
        n = self.num_nodes
        return (n, n) if n is not None else None

    def get_all_edge_attrs(self) -> list:
        out = {}
        for (et, layout), (_, attr) in _layouts(self).items():
            out[(et, layout)] = attr
        for et in self._edge_types_with_index():
            key = (et, EdgeLayout.COO)
            if key not in out:
                out[key] = self._edge_attr_cls.cast(*((et,) if et is not None else ()), "coo", False,
                                                    self._size_of(et))
            elif out[key].size is None:
                out[key].size = self._size_of(et)
        return list(out.values())

    def _edge_types_with_index(self):
        return [None] if "edge_index" in self else []


class HeteroStoreMethods(DataStoreMethods):
    """The store half of PyG's HeteroData: group_name is the node type, edge_type the edge store."""

    _tensor_attr_cls = TensorAttr
    _edge_attr_cls = EdgeAttr

    def _put_tensor(self, tensor, attr) -> bool:
        if not attr.is_set("index"):
            attr.index = None
        store = self[attr.group_name]
        out = store[attr.attr_name] if attr.attr_name in store else None
        if out is not None and attr.index is not None:
            out[attr.index] = tensor
        else:
            if attr.index is not None:
                raise ValueError(f"put_tensor: '{attr.attr_name}' of '{attr.group_name}' does not exist yet, so "
                                 f"index must be None")
            store[attr.attr_name] = tensor
        return True

    def _get_tensor(self, attr):
        if attr.group_name not in self.node_types or attr.attr_name not in self[attr.group_name]:
            return None
        tensor = self[attr.group_name][attr.attr_name]
        return tensor[attr.index] if attr.index is not None else tensor

    def _remove_tensor(self, attr) -> bool:
        if attr.group_name in self.node_types and attr.attr_name in self[attr.group_name]:
            del self[attr.group_name][attr.attr_name]
            return True
        return False

    def get_all_tensor_attrs(self) -> list:
        return [TensorAttr(nt, name) for nt, store in self.node_items() for name in store.keys()
                if store.is_node_attr(name)]

    def _put_edge_index(self, edge_index, edge_attr) -> bool:
        import torch

        row, col = edge_index
        store = self[edge_attr.edge_type]
        if edge_attr.layout == EdgeLayout.COO:
            store.edge_index = torch.stack([row, col])
        _layouts(self)[(tuple(edge_attr.edge_type), edge_attr.layout)] = ((row, col), edge_attr)
        return True

    def _get_edge_index(self, edge_attr):
        et = tuple(edge_attr.edge_type)
        if edge_attr.layout == EdgeLayout.COO and et in self.edge_types and "edge_index" in self[et]:
            ei = self[et].edge_index
            return ei[0], ei[1]
        got = _layouts(self).get((et, edge_attr.layout))
        return got[0] if got is not None else None

    def _edge_store(self, edge_attr):
        et = tuple(edge_attr.edge_type)
        return self[et] if et in self.edge_types else {}

    def _size_of(self, edge_type):
        try:
            return tuple(self[edge_type].size())
        except (NameError, TypeError):
            return None

    def _edge_types_with_index(self):
        return [et for et in self.edge_types if "edge_index" in self[et]]

    def _to_canonical_edge(self, edge_type):
        return tuple(edge_type)


def install(cls, methods) -> None:
    """Adds the FeatureStore / GraphStore methods to `cls` (names `cls` already defines are kept)."""
    for name in _FEATURE:
        if name not in cls.__dict__:
            setattr(cls, name, FeatureStore.__dict__[name])
    for name in _GRAPH:
        if name not in cls.__dict__:
            setattr(cls, name, GraphStore.__dict__[name])
    merged = {}
    for klass in reversed(methods.__mro__[:-1]):  # the most derived definition wins
        merged.update({k: v for k, v in klass.__dict__.items() if not k.startswith("__")})
    for name, value in merged.items():
        if name not in cls.__dict__:
            setattr(cls, name, value)


__all__ = ["DataEdgeAttr", "DataStoreMethods", "DataTensorAttr", "HeteroStoreMethods", "install"]
