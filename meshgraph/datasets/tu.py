"""Graph-classification datasets in the TU format (the TUDortmund collection), read from local files.

A TU dataset `<name>` is a folder of comma-separated text files, all prefixed `<name>_`:

    <name>_A.txt                 one line "i, j" per directed edge, node ids 1-based over the whole dataset
    <name>_graph_indicator.txt   one line per node: the 1-based graph it belongs to
    <name>_graph_labels.txt      one line per graph: its class (optional)
    <name>_graph_attributes.txt  one line per graph: regression targets (optional; wins over the labels)
    <name>_node_labels.txt       one line per node: one or more integer labels (optional)
    <name>_node_attributes.txt   one line per node: real attributes (optional)
    <name>_edge_labels.txt       one line per edge of A: integer labels (optional)
    <name>_edge_attributes.txt   one line per edge of A: real attributes (optional)

`read_tu_data(folder, prefix)` gives one `Data` per graph with PyG 2.8's conventions (`torch_geometric.io.read_tu_data`
and `TUDataset`): `x` is the node attributes followed by a one-hot encoding of each node-label column (labels
shifted to start at 0), `edge_attr` likewise for edges, `y` the graph labels mapped to 0..C-1 in sorted order (or
the float graph attributes), self loops removed and each graph's edges coalesced (sorted by source, then target,
duplicates merged; the attributes of duplicates are summed, as PyG's `coalesce` does) and renumbered from 0.
`write_tu_data(folder, prefix, graphs)` writes graphs back in the format (tests generate datasets with it).

`TUDataset(root, name, ...)` has PyG's signature and reads `<root>/<name>/raw/` (PyG's layout; `raw_cleaned/` with
`cleaned=True`) or `<root>/<name>/` directly. Nothing is downloaded: a missing folder or file is a
`FileNotFoundError` naming it, and a malformed line a `ValueError` naming the file and line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.utils.data

from ..ops.edge_utils import coalesce, remove_self_loops
from ..records import Data

__all__ = ["TUDataset", "read_tu_data", "write_tu_data"]


def _read(folder: Path, prefix: str, name: str, dtype, required: bool = False) -> np.ndarray | None:
    path = folder / f"{prefix}_{name}.txt"
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"{path}: missing TU-format file")
        return None
    rows = []
    width = None
    with open(path) as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                values = [dtype(v) for v in line.replace(",", " ").split()]
            except ValueError:
                raise ValueError(f"{path}:{line_no}: expected comma-separated {dtype.__name__} values, got {line!r}") from None
            if width is None:
                width = len(values)
            elif len(values) != width:
                raise ValueError(f"{path}:{line_no}: {len(values)} values, the lines before have {width}")
            rows.append(values)
    np_dtype = np.int64 if dtype is int else np.float32
    return np.asarray(rows, dtype=np_dtype).reshape(len(rows), width or 0)


def _one_hot_columns(labels: np.ndarray) -> np.ndarray:
    """Each integer column shifted to start at 0 and one-hot encoded; the encodings side by side."""
    parts = []
    for col in labels.T:
        col = col - col.min()
        hot = np.zeros((col.shape[0], int(col.max()) + 1), dtype=np.float32)
        hot[np.arange(col.shape[0]), col] = 1.0
        parts.append(hot)
    return np.concatenate(parts, axis=1)


def read_tu_data(folder: str | os.PathLike, prefix: str) -> tuple[list[Data], dict[str, int]]:
    """The graphs of a TU-format folder as a list of `Data`, and the widths of their parts
    (`num_node_attributes`, `num_node_labels`, `num_edge_attributes`, `num_edge_labels`). See the module docstring."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such TU dataset folder")
    a = _read(folder, prefix, "A", int, required=True)
    gi = _read(folder, prefix, "graph_indicator", int, required=True)
    if a.shape[0] == 0:
        a = np.zeros((0, 2), dtype=np.int64)
    if a.shape[1] != 2:
        raise ValueError(f"{folder / (prefix + '_A.txt')}: each line must hold two node ids, found {a.shape[1]}")
    if gi.shape[0] and gi.shape[1] != 1:
        raise ValueError(f"{folder / (prefix + '_graph_indicator.txt')}: one graph id per line expected")
    batch = gi[:, 0] - 1 if gi.shape[0] else np.zeros(0, dtype=np.int64)
    n = batch.shape[0]
    if n and (batch.min() < 0 or np.any(np.diff(batch) < 0)):
        raise ValueError(f"{folder / (prefix + '_graph_indicator.txt')}: graph ids must be >= 1 and non-decreasing")
    edge_index = a.T - 1
    if edge_index.size and (edge_index.min() < 0 or edge_index.max() >= n):
        raise ValueError(f"{folder / (prefix + '_A.txt')}: node ids must lie in 1..{n} (the graph indicator's length)")
    num_edges = edge_index.shape[1]

    def per_row(name, dtype, rows, what):
        arr = _read(folder, prefix, name, dtype)
        if arr is not None and arr.shape[0] != rows:
            raise ValueError(f"{folder / f'{prefix}_{name}.txt'}: {arr.shape[0]} lines, expected one per {what} ({rows})")
        return arr

    node_attr = per_row("node_attributes", float, n, "node")
    node_lab = per_row("node_labels", int, n, "node")
    edge_attr = per_row("edge_attributes", float, num_edges, "edge of A")
    edge_lab = per_row("edge_labels", int, num_edges, "edge of A")
    num_graphs = int(batch.max()) + 1 if n else 0
    graph_attr = per_row("graph_attributes", float, num_graphs, "graph")
    graph_lab = per_row("graph_labels", int, num_graphs, "graph") if graph_attr is None else None

    sizes = {
        "num_node_attributes": 0 if node_attr is None else node_attr.shape[1],
        "num_node_labels": 0,
        "num_edge_attributes": 0 if edge_attr is None else edge_attr.shape[1],
        "num_edge_labels": 0,
    }
    x_parts = [] if node_attr is None else [node_attr]
    if node_lab is not None and n:
        hot = _one_hot_columns(node_lab)
        sizes["num_node_labels"] = hot.shape[1]
        x_parts.append(hot)
    e_parts = [] if edge_attr is None else [edge_attr]
    if edge_lab is not None and num_edges:
        hot = _one_hot_columns(edge_lab)
        sizes["num_edge_labels"] = hot.shape[1]
        e_parts.append(hot)
    x = torch.from_numpy(np.concatenate(x_parts, axis=1)) if sum(p.shape[1] for p in x_parts) else None
    ea = torch.from_numpy(np.concatenate(e_parts, axis=1)) if sum(p.shape[1] for p in e_parts) else None
    if graph_attr is not None:
        y = torch.from_numpy(graph_attr)
        y = y.view(-1) if y.shape[1] == 1 else y
    elif graph_lab is not None:
        _, inv = np.unique(graph_lab[:, 0], return_inverse=True)
        y = torch.from_numpy(inv.astype(np.int64).reshape(-1))
    else:
        y = None

    ei = torch.from_numpy(np.ascontiguousarray(edge_index))
    ei, ea = remove_self_loops(ei, ea)
    if ea is not None:
        ei, ea = coalesce(ei, ea, num_nodes=n)
    else:
        ei = coalesce(ei, num_nodes=n)
    batch_t = torch.from_numpy(batch)
    node_ptr = np.zeros(num_graphs + 1, dtype=np.int64)
    np.cumsum(np.bincount(batch, minlength=num_graphs), out=node_ptr[1:])
    edge_graph = batch_t[ei[0]]
    edge_ptr = torch.zeros(num_graphs + 1, dtype=torch.long)
    edge_ptr[1:] = torch.cumsum(torch.bincount(edge_graph, minlength=num_graphs), 0)
    graphs = []
    for g in range(num_graphs):
        n0, n1 = int(node_ptr[g]), int(node_ptr[g + 1])
        e0, e1 = int(edge_ptr[g]), int(edge_ptr[g + 1])
        d = Data(edge_index=ei[:, e0:e1] - n0)
        if x is not None:
            d.x = x[n0:n1]
        else:
            d.num_nodes = n1 - n0
        if ea is not None:
            d.edge_attr = ea[e0:e1]
        if y is not None:
            d.y = y[g : g + 1]
        graphs.append(d)
    return graphs, sizes


