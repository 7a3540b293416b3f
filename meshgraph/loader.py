"""Mini-batches of graph records for training loops: the torch DataLoader with a graph-aware collate.

`DataLoader(dataset, batch_size=1, shuffle=False, follow_batch=None, exclude_keys=None, **kwargs)` is PyG's
signature (`torch_geometric.loader.DataLoader`); every torch DataLoader option (num_workers, persistent_workers,
pin_memory, sampler, ...) passes through. A batch of `Data` records becomes a `Batch` (`Batch.from_data_list`);
meshgraph `Graph` / `GraphBatch` items become one `GraphBatch`; tensors, numbers, strings, mappings and sequences
of them are collated element by element, as PyG's Collater does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.utils.data
from torch.utils.data.dataloader import default_collate

from .records import Batch, Data


class Collater:
    """Collate a list of dataset items into one batch (see the module docstring)."""

    def __init__(self, dataset=None, follow_batch: list[str] | None = None, exclude_keys: list[str] | None = None):
        self.dataset, self.follow_batch, self.exclude_keys = dataset, follow_batch, exclude_keys

    def __call__(self, batch: list[Any]) -> Any:
        from .graph import Graph, GraphBatch

        elem = batch[0]
        if isinstance(elem, Data) or (hasattr(elem, "edge_index") and hasattr(elem, "stores") and not isinstance(elem, GraphBatch)):
            return Batch.from_data_list(batch, follow_batch=self.follow_batch, exclude_keys=self.exclude_keys)
        if isinstance(elem, (Graph, GraphBatch)):
            return GraphBatch.collate(batch)
        if isinstance(elem, torch.Tensor):
            return default_collate(batch)
        if isinstance(elem, float):
            return torch.tensor(batch, dtype=torch.float)
        if isinstance(elem, bool) or isinstance(elem, int):
            return torch.tensor(batch)
        if isinstance(elem, str):
            return batch
        if isinstance(elem, Mapping):
            return {key: self([d[key] for d in batch]) for key in elem}
        if isinstance(elem, tuple) and hasattr(elem, "_fields"):
            return type(elem)(*(self(s) for s in zip(*batch)))
        if isinstance(elem, Sequence):
            return [self(s) for s in zip(*batch)]
        raise TypeError(f"DataLoader found invalid type: '{type(elem)}'")


class DataLoader(torch.utils.data.DataLoader):
    """A torch DataLoader whose batches are graph batches (PyG's `DataLoader` signature and behaviour)."""

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, follow_batch: list[str] | None = None,
                 exclude_keys: list[str] | None = None, **kwargs):
        kwargs.pop("collate_fn", None)  # PyG replaces any given collate_fn too
        self.follow_batch, self.exclude_keys = follow_batch, exclude_keys
        super().__init__(dataset, batch_size, shuffle, collate_fn=Collater(dataset, follow_batch, exclude_keys), **kwargs)


__all__ = ["Collater", "DataLoader"]

# --- hetero graphs (issue 15): HeteroGraph items collate into a HeteroBatch
_collate_homogeneous = Collater.__call__


def _collate_with_hetero(self, batch: list[Any]) -> Any:
    from .hetero import HeteroGraph

    if batch and isinstance(batch[0], HeteroGraph):
        return Batch.from_data_list(batch, follow_batch=self.follow_batch, exclude_keys=self.exclude_keys)
    return _collate_homogeneous(self, batch)


Collater.__call__ = _collate_with_hetero
# --- end hetero graphs
