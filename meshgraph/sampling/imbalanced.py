"""`ImbalancedSampler`: draws examples in inverse proportion to their class frequency (PyG 2.8's semantics), so
mini-batches of an imbalanced node- or graph-classification set are balanced in expectation."""

from __future__ import annotations

import torch
import torch.utils.data


class ImbalancedSampler(torch.utils.data.WeightedRandomSampler):
    """`ImbalancedSampler(dataset, input_nodes=None, num_samples=None)`: a WeightedRandomSampler with replacement.

    dataset: a `Data` (node classification: its `y`, restricted to `input_nodes`), a dataset or list of graphs
    (graph classification: one `y` per graph), or the label tensor itself. num_samples defaults to the number of
    labelled examples."""

    def __init__(self, dataset, input_nodes: torch.Tensor | None = None, num_samples: int | None = None):
        from ..records import Data

        if isinstance(dataset, Data) or (hasattr(dataset, "stores") and hasattr(dataset, "edge_index")):
            y = dataset.y.view(-1)
            if y.numel() != dataset.num_nodes:
                raise ValueError(f"ImbalancedSampler needs one label per node in data.y ({dataset.num_nodes}), got "
                                 f"{y.numel()}")
            y = y[input_nodes] if input_nodes is not None else y
        elif isinstance(dataset, torch.Tensor):
            y = dataset.view(-1)
            y = y[input_nodes] if input_nodes is not None else y
        elif getattr(getattr(dataset, "_data", None), "y", None) is not None and hasattr(dataset, "len"):
            y = dataset._data.y.view(-1)  # an InMemoryDataset: its collated labels
            if len(dataset) != y.numel():
                raise ValueError(f"ImbalancedSampler needs one label per graph ({len(dataset)}), got {y.numel()}")
        else:
            ys = [d.y for d in dataset]
            if not ys or any(t is None for t in ys):
                raise ValueError("every graph of the dataset needs a label 'y' for ImbalancedSampler")
            y = (torch.cat([t.view(-1) for t in ys]) if isinstance(ys[0], torch.Tensor) else torch.tensor(ys).view(-1))
            if y.numel() != len(ys):
                raise ValueError(f"ImbalancedSampler needs one label per graph ({len(ys)}), got {y.numel()}")
        if y.is_floating_point():
            raise ValueError("ImbalancedSampler needs integer class labels, got float labels")
        y = y.long()
        if y.numel() and int(y.min()) < 0:
            raise ValueError("ImbalancedSampler needs non-negative class labels")
        num_samples = y.numel() if num_samples is None else num_samples
        class_weight = 1.0 / torch.bincount(y).float() if y.numel() else torch.ones(0)
        weight = class_weight[y]
        super().__init__(weight, num_samples, replacement=True)


__all__ = ["ImbalancedSampler"]