def _rows(t, n: int) -> np.ndarray:
    """t as an (n, width) array; an empty t keeps its last dimension as the width (1 for a vector)."""
    t = torch.as_tensor(t)
    if t.numel():
        return t.reshape(n, -1).numpy()
    return t.reshape(0, t.shape[-1] if t.dim() > 1 else 1).numpy()


def write_tu_data(folder: str | os.PathLike, prefix: str, graphs: Sequence, *, node_labels: Sequence | None = None,
                  edge_labels: Sequence | None = None) -> Path:
    """Write graphs (anything with `edge_index` and `num_nodes`; optional `x` as node attributes, `edge_attr` as
    edge attributes, integer `y` as graph labels or float `y` as graph attributes) as TU-format files in `folder`.
    `node_labels` / `edge_labels`: optional per-graph integer label tensors written as `<prefix>_node_labels.txt` /
    `<prefix>_edge_labels.txt`. Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    a, gi, na, ea, nl, el, gl, ga = [], [], [], [], [], [], [], []
    offset = 0
    for g, data in enumerate(graphs):
        n = int(data.num_nodes)
        edge_index = data.edge_index
        a.append((edge_index.t() + offset + 1).numpy())
        gi.append(np.full(n, g + 1, dtype=np.int64))
        if getattr(data, "x", None) is not None:
            na.append(_rows(data.x, n))
        if getattr(data, "edge_attr", None) is not None:
            ea.append(_rows(data.edge_attr, edge_index.shape[1]))
        if node_labels is not None:
            nl.append(_rows(node_labels[g], n))
        if edge_labels is not None:
            el.append(_rows(edge_labels[g], edge_index.shape[1]))
        y = getattr(data, "y", None)
        if y is not None:
            (ga if y.is_floating_point() else gl).append(y.reshape(1, -1).numpy())
        offset += n

    def save(name, parts, fmt):
        if parts:
            np.savetxt(folder / f"{prefix}_{name}.txt", np.concatenate(parts, axis=0), fmt=fmt, delimiter=", ")

    save("A", a, "%d")
    save("graph_indicator", [p.reshape(-1, 1) for p in gi], "%d")
    save("node_attributes", na, "%.9g")
    save("edge_attributes", ea, "%.9g")
    save("node_labels", nl, "%d")
    save("edge_labels", el, "%d")
    save("graph_labels", gl, "%d")
    save("graph_attributes", ga, "%.9g")
    return folder


class TUDataset(torch.utils.data.Dataset):
    """A TU-format graph-classification dataset from local files (PyG's `TUDataset` signature; see the module
    docstring for the file layout and conventions).

    Args:
        root: the folder holding `<name>/raw/<name>_*.txt` (or `<name>/<name>_*.txt`).
        name: the dataset's name, the files' prefix.
        transform: applied to each `Data` when it is read (`dataset[i]`).
        pre_transform / pre_filter: applied once, when the files are read.
        force_reload: accepted for PyG compatibility; the files are always parsed (no processed cache).
        use_node_attr / use_edge_attr: keep the real-valued attributes in `x` / `edge_attr` (the one-hot labels are
            always kept), as in PyG.
        cleaned: read the `raw_cleaned/` folder.

    `dataset[i]` is a `Data`; an index tensor, list or slice gives a sub-dataset; `len`, `num_classes`,
    `num_node_features`, `num_edge_features` and the `num_node_labels` / `num_node_attributes` /
    `num_edge_labels` / `num_edge_attributes` widths are those of PyG's class.
    """

    def __init__(self, root: str, name: str, transform: Callable | None = None, pre_transform: Callable | None = None,
                 pre_filter: Callable | None = None, force_reload: bool = False, use_node_attr: bool = False,
                 use_edge_attr: bool = False, cleaned: bool = False) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("TUDataset: name must be a non-empty string")
        self.root, self.name, self.cleaned = str(root), name, cleaned
        self.transform, self.pre_transform, self.pre_filter = transform, pre_transform, pre_filter
        base = Path(root) / name
        raw = base / ("raw_cleaned" if cleaned else "raw")
        folder = raw if (raw / f"{name}_A.txt").is_file() else base
        if not (folder / f"{name}_A.txt").is_file():
            raise FileNotFoundError(f"TUDataset: no {name}_A.txt in {raw} or {base} (meshgraph reads local files only)")
        graphs, self.sizes = read_tu_data(folder, name)
        keep_n = self.sizes["num_node_attributes"]
        keep_e = self.sizes["num_edge_attributes"]
        for d in graphs:
            if d.get("x") is not None and not use_node_attr and keep_n:
                d.x = d.x[:, keep_n:]
                if d.x.shape[1] == 0:
                    n = d.x.shape[0]
                    d.x = None
                    d.num_nodes = n
            if d.get("edge_attr") is not None and not use_edge_attr and keep_e:
                d.edge_attr = d.edge_attr[:, keep_e:]
                if d.edge_attr.shape[1] == 0:
                    d.edge_attr = None
        if pre_filter is not None:
            graphs = [d for d in graphs if pre_filter(d)]
        if pre_transform is not None:
            graphs = [pre_transform(d) for d in graphs]
        self._graphs = graphs
        self._indices: list[int] | None = None

    @property
    def raw_dir(self) -> str:
        return os.path.join(self.root, self.name, "raw_cleaned" if self.cleaned else "raw")

    num_node_labels = property(lambda self: self.sizes["num_node_labels"])
    num_node_attributes = property(lambda self: self.sizes["num_node_attributes"])
    num_edge_labels = property(lambda self: self.sizes["num_edge_labels"])
    num_edge_attributes = property(lambda self: self.sizes["num_edge_attributes"])

    def indices(self) -> list[int]:
        return list(range(len(self._graphs))) if self._indices is None else self._indices

    def __len__(self) -> int:
        return len(self.indices())

    def get(self, idx: int) -> Data:
        return self._graphs[idx]

    def __getitem__(self, idx):
        if isinstance(idx, (int, np.integer)) or (isinstance(idx, torch.Tensor) and idx.dim() == 0 and not idx.is_floating_point()):
            data = self.get(self.indices()[int(idx)])
            return data if self.transform is None else self.transform(data)
        return self.index_select(idx)

    def index_select(self, idx) -> "TUDataset":
        """A view of the selected graphs (a slice, a sequence or tensor of indices, or a boolean mask)."""
        ids = self.indices()
        if isinstance(idx, slice):
            picked = ids[idx]
        elif isinstance(idx, torch.Tensor) and idx.dtype == torch.bool:
            if idx.numel() != len(ids):
                raise ValueError(f"TUDataset: boolean index of length {idx.numel()} for {len(ids)} graphs")
            picked = [ids[i] for i in idx.nonzero().view(-1).tolist()]
        elif isinstance(idx, (torch.Tensor, np.ndarray, Sequence)):
            picked = [ids[int(i)] for i in (idx.tolist() if hasattr(idx, "tolist") else idx)]
        else:
            raise TypeError(f"TUDataset: index must be an int, slice, sequence or tensor, got {type(idx).__name__}")
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out._indices = picked
        return out

    def shuffle(self, return_perm: bool = False, generator: torch.Generator | None = None):
        perm = torch.randperm(len(self), generator=generator)
        out = self.index_select(perm)
        return (out, perm) if return_perm else out

    @property
    def num_classes(self) -> int:
        ys = [self._graphs[i].y for i in self.indices() if self._graphs[i].get("y") is not None]
        if not ys:
            return 0
        y = torch.cat([v.reshape(-1) if v.dim() <= 1 else v for v in ys])
        if y.is_floating_point():
            return ys[0].shape[-1] if ys[0].dim() > 1 else 1
        return int(y.max()) + 1

    def _first(self):
        return self._graphs[self.indices()[0]] if len(self) else None

    @property
    def num_node_features(self) -> int:
        d = self._first()
        return 0 if d is None or d.get("x") is None else d.x.shape[-1]

    num_features = num_node_features

    @property
    def num_edge_features(self) -> int:
        d = self._first()
        return 0 if d is None or d.get("edge_attr") is None else d.edge_attr.shape[-1]

    def __repr__(self) -> str:
        return f"{self.name}({len(self)})"
