"""Planetoid citation graphs (Cora, CiteSeer, PubMed) from a local npz, as a one-graph GraphBatch."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..graph import Graph, GraphBatch

_KEYS = ("x_indptr", "x_indices", "x_data", "x_shape", "y", "edge_index", "train_index", "val_index", "test_index")


def load_planetoid(path: str | os.PathLike, *, normalize_features: bool = True, dtype: torch.dtype = torch.float32) -> GraphBatch:
    """Read a Planetoid split saved as npz (keys: CSR node features x_indptr/x_indices/x_data/x_shape, y,
    edge_index, train_index/val_index/test_index, optional unlabeled) into a GraphBatch of one graph.

    Vertex features: "x" (N, F) dense features (rows scaled to sum 1 when `normalize_features`, as in the GCN
    and GAT papers), "y" (N,) int64 labels, boolean masks "train_mask", "val_mask", "test_mask" and "unlabeled".
    Nodes flagged `unlabeled` (CiteSeer's isolated test nodes with no label) are removed from "test_mask", so an
    accuracy over test_mask leaves them out. Edges: the file's directed edge_index.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such Planetoid npz file")
    with np.load(path) as z:
        missing = [k for k in _KEYS if k not in z.files]
        if missing:
            raise ValueError(f"{path}: not a Planetoid npz, missing keys {missing}")
        d = {k: z[k] for k in z.files}
    n, f = (int(s) for s in d["x_shape"])
    import scipy.sparse as sp

    x = sp.csr_matrix((d["x_data"], d["x_indices"], d["x_indptr"]), shape=(n, f)).toarray().astype(np.float64)
    if normalize_features:
        rows = x.sum(1, keepdims=True)
        x = np.divide(x, rows, out=np.zeros_like(x), where=rows != 0)
    y = torch.from_numpy(d["y"].astype(np.int64))
    edge_index = torch.from_numpy(d["edge_index"].astype(np.int64))
    if y.shape != (n,):
        raise ValueError(f"{path}: y has shape {y.shape}, expected ({n},)")

    def mask(idx):
        m = torch.zeros(n, dtype=torch.bool)
        m[torch.from_numpy(idx.astype(np.int64))] = True
        return m

    unlabeled = torch.from_numpy(d["unlabeled"].astype(bool)) if "unlabeled" in d else torch.zeros(n, dtype=torch.bool)
    feats = {
        "x": torch.from_numpy(x).to(dtype),
        "y": y,
        "train_mask": mask(d["train_index"]),
        "val_mask": mask(d["val_index"]),
        "test_mask": mask(d["test_index"]) & ~unlabeled,
        "unlabeled": unlabeled,
    }
    return GraphBatch([Graph(num_verts=n, edge_index=edge_index, vertex_features=feats)])
