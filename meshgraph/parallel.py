"""Data parallelism with GraphBatch inputs.

torch.nn.DataParallel's scatter splits tensors, tuples, lists and dicts but passes any other object whole to
every replica. `scatter` / `DataParallel` here also split a GraphBatch by graphs (balanced by vertex count) and
move each part to its replica's device. Under DistributedDataParallel no scatter is needed: each process builds
its own GraphBatch (DistributedSampler + `GraphBatch.collate`).
"""

from __future__ import annotations

from typing import Any

import torch

from .graph import GraphBatch


def _split(obj: Any, devices: list[torch.device], dim: int) -> list[Any]:
    n = len(devices)
    if isinstance(obj, GraphBatch):
        parts = obj.split(n)
        if len(parts) < n:
            raise ValueError(f"a GraphBatch of {len(obj)} graphs cannot be split over {n} devices")
        return [p.to(d) for p, d in zip(parts, devices)]
    if isinstance(obj, torch.Tensor):
        parts = torch.tensor_split(obj, n, dim=dim)
        return [p.to(d) for p, d in zip(parts, devices)]
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return [type(obj)(*xs) for xs in zip(*(_split(o, devices, dim) for o in obj))]
    if isinstance(obj, (tuple, list)) and obj:
        return [type(obj)(xs) for xs in zip(*(_split(o, devices, dim) for o in obj))]
    if isinstance(obj, dict) and obj:
        keys = list(obj)
        return [dict(zip(keys, xs)) for xs in zip(*(_split(obj[k], devices, dim) for k in keys))]
    return [obj for _ in devices]


def scatter(inputs: Any, devices: list[torch.device | str | int], dim: int = 0) -> list[Any]:
    """Split `inputs` (nested tuples/lists/dicts of tensors and GraphBatches) into one part per device."""
    devs = [torch.device(d) if not isinstance(d, int) else torch.device("cuda", d) for d in devices]
    if not devs:
        raise ValueError("devices must not be empty")
    return _split(inputs, devs, dim)


class DataParallel(torch.nn.DataParallel):
    """torch.nn.DataParallel that splits GraphBatch arguments by graphs (see module docstring)."""

    def scatter(self, inputs, kwargs, device_ids):
        inputs = scatter(tuple(inputs), device_ids, self.dim) if inputs else [() for _ in device_ids]
        kwargs = scatter(kwargs, device_ids, self.dim) if kwargs else [{} for _ in device_ids]
        return tuple(inputs), tuple(kwargs)

__all__ = ["DataParallel", "scatter"]
