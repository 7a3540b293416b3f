"""Heterogeneous batches of the loaders (PyG 2.8's layout) and `HGTLoader`.

A hetero batch is a shallow copy of the `HeteroGraph` (or PyG `HeteroData`) restricted per type: node attributes at
`batch[t].n_id`, edge attributes at `batch[et].e_id`, `batch[et].edge_index` in local ids of its two node types,
`batch[t].num_sampled_nodes` / `batch[et].num_sampled_edges` per hop, `batch[t].batch` (disjoint) and, on the seed
type, `input_id`, `batch_size`, `seed_time` (link loaders: `edge_label_index` / `edge_label` /
`edge_label_time` on the seed edge type; triplet: `src_index` / `dst_pos_index` / `dst_neg_index`).

`HGTLoader` (PyG's `torch_geometric.loader.HGTLoader`, the HGT paper's sampler): starting from the seeds, each
iteration draws `num_samples[t][i]` nodes of every type t from its budget (the not yet sampled neighbours of the
sampled nodes, each weighted by the sum of 1 / deg of the sampled nodes it neighbours, drawn with probability
proportional to the squared weight, without replacement); the batch is the induced subgraph of all drawn nodes.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch

from .hetero_sampler import HeteroGraphCSC, HeteroSamplerOutput, _induced, _lookup
from .neighbor_loader import NodeLoader, seed_index
from .sampler import BaseSampler, NodeSamplerInput


def get_hetero_input_nodes(data, input_nodes, input_id=None):
    """(node type, seeds, input_id) from `input_nodes` = 'paper' or ('paper', index / mask / None)."""
    node_types = list(data.metadata()[0])
    if input_nodes is None:
        raise ValueError(f"input_nodes must name the seed node type for a heterogeneous graph, e.g. "
                         f"input_nodes=({node_types[0]!r} if node_types else 'paper', None), got None")
    if isinstance(input_nodes, str):
        node_type, nodes = input_nodes, None
    elif isinstance(input_nodes, (tuple, list)) and len(input_nodes) == 2 and isinstance(input_nodes[0], str):
        node_type, nodes = input_nodes
    else:
        raise ValueError(f"input_nodes must be a node type or a (node_type, index) pair for a heterogeneous graph, "
                         f"got {type(input_nodes).__name__}")
    if node_type not in node_types:
        raise ValueError(f"input_nodes names the node type {node_type!r}, which is not in the graph (node types "
                         f"{node_types})")
    n = int(data[node_type].num_nodes or 0)
    if nodes is None:
        return node_type, torch.arange(n), None
    nodes, input_id = seed_index(nodes, input_id, n, "input_nodes", "num_nodes of its type")
    return node_type, nodes, input_id


def get_hetero_edge_label_index(data, edge_label_index):
    """(edge type, (2, K) seed links) from an edge type or an (edge_type, (2, K) tensor / None) pair."""
    edge_types = [tuple(et) for et in data.metadata()[1]]
    if edge_label_index is None:
        raise ValueError("edge_label_index must name the seed edge type for a heterogeneous graph, e.g. "
                         "edge_label_index=(('user', 'rates', 'movie'), index), got None")
    if isinstance(edge_label_index, str) or (isinstance(edge_label_index, (tuple, list))
                                             and all(isinstance(x, str) for x in edge_label_index)):
        edge_type, index = edge_label_index, None
    elif isinstance(edge_label_index, (tuple, list)) and len(edge_label_index) == 2:
        edge_type, index = edge_label_index
    else:
        raise ValueError(f"edge_label_index must be an edge type or an (edge_type, (2, K) tensor) pair for a "
                         f"heterogeneous graph, got {type(edge_label_index).__name__}")
    try:
        edge_type = data._to_canonical(*edge_type) if isinstance(edge_type, (tuple, list)) else \
            data._to_canonical(edge_type)
    except Exception:  # noqa: BLE001 - reported below with the argument's name
        pass
    edge_type = tuple(edge_type) if isinstance(edge_type, (tuple, list)) else edge_type
    if len(edge_type) != 3 or not all(isinstance(x, str) for x in edge_type) \
            or (edge_type not in edge_types and (edge_type[0] not in data.metadata()[0]
                                                 or edge_type[2] not in data.metadata()[0])):
        raise ValueError(f"edge_label_index names the edge type {edge_type!r}, which is not in the graph (edge "
                         f"types {edge_types})")
    if index is None:
        if edge_type not in edge_types:
            raise ValueError(f"edge_label_index: edge type {edge_type!r} has no edges to take as seeds")
        return edge_type, data[edge_type].edge_index
    if not isinstance(index, torch.Tensor) or index.dim() != 2 or index.size(0) != 2:
        raise ValueError(f"edge_label_index must hold a (2, K) tensor, got "
                         f"{getattr(index, 'shape', type(index).__name__)}")
    return edge_type, index


def _select(value, idx, dim):
    from .neighbor_loader import index_select

    if isinstance(value, torch.Tensor):
        idx = idx.to(value.device)
    if isinstance(dim, int) and dim < 0:
        dim = value.dim() + dim
    return index_select(value, idx, dim=dim)


def filter_hetero_data(data, node: dict, row: dict, col: dict, edge: dict, perm: dict | None = None):
    """A shallow copy of `data` restricted per type to the sampled nodes and edges (PyG's filter_hetero_data)."""
    out = copy.copy(data)
    empty = torch.empty(0, dtype=torch.long)
    for nt in data.node_types:
        idx = node.get(nt, empty)
        store, ostore = data[nt], out[nt]
        ostore.__dict__.pop("_cached_attr", None)
        for key, value in list(store.items()):
            if key == "num_nodes":
                ostore.num_nodes = idx.numel()
            elif store.is_node_attr(key):
                ostore[key] = _select(value, idx.cpu() if not isinstance(value, torch.Tensor) else idx,
                                      data.__cat_dim__(key, value, store))
    for et in data.edge_types:
        store, ostore = data[et], out[et]
        ostore.__dict__.pop("_cached_attr", None)
        r, c, e = row.get(et, empty), col.get(et, empty), edge.get(et, empty) if edge is not None else None
        p = perm.get(et) if perm else None
        attrs = [(k, v, store.is_edge_attr(k)) for k, v in list(store.items())]
        for key, value, is_edge in attrs:
            if key == "edge_index":
                ostore.edge_index = torch.stack([r, c]).to(value.device)
            elif key == "num_edges":
                ostore.num_edges = r.numel()
            elif is_edge:
                if e is None:
                    ostore[key] = None
                    continue
                idx = e.long()
                if p is not None:
                    idx = p[idx]
                ostore[key] = _select(value, idx, data.__cat_dim__(key, value, store))
        if "edge_index" not in store:
            ostore.edge_index = torch.stack([r, c])
    return out


def filter_custom_hetero_store(feature_store, graph_store, node: dict, row: dict, col: dict, custom_cls=None):
    """The batch of a typed (FeatureStore, GraphStore) pair: every node tensor gathered at its type's nodes, the
    sampled edge_index per edge type (PyG's filter_custom_hetero_store)."""
    from ..hetero import HeteroGraph

    data = custom_cls() if custom_cls is not None else HeteroGraph()
    attrs = []
    for attr in feature_store.get_all_tensor_attrs():
        if attr.group_name in node:
            attr.index = node[attr.group_name]
            attrs.append(attr)
            data[attr.group_name].num_nodes = attr.index.size(0)
    for attr, tensor in zip(attrs, feature_store.multi_get_tensor(attrs)):
        data[attr.group_name][attr.attr_name] = tensor
    for attr in graph_store.get_all_edge_attrs():
        key = tuple(attr.edge_type)
        if key in row and key in col:
            data[key].edge_index = torch.stack([row[key], col[key]])
    return data


def join_hetero_sample(loader, out: HeteroSamplerOutput, sampler: BaseSampler):
    """The batch of a HeteroSamplerOutput: features joined per type, n_id / e_id, batch, per-hop counts and
    input_id on the seed type (PyG's NodeLoader / LinkLoader filter_fn, hetero branch)."""
    from .sampler import DataType

    perm = sampler.edge_permutation
    if DataType.from_data(loader.data) == DataType.heterogeneous:
        data = filter_hetero_data(loader.data, out.node, out.row, out.col, out.edge or {}, perm)
    else:
        data = filter_custom_hetero_store(*loader.data, out.node, out.row, out.col, loader.custom_cls)
    for key, node in out.node.items():
        if "n_id" not in data[key]:
            data[key].n_id = node
    for key, edge in (out.edge or {}).items():
        if edge is not None and "e_id" not in data[key]:
            edge = edge.to(torch.long)
            if perm is not None and perm.get(key) is not None:
                edge = perm[key][edge]
            data[key].e_id = edge
    for name, values in (("batch", out.batch), ("num_sampled_nodes", out.num_sampled_nodes),
                         ("num_sampled_edges", out.num_sampled_edges)):
        if values is not None:
            for key, value in values.items():
                data[key][name] = value
    if out.orig_row is not None and out.orig_col is not None:
        for key in out.orig_row:
            data[key]._orig_edge_index = torch.stack([out.orig_row[key], out.orig_col[key]])
    if out.metadata is not None:
        data[loader.input_data.input_type].input_id = out.metadata[0]
    return data, out


def attach_hetero_links(data, out: HeteroSamplerOutput, input_type, neg_sampling) -> None:
    if neg_sampling is None or neg_sampling.is_binary():
        data[input_type].edge_label_index = out.metadata[1]
        data[input_type].edge_label = out.metadata[2]
        data[input_type].edge_label_time = out.metadata[3]
    else:
        data[input_type[0]].src_index = out.metadata[1]
        data[input_type[-1]].dst_pos_index = out.metadata[2]
        data[input_type[-1]].dst_neg_index = out.metadata[3]
        data[input_type[0]].seed_time = out.metadata[4]
        data[input_type[-1]].seed_time = out.metadata[4]
        if input_type in data.edge_types:
            for key in ("edge_label_index", "edge_label_time"):
                if key in data[input_type]:
                    del data[input_type][key]


class HGTSampler(BaseSampler):
    """PyG's HGTSampler: budget sampling per node type (see the module docstring)."""

    def __init__(self, data, num_samples, is_sorted: bool = False, share_memory: bool = False):
        self.graph = HeteroGraphCSC(data, is_sorted=is_sorted, share_memory=share_memory)
        self.node_types, self.edge_types = self.graph.node_types, self.graph.orig_edge_types
        if isinstance(num_samples, (list, tuple)):
            num_samples = {nt: list(num_samples) for nt in self.node_types}
        if not isinstance(num_samples, dict):
            raise TypeError(f"num_samples must be a list or a dict {{node_type: list}}, got "
                            f"{type(num_samples).__name__}")
        for key, v in num_samples.items():
            if key not in self.node_types:
                raise ValueError(f"num_samples names the node type {key!r}, which is not in the graph (node types "
                                 f"{self.node_types})")
            if not isinstance(v, (list, tuple)) or any(isinstance(k, bool) or not isinstance(k, int) or k < 0
                                                      for k in v):
                raise ValueError(f"num_samples[{key!r}] must be a list of non-negative ints, got {v!r}")
        lens = {len(v) for v in num_samples.values()}
        if len(lens) > 1:
            raise ValueError(f"num_samples: every node type needs the same number of iterations, got {sorted(lens)}")
        self.num_samples = {k: list(v) for k, v in num_samples.items()}
        self.num_hops = lens.pop() if lens else 0
        self.perm = self.graph.perm

    @property
    def edge_permutation(self):
        return self.perm

    @property
    def is_hetero(self) -> bool:
        return True

    def _add_budget(self, budget, nt, new_nodes, sampled_keys):
        g = self.graph
        for et in g.edge_types:
            if et[2] != nt or new_nodes.numel() == 0:
                continue
            colptr, row = g.colptr[et], g.row[et]
            start, end = colptr[new_nodes], colptr[new_nodes + 1]
            deg = end - start
            if int(deg.sum()) == 0:
                continue
            offs = torch.repeat_interleave(start - torch.cumsum(deg, 0) + deg, deg)
            e = offs + torch.arange(int(deg.sum()))
            nb = row[e]
            w = torch.repeat_interleave(1.0 / deg.clamp(min=1).double(), deg)
            src = et[0]
            sk, sl = sampled_keys[src]
            _, found = _lookup(sk, sl, nb)
            nb, w = nb[~found], w[~found]
            nodes, wts = budget.get(src, (torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.float64)))
            nodes, inv = torch.unique(torch.cat([nodes, nb]), return_inverse=True)
            acc = torch.zeros(nodes.numel(), dtype=torch.float64).index_add_(0, inv, torch.cat([wts, w]))
            budget[src] = (nodes, acc)

    def sample_from_nodes(self, inputs: NodeSamplerInput, **kwargs) -> HeteroSamplerOutput:
        g, gen = self.graph, kwargs.get("generator")
        nt0 = inputs.input_type
        if nt0 not in self.node_types:
            raise ValueError(f"input_nodes: node type {nt0!r} is not in the graph (node types {self.node_types})")
        node = {nt: [] for nt in self.node_types}
        seeds = inputs.node.long()
        seeds_u = seeds.unique()
        # keep the seeds first, in their order (duplicates once)
        order = torch.full((seeds_u.numel(),), seeds.numel(), dtype=torch.long)
        order.scatter_reduce_(0, torch.searchsorted(seeds_u, seeds), torch.arange(seeds.numel()), reduce="amin")
        node[nt0].append(seeds_u[order.argsort()])
        sampled = {nt: (torch.cat(node[nt]).sort()[0] if node[nt] else torch.empty(0, dtype=torch.long))
                   for nt in self.node_types}
        sampled_keys = {nt: (v, torch.zeros_like(v)) for nt, v in sampled.items()}
        budget = {}
        self._add_budget(budget, nt0, node[nt0][0], sampled_keys)
        for i in range(self.num_hops):
            drawn = {}
            for nt in self.node_types:
                k = self.num_samples.get(nt, [0] * self.num_hops)[i]
                cand = budget.get(nt)
                if k == 0 or cand is None or cand[0].numel() == 0:
                    continue
                nodes, w = cand
                if nodes.numel() <= k:
                    pick = torch.arange(nodes.numel())
                else:
                    p = w * w
                    pick = torch.multinomial((p / p.sum()).float(), k, replacement=False, generator=gen)
                drawn[nt] = nodes[pick]
                keep = torch.ones(nodes.numel(), dtype=torch.bool)
                keep[pick] = False
                budget[nt] = (nodes[keep], w[keep])
            for nt, new in drawn.items():
                node[nt].append(new)
                v = torch.cat([sampled_keys[nt][0], new]).sort()[0]
                sampled_keys[nt] = (v, torch.zeros_like(v))
                if nt in budget:  # a drawn node leaves every budget
                    nodes, w = budget[nt]
                    keep = ~torch.isin(nodes, new)
                    budget[nt] = (nodes[keep], w[keep])
            for nt, new in drawn.items():
                self._add_budget(budget, nt, new, sampled_keys)
        node = {nt: torch.cat(v) if v else torch.empty(0, dtype=torch.long) for nt, v in node.items()}
        row, col, edge = {}, {}, {}
        for et in g.edge_types:
            row[et], col[et], edge[et] = _induced(g, et, node, None)
        return HeteroSamplerOutput(node=node, row=row, col=col, edge=edge,
                                   metadata=(inputs.input_id, inputs.time))

    def sample_from_edges(self, index, neg_sampling=None):
        raise NotImplementedError("HGTSampler samples around seed nodes only (as PyG's)")


class HGTLoader(NodeLoader):
    """PyG's `HGTLoader(data, num_samples, input_nodes, is_sorted=False, transform=None,
    transform_sampler_output=None, filter_per_worker=None, **kwargs)` (see the module docstring)."""

    def __init__(self, data, num_samples, input_nodes, is_sorted: bool = False,
                 transform: Callable | None = None, transform_sampler_output: Callable | None = None,
                 filter_per_worker: bool | None = None, **kwargs):
        from .sampler import DataType

        if DataType.from_data(data) != DataType.heterogeneous:
            raise ValueError(f"HGTLoader needs a heterogeneous graph (data), got '{type(data).__name__}'")
        sampler = HGTSampler(data, num_samples=num_samples, is_sorted=is_sorted,
                             share_memory=kwargs.get("num_workers", 0) > 0)
        super().__init__(data=data, node_sampler=sampler, input_nodes=input_nodes, transform=transform,
                         transform_sampler_output=transform_sampler_output, filter_per_worker=filter_per_worker,
                         **kwargs)


__all__ = ["HGTLoader", "HGTSampler", "attach_hetero_links", "filter_hetero_data", "get_hetero_edge_label_index",
           "get_hetero_input_nodes", "join_hetero_sample"]
