"""Link-seeded mini-batch loaders: `LinkLoader` (any sampler) and `LinkNeighborLoader` (PyG 2.8's signatures).

A batch samples the neighbourhoods of both endpoints of `batch_size` seed links (`edge_label_index`, default all
edges), plus negatives:

- binary (`neg_sampling='binary'` or `neg_sampling_ratio=r`): ceil(r * B) random (src, dst) pairs are appended;
  `batch.edge_label_index` holds the B + ceil(rB) links in local ids and `batch.edge_label` their labels (the given
  labels shifted by +1 when they start at 0, as PyG does, with 0 for the negatives; ones when none were given);
- triplet (`neg_sampling=NegativeSampling('triplet', k)`): k random destinations per positive link;
  `batch.src_index`, `batch.dst_pos_index` (B,) and `batch.dst_neg_index` (B, k) (or (B,) for k = 1) in local ids.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.utils.data

from ..records import Data
from .neighbor_loader import SampledLoaderMixin, infer_filter_per_worker, join_sample
from .sampler import BaseSampler, DataType, EdgeSamplerInput, NegativeSampling, NeighborSampler, SamplerOutput


def get_edge_label_index(data, edge_label_index):
    """(edge type (None: homogeneous), (2, K) seed links)."""
    kind = DataType.from_data(data)
    from .neighbor_loader import _typed_store

    if kind == DataType.heterogeneous or _typed_store(data):
        from .hetero_loader import get_hetero_edge_label_index
        from .hetero_sampler import RemoteHeteroView

        view = data if kind == DataType.heterogeneous else RemoteHeteroView(*data)
        return get_hetero_edge_label_index(view, edge_label_index)
    if isinstance(edge_label_index, (tuple, list)) and edge_label_index and isinstance(edge_label_index[0], (str, tuple)):
        raise ValueError(f"edge_label_index names the edge type {edge_label_index[0]!r}, but the graph is "
                         f"homogeneous: pass a (2, K) tensor")
    if edge_label_index is None:
        if kind == DataType.homogeneous:
            return None, data.edge_index
        row, col, _ = data[1].coo()
        return None, torch.stack([row, col])
    if not isinstance(edge_label_index, torch.Tensor) or edge_label_index.dim() != 2 or edge_label_index.size(0) != 2:
        raise ValueError(f"edge_label_index must be a (2, K) tensor, got "
                         f"{getattr(edge_label_index, 'shape', type(edge_label_index).__name__)}")
    return None, edge_label_index


class LinkLoader(SampledLoaderMixin, torch.utils.data.DataLoader):
    """Mini-batches sampled around seed links by any `BaseSampler` (PyG's `LinkLoader`)."""

    def __init__(self, data, link_sampler: BaseSampler, edge_label_index=None, edge_label=None, edge_label_time=None,
                 neg_sampling: NegativeSampling | None = None, neg_sampling_ratio: int | float | None = None,
                 transform: Callable | None = None, transform_sampler_output: Callable | None = None,
                 filter_per_worker: bool | None = None, custom_cls=None, input_id=None, **kwargs):
        if filter_per_worker is None:
            filter_per_worker = infer_filter_per_worker(data)
        kwargs.pop("dataset", None)
        kwargs.pop("collate_fn", None)
        self.edge_label_index = edge_label_index
        if neg_sampling_ratio is not None and neg_sampling_ratio != 0.0:
            neg_sampling = NegativeSampling("binary", neg_sampling_ratio)
        input_type, edge_label_index = get_edge_label_index(data, edge_label_index)
        self.data = data
        self.link_sampler = link_sampler
        self.neg_sampling = NegativeSampling.cast(neg_sampling)
        self.transform = transform
        self.transform_sampler_output = transform_sampler_output
        self.filter_per_worker = filter_per_worker
        self.custom_cls = custom_cls
        K = edge_label_index.size(1)
        for name, t in (("edge_label", edge_label), ("edge_label_time", edge_label_time)):
            if t is not None and t.size(0) != K:
                raise ValueError(f"{name} has {t.size(0)} entries, edge_label_index {K} links")
        if self.neg_sampling is not None and self.neg_sampling.is_binary() and edge_label is not None \
                and edge_label.numel() and edge_label.min() == 0:
            edge_label = edge_label + 1
        if self.neg_sampling is not None and self.neg_sampling.is_triplet() and edge_label is not None:
            raise ValueError("'edge_label' needs to be undefined for 'triplet'-based negative sampling. Please use "
                             "`src_index`, `dst_pos_index` and `neg_pos_index` of the returned mini-batch instead "
                             "to differentiate between positive and negative samples.")
        self.input_data = EdgeSamplerInput(input_id=input_id, row=edge_label_index[0], col=edge_label_index[1],
                                           label=edge_label, time=edge_label_time, input_type=input_type)
        super().__init__(range(K), collate_fn=self.collate_fn, **kwargs)

    def collate_fn(self, index) -> Any:
        with self._batch_rng(index):
            out = self.link_sampler.sample_from_edges(self.input_data[index], neg_sampling=self.neg_sampling)
        return self.filter_fn(out) if self.filter_per_worker else out

    def filter_fn(self, out: SamplerOutput) -> Data:
        """Joins the sampled nodes and edges with their features and attaches the seed links (see the module
        docstring)."""
        data, out = join_sample(self, out, self.link_sampler)
        if not isinstance(out, SamplerOutput):  # hetero: the seed links live in data[input_type]
            from .hetero_loader import attach_hetero_links

            attach_hetero_links(data, out, self.input_data.input_type, self.neg_sampling)
            return data if self.transform is None else self.transform(data)
        if self.neg_sampling is None or self.neg_sampling.is_binary():
            data.edge_label_index = out.metadata[1]
            data.edge_label = out.metadata[2]
            data.edge_label_time = out.metadata[3]
        else:
            data.src_index = out.metadata[1]
            data.dst_pos_index = out.metadata[2]
            data.dst_neg_index = out.metadata[3]
            data.seed_time = out.metadata[4]
            del data.edge_label_index
            del data.edge_label_time
        return data if self.transform is None else self.transform(data)


class LinkNeighborLoader(LinkLoader):
    """Neighbour-sampled mini-batches around seed links (PyG's `LinkNeighborLoader`; see the module docstring)."""

    def __init__(self, data, num_neighbors, edge_label_index=None, edge_label=None, edge_label_time=None,
                 replace: bool = False, subgraph_type="directional", disjoint: bool = False,
                 temporal_strategy: str = "uniform", neg_sampling: NegativeSampling | None = None,
                 neg_sampling_ratio: int | float | None = None, time_attr: str | None = None,
                 weight_attr: str | None = None, transform: Callable | None = None,
                 transform_sampler_output: Callable | None = None, is_sorted: bool = False,
                 filter_per_worker: bool | None = None, neighbor_sampler: NeighborSampler | None = None,
                 directed: bool = True, **kwargs):
        if neighbor_sampler is None and (edge_label_time is not None) != (time_attr is not None):
            a, b = ("set", "not set") if edge_label_time is not None else ("not set", "set")
            raise ValueError(f"Received conflicting 'edge_label_time' and 'time_attr' arguments: 'edge_label_time' "
                             f"is {a} while 'time_attr' is {b}. Set both or none (temporal link sampling needs "
                             f"the seed links' times).")
        if neighbor_sampler is None:
            neighbor_sampler = NeighborSampler(
                data, num_neighbors=num_neighbors, replace=replace, subgraph_type=subgraph_type, disjoint=disjoint,
                temporal_strategy=temporal_strategy, time_attr=time_attr, weight_attr=weight_attr,
                is_sorted=is_sorted, share_memory=kwargs.get("num_workers", 0) > 0, directed=directed)
        super().__init__(data=data, link_sampler=neighbor_sampler, edge_label_index=edge_label_index,
                         edge_label=edge_label, edge_label_time=edge_label_time, neg_sampling=neg_sampling,
                         neg_sampling_ratio=neg_sampling_ratio, transform=transform,
                         transform_sampler_output=transform_sampler_output, filter_per_worker=filter_per_worker,
                         **kwargs)


__all__ = ["LinkLoader", "LinkNeighborLoader", "get_edge_label_index"]
