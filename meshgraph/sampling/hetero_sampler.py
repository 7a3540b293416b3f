"""Heterogeneous neighbour sampling (PyG 2.8's `HeteroSamplerOutput` semantics, pyg-lib's hop order).

Each edge type `(src, rel, dst)` keeps its own CSC (sources grouped by destination), built once when the sampler
is made (no concatenated copy of the graph). Hop h samples, for every edge type in `metadata()` order,
`num_neighbors[edge_type][h]` sources of each destination node that was *added at hop h - 1* (the seeds at hop 0),
with meshgraph's `neighbor_sample` op (one hop, one call per (hop, edge type)); new nodes are appended to their
type's node list in draw order, duplicates dropped (per seed when disjoint). The result:

- `node[t]`: global ids of the sampled nodes of type t (seeds first); `row[et]` / `col[et]`: local ids of each
  sampled edge's source / destination; `edge[et]`: positions in et's CSC (`edge_permutation[et]` maps them back);
- `num_sampled_nodes[t]` (L + 1 entries: seeds, hop 1, ...), `num_sampled_edges[et]` (L entries);
- `batch[t]` (disjoint / temporal): the seed each node belongs to.

Every call draws one seed from the generator (torch's default when None), so the batches depend only on its state.
`subgraph_type='induced'` adds, per edge type, every edge among the sampled nodes (by a scan of their CSC rows).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from ..ops.neighbor_sample import _check_fanouts, draw_rng_seed
from .sampler import CastMixin, to_csc


def edge_type_str(edge_type) -> str:
    return "__".join(edge_type) if isinstance(edge_type, tuple) else edge_type


@dataclass
class HeteroSamplerOutput(CastMixin):
    """A sampled heterogeneous subgraph (see the module docstring); metadata carries the loader's extras."""

    node: dict
    row: dict
    col: dict
    edge: dict | None
    batch: dict | None = None
    num_sampled_nodes: dict | None = None
    num_sampled_edges: dict | None = None
    orig_row: dict | None = None
    orig_col: dict | None = None
    metadata: Any | None = None

    @property
    def global_row(self) -> dict:
        return {et: self.node[et[0]][r] for et, r in self.row.items()}

    @property
    def global_col(self) -> dict:
        return {et: self.node[et[-1]][c] for et, c in self.col.items()}

    def to_bidirectional(self, keep_orig_edges: bool = False) -> "HeteroSamplerOutput":
        """Every sampled edge in both directions, PyG's rules: an edge type is merged with its 'rev_' type, or with
        itself (same node types, no 'rev_' type), or with the unique type going the other way; merged types lose
        their edge ids (their edge features are then None)."""
        import warnings
        from collections import defaultdict

        from .sampler import to_bidirectional

        out = copy.copy(self)
        out.row, out.col = dict(self.row), dict(self.col)
        out.edge = dict(self.edge) if self.edge is not None else None
        if keep_orig_edges:
            out.orig_row, out.orig_col = dict(self.row), dict(self.col)
        else:
            out.num_sampled_nodes = out.num_sampled_edges = None
        by_pair = defaultdict(list)
        for key in self.row:
            by_pair[(key[0], key[-1])].append(key)
        for et in [k for k in self.row if not k[1].startswith("rev_")]:
            src, rel, dst = et
            rev = (dst, f"rev_{rel}", src)
            if src == dst and rev not in self.row:
                out.row[et], out.col[et], _ = to_bidirectional(self.row[et], self.col[et], self.row[et],
                                                               self.col[et])
                merged = [et]
            elif rev in self.row:
                out.row[et], out.col[et], _ = to_bidirectional(self.row[et], self.col[et], self.row[rev],
                                                               self.col[rev])
                out.row[rev], out.col[rev] = out.col[et], out.row[et]
                merged = [et, rev]
            elif len(by_pair[(dst, src)]) == 1:
                rev = by_pair[(dst, src)][0]
                out.row[et], out.col[et], _ = to_bidirectional(self.row[et], self.col[et], self.row[rev],
                                                               self.col[rev])
                merged = [et]
            else:
                warnings.warn(f"Cannot convert to bidirectional graph since the edge type {et} does not seem to "
                              f"have a reverse edge type", stacklevel=2)
                merged = []
            if out.edge is not None:
                for k in merged:
                    out.edge[k] = None
        return out


def check_num_neighbors(values, default, edge_types) -> dict:
    """{edge_type: fan-outs} for every edge type, PyG's rules: a list applies to every type; a dict may only name
    existing types (tuples or 'src__rel__dst'), missing ones take `default`; every list has the same length."""
    strs = {edge_type_str(et): et for et in edge_types}
    if isinstance(values, (list, tuple)):
        out = {et: list(values) for et in edge_types}
    elif isinstance(values, dict):
        given = {}
        for key, v in values.items():
            name = edge_type_str(tuple(key) if isinstance(key, list) else key)
            if name not in strs:
                raise ValueError(f"num_neighbors names the edge type {key!r}, which is not in the graph's edge "
                                 f"types {list(edge_types)} (Not all edge types specified in 'num_neighbors' exist "
                                 f"in the graph)")
            given[strs[name]] = v
        out = {}
        for et in edge_types:
            if et in given:
                out[et] = given[et]
            elif default is not None:
                out[et] = list(default)
            else:
                raise ValueError(f"num_neighbors: Missing number of neighbors for edge type '{et}'")
    else:
        raise TypeError(f"num_neighbors must be a list of ints or a dict {{edge_type: list}}, got "
                        f"{type(values).__name__}")
    for et, v in out.items():
        try:
            out[et] = _check_fanouts(v)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"num_neighbors[{et!r}]: {exc}") from None
    hops = {len(v) for v in out.values()}
    if len(hops) > 1:
        raise ValueError(f"num_neighbors: Number of hops must be the same across all edge types (got "
                         f"{len(hops)} different number of hops: {sorted(hops)})")
    return out


class HeteroGraphCSC:
    """The per-edge-type CSC of a heterogeneous graph (built once, shared memory with workers)."""

    def __init__(self, data, time_attr=None, weight_attr=None, is_sorted=False, share_memory=False,
                 sample_direction="forward"):
        self.node_types, edge_types = data.metadata()
        self.node_types = list(self.node_types)
        self.orig_edge_types = [tuple(et) for et in edge_types]
        backward = sample_direction == "backward"
        # backward sampling walks the reversed edge types; the outputs are keyed by the original ones
        self.edge_types = [(et[2], et[1], et[0]) if backward else et for et in self.orig_edge_types]
        self.num_nodes = {}
        for nt in self.node_types:
            n = data[nt].num_nodes
            self.num_nodes[nt] = int(n or 0)
        self.node_time = self.edge_time = None
        self.timed_node_types = set()
        edge_times = {}
        if time_attr is not None:
            node_level = [nt for nt in self.node_types if time_attr in data[nt]]
            edge_level = [et for et in self.orig_edge_types if time_attr in data[et]]
            if node_level and edge_level:
                raise ValueError(f"The time attribute '{time_attr}' (time_attr) holds both node-level and "
                                 f"edge-level information")
            for et in edge_level:
                t = data[et][time_attr]
                ne = data[et]["edge_index"].size(1) if "edge_index" in data[et] else 0
                if not isinstance(t, torch.Tensor) or t.dim() != 1 or t.numel() != ne:
                    raise ValueError(f"The time attribute '{time_attr}' (time_attr) of edge type {et!r} must hold "
                                     f"one time per edge ({ne}), got {getattr(t, 'shape', type(t).__name__)}")
                edge_times[et] = t.cpu()
            if edge_level:
                as_float = any(t.is_floating_point() for t in edge_times.values())
                self.time_dtype = torch.float64 if as_float else torch.int64
            elif not node_level:
                raise ValueError(f"The time attribute '{time_attr}' (time_attr) is neither a node-level or "
                                 f"edge-level attribute")
            else:
                times = {nt: data[nt][time_attr].cpu() for nt in node_level}
                as_float = any(t.is_floating_point() for t in times.values())
                self.time_dtype = torch.float64 if as_float else torch.int64
                self.node_time = {nt: t.to(self.time_dtype) for nt, t in times.items()}
                self.timed_node_types = set(node_level)
                # node types without times are never filtered out (pyg-lib's rule)
                lowest = -float("inf") if as_float else torch.iinfo(torch.int64).min
                for nt in self.node_types:
                    if nt not in self.node_time:
                        self.node_time[nt] = torch.full((self.num_nodes[nt],), lowest, dtype=self.time_dtype)
                    elif share_memory:
                        self.node_time[nt].share_memory_()
        self.colptr, self.row, self.perm, self.weight, self.time = {}, {}, {}, {}, {}
        for et, oet in zip(self.edge_types, self.orig_edge_types):
            store = data[oet]
            n_src, n_dst = self.num_nodes[et[0]], self.num_nodes[et[2]]
            n = max(n_src, n_dst)
            ei = store["edge_index"] if "edge_index" in store else torch.empty(2, 0, dtype=torch.long)
            if ei.numel() and (int(ei[0].max()) >= self.num_nodes[oet[0]]
                               or int(ei[1].max()) >= self.num_nodes[oet[2]]):
                raise ValueError(f"data[{oet!r}].edge_index holds a node outside its node types' num_nodes "
                                 f"({self.num_nodes[oet[0]]}, {self.num_nodes[oet[2]]}): mismatched metadata")
            # the kernel wants one node range: pad the CSC to max(N_src, N_dst) (the extra rows are empty)
            pre = None
            if self.node_time is not None and not is_sorted and ei.numel():
                # PyG's CSC for temporal sampling: neighbours sorted by their time within each node's column
                nb = ei[1] if backward else ei[0]
                pre = self.node_time[et[0]][nb].argsort(stable=True)
                ei = ei[:, pre]
            elif oet in edge_times and not is_sorted and ei.numel():
                pre = edge_times[oet].argsort(stable=True)  # sorted by edge time (PyG's sort_csc)
                ei = ei[:, pre]
            colptr, row, perm = to_csc(ei, n, is_sorted, share_memory, transpose=backward)
            if pre is not None:
                perm = pre[perm] if perm is not None else pre
            self.colptr[et], self.row[et], self.perm[oet] = colptr, row, perm
            if weight_attr is not None:
                if weight_attr not in store:
                    raise ValueError(f"The weight attribute '{weight_attr}' (weight_attr) is missing from edge "
                                     f"type {oet!r}")
                w = store[weight_attr].cpu()
                self.weight[et] = w[perm] if perm is not None else w
            if self.node_time is not None:
                t = self.node_time[et[0]]
                pad = t.new_zeros(n - t.numel())
                self.time[et] = torch.cat([t, pad]) if pad.numel() else t
            if oet in edge_times:
                t = edge_times[oet].to(self.time_dtype)
                t = t[perm] if perm is not None else t
                if share_memory:
                    t.share_memory_()
                self.edge_time = self.edge_time or {}
                self.edge_time[et] = t
        self.backward = backward


class RemoteHeteroView:
    """A typed (FeatureStore, GraphStore) pair seen through the few HeteroData methods HeteroGraphCSC reads:
    metadata(), data[node_type].num_nodes / node-level tensors (time), data[edge_type]['edge_index'] (COO)."""

    def __init__(self, feature_store, graph_store):
        self.feature_store, self.graph_store = feature_store, graph_store
        self.edge_attrs = {}
        for attr in graph_store.get_all_edge_attrs():
            self.edge_attrs.setdefault(tuple(attr.edge_type), attr)
        node_types = []
        for attr in feature_store.get_all_tensor_attrs():
            if attr.group_name is not None and attr.group_name not in node_types:
                node_types.append(attr.group_name)
        for et in self.edge_attrs:
            for nt in (et[0], et[-1]):
                if nt not in node_types:
                    node_types.append(nt)
        self._node_types, self._edge_types = node_types, list(self.edge_attrs)
        self._coo = None

    @property
    def _edge_index(self) -> dict:
        if self._coo is None:
            rows, cols, _ = self.graph_store.coo(self._edge_types)
            self._coo = {et: torch.stack([rows[et], cols[et]]).long() for et in self._edge_types}
        return self._coo

    def _to_canonical(self, *args):
        return args[0] if len(args) == 1 else tuple(args)

    def metadata(self):
        return self._node_types, self._edge_types

    def num_nodes(self, nt) -> int:
        for attr in self.feature_store.get_all_tensor_attrs():
            if attr.group_name == nt:
                attr = copy.copy(attr)
                attr.index = None
                size = self.feature_store.get_tensor_size(attr)
                if size is not None:
                    return int(size[0])
        for et, attr in self.edge_attrs.items():
            if attr.size is not None:
                if et[0] == nt:
                    return int(attr.size[0])
                if et[-1] == nt:
                    return int(attr.size[1])
        n = 0
        if nt not in self._node_types:
            return 0
        for et, ei in self._edge_index.items():
            for i, t in ((0, et[0]), (1, et[-1])):
                if t == nt and ei.numel():
                    n = max(n, int(ei[i].max()) + 1)
        return n

    def __getitem__(self, key):
        view = self

        class _Node:
            num_nodes = view.num_nodes(key)

            def __contains__(self, name):
                attrs = view.feature_store.get_all_tensor_attrs()
                return any(a.group_name == key and a.attr_name == name for a in attrs)

            def __getitem__(self, name):
                return view.feature_store.get_tensor(key, name, None)

        class _Edge(dict):
            def __getattr__(self, name):
                try:
                    return self[name]
                except KeyError:
                    raise AttributeError(name) from None

        if isinstance(key, tuple):
            return _Edge(edge_index=self._edge_index[key])
        return _Node()


def _lookup(sorted_keys, sorted_local, keys):
    pos = torch.searchsorted(sorted_keys, keys).clamp_(max=max(sorted_keys.numel() - 1, 0))
    if sorted_keys.numel() == 0:
        return torch.full_like(keys, -1), torch.zeros_like(keys, dtype=torch.bool)
    found = sorted_keys[pos] == keys
    return sorted_local[pos], found


class _TypeState:
    """Sampled nodes of one type: keys (node, or batch * N + node when disjoint) in order, with a sorted index."""

    def __init__(self, n: int):
        self.n = max(n, 1)
        self.keys = []
        self.count = 0
        self.sorted_keys = torch.empty(0, dtype=torch.long)
        self.sorted_local = torch.empty(0, dtype=torch.long)
        self.hops = []

    def add(self, keys: torch.Tensor) -> torch.Tensor:
        """Appends the keys not seen yet (first occurrence order); returns the local id of every key."""
        if keys.numel() == 0:
            self.hops_add(0)
            return keys
        uniq, inverse = torch.unique(keys, return_inverse=True)
        first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.long)
        first.scatter_reduce_(0, inverse, torch.arange(keys.numel()), reduce="amin")
        _, seen = _lookup(self.sorted_keys, self.sorted_local, uniq)
        new = (~seen).nonzero().view(-1)
        new = new[first[new].argsort()]  # first-occurrence order
        new_keys = uniq[new]
        new_local = torch.arange(self.count, self.count + new.numel())
        self.keys.append(new_keys)
        self.count += new.numel()
        self.hops_add(new.numel())
        sk = torch.cat([self.sorted_keys, new_keys])
        sl = torch.cat([self.sorted_local, new_local])
        sk, order = sk.sort()
        self.sorted_keys, self.sorted_local = sk, sl[order]
        local, _ = _lookup(self.sorted_keys, self.sorted_local, keys)
        return local

    def hops_add(self, k: int) -> None:
        self.hops[-1] += k

    def all_keys(self) -> torch.Tensor:
        return torch.cat(self.keys) if self.keys else torch.empty(0, dtype=torch.long)


def hetero_sample(graph: HeteroGraphCSC, num_neighbors: dict, seed_dict: dict, seed_time_dict=None,
                  replace=False, disjoint=False, induced=False, generator=None,
                  temporal_strategy: str = "uniform") -> HeteroSamplerOutput:
    """Samples the typed neighbourhood of `seed_dict` ({node_type: (B_t,) seeds}); see the module docstring.
    Edge-level times (graph.edge_time) and temporal_strategy='last' take meshgraph.sampling.temporal's hop (edge
    types without times, and with 'last' those whose neighbour type has no time, draw uniformly, pyg-lib's rule)."""
    for nt, seed in seed_dict.items():
        if nt not in graph.num_nodes:
            raise ValueError(f"input_nodes: node type {nt!r} is not in the graph (node types {graph.node_types})")
        if seed.numel() and (int(seed.min()) < 0 or int(seed.max()) >= graph.num_nodes[nt]):
            bad = int(seed.max()) if int(seed.min()) >= 0 else int(seed.min())
            raise IndexError(f"input_nodes holds {nt!r} node {bad}, "
                             f"outside [0, {graph.num_nodes[nt]}) (num_nodes of {nt!r})")
    temporal = graph.node_time is not None or graph.edge_time is not None
    disjoint = disjoint or temporal
    L = len(next(iter(num_neighbors.values()))) if num_neighbors else 0
    state = {nt: _TypeState(graph.num_nodes[nt]) for nt in graph.node_types}
    frontier = {}  # nt -> (global nodes, local ids, batch or None)
    # seeds: batch ids count across the seed types (PyG: each type's seeds are numbered from 0)
    seed_batch = {}
    for nt in graph.node_types:
        st = state[nt]
        st.hops.append(0)
        seed = seed_dict.get(nt)
        if seed is None:
            continue
        seed = seed.long().cpu()
        b = torch.arange(seed.numel())
        seed_batch[nt] = b
        keys = b * st.n + seed if disjoint else seed
        # every seed slot is a node of its own, even if ids repeat (as the homogeneous op and pyg-lib do); a
        # repeated id maps to its first slot
        st.keys.append(keys)
        st.count = keys.numel()
        st.hops[-1] = keys.numel()
        uniq, inverse = torch.unique(keys, return_inverse=True)
        first = torch.full((uniq.numel(),), keys.numel(), dtype=torch.long)
        first.scatter_reduce_(0, inverse, torch.arange(keys.numel()), reduce="amin")
        st.sorted_keys, st.sorted_local = uniq, first
        local = torch.arange(keys.numel())
        frontier[nt] = (seed, local, b if disjoint else None)
    if temporal:
        if seed_time_dict is None and graph.edge_time is not None:
            raise ValueError("edge-level temporal sampling needs the seeds' times: pass input_time (NeighborLoader) "
                             "or edge_label_time (LinkNeighborLoader)")
        if seed_time_dict is None:
            seed_time_dict = {}
            for nt, seed in seed_dict.items():
                if nt not in graph.node_time:
                    raise ValueError(f"temporal sampling: seed node type {nt!r} has no time attribute")
                seed_time_dict[nt] = graph.node_time[nt][seed.long().cpu()]
        seed_time_dict = {k: v.cpu() for k, v in seed_time_dict.items() if v is not None}
    rows = {et: [] for et in graph.edge_types}
    cols = {et: [] for et in graph.edge_types}
    edges = {et: [] for et in graph.edge_types}
    n_edges = {et: [] for et in graph.edge_types}
    for h in range(L):
        for nt in graph.node_types:
            state[nt].hops.append(0)
        new_frontier_local = {nt: [] for nt in graph.node_types}
        for et in graph.edge_types:
            src, _, dst = et
            k = num_neighbors[et][h]
            f = frontier.get(dst)
            if k == 0 or f is None or f[0].numel() == 0:
                n_edges[et].append(0)
                continue
            f_node, f_local, f_batch = f
            st_time = None
            time = graph.time.get(et) if graph.node_time is not None else None
            edge_time = graph.edge_time.get(et) if graph.edge_time is not None else None
            if temporal:
                # the root seed of each frontier entry: its batch, within the seed type(s)
                st_time = _frontier_time(f_batch, seed_time_dict)
            if edge_time is not None or (time is not None and temporal_strategy == "last"
                                         and src in graph.timed_node_types):
                from .temporal import temporal_hop

                slot, edge = temporal_hop(graph.colptr[et], graph.row[et], f_node, st_time, k, replace,
                                          temporal_strategy, node_time=None if edge_time is not None else time,
                                          edge_time=edge_time, generator=generator)
                src_global = graph.row[et][edge]
            else:
                if graph.edge_time is not None:  # an untimed edge type of an edge-time graph: no filter
                    time = st_time = None
                ns = torch.ops.meshgraph.neighbor_sample(
                    graph.colptr[et], graph.row[et], f_node, [k], replace, True, True, graph.weight.get(et), time,
                    st_time.to(graph.time_dtype) if st_time is not None else None, draw_rng_seed(generator))
                node, trow, tcol, edge = ns[0], ns[1], ns[2], ns[3]
                src_global = node[tcol]
                slot = trow
            st = state[src]
            if disjoint:
                keys = f_batch[slot] * st.n + src_global
            else:
                keys = src_global
            src_local = st.add(keys)
            rows[et].append(src_local)
            cols[et].append(f_local[slot])
            edges[et].append(edge)
            n_edges[et].append(int(edge.numel()))
        # the next frontier: the nodes added at this hop, per type
        frontier = {}
        for nt in graph.node_types:
            st = state[nt]
            k = st.hops[-1]
            if k == 0:
                continue
            keys = st.all_keys()[st.count - k:]
            local = torch.arange(st.count - k, st.count)
            if disjoint:
                frontier[nt] = (keys % st.n, local, keys // st.n)
            else:
                frontier[nt] = (keys, local, None)
    node, batch = {}, {} if disjoint else None
    for nt in graph.node_types:
        keys = state[nt].all_keys()
        if disjoint:
            node[nt] = keys % state[nt].n
            batch[nt] = keys // state[nt].n
        else:
            node[nt] = keys
    row, col, edge = {}, {}, {}
    out_type = dict(zip(graph.edge_types, graph.orig_edge_types))
    for et in graph.edge_types:
        cat = (lambda xs: torch.cat(xs) if xs else torch.empty(0, dtype=torch.long))
        r, c, e = cat(rows[et]), cat(cols[et]), cat(edges[et])
        if induced:
            r, c, e = _induced(graph, et, node, batch)
        if graph.backward:
            r, c = c, r
        oet = out_type[et]
        row[oet], col[oet], edge[oet] = r, c, e
    return HeteroSamplerOutput(
        node=node, row=row, col=col, edge=edge, batch=batch,
        num_sampled_nodes={nt: list(state[nt].hops) for nt in graph.node_types},
        num_sampled_edges={out_type[et]: n_edges[et] for et in graph.edge_types})


def _frontier_time(f_batch, seed_time_dict):
    # PyG numbers each seed type's seeds from 0 and uses the time of the seed of the same slot; with one seed type
    # (node loaders) or two of equal length (link loaders) that is the link's time
    times = max(seed_time_dict.values(), key=lambda t: t.numel())
    return times[f_batch]


def _induced(graph, et, node, batch):
    """Every edge of et among the sampled nodes (same batch when disjoint): a scan of the dst nodes' CSC rows."""
    src, _, dst = et
    dst_nodes, src_nodes = node[dst], node[src]
    colptr, row = graph.colptr[et], graph.row[et]
    if dst_nodes.numel() == 0 or src_nodes.numel() == 0:
        e = torch.empty(0, dtype=torch.long)
        return e, e, e
    start, end = colptr[dst_nodes], colptr[dst_nodes + 1]
    deg = end - start
    c = torch.repeat_interleave(torch.arange(dst_nodes.numel()), deg)
    offs = torch.repeat_interleave(start - torch.cumsum(deg, 0) + deg, deg)
    e = offs + torch.arange(int(deg.sum()))
    nb = row[e]
    n = max(graph.num_nodes[src], 1)
    if batch is not None:
        skeys = batch[src] * n + src_nodes
        qkeys = batch[dst][c] * n + nb
    else:
        skeys, qkeys = src_nodes, nb
    sk, order = skeys.sort()
    r, found = _lookup(sk, order, qkeys)
    return r[found], c[found], e[found]


def hetero_node_sample(inputs, sample_fn, node_types) -> HeteroSamplerOutput:
    """Samples from seeds of node type `inputs.input_type`; metadata = (input_id, time)."""
    nt = inputs.input_type
    if nt not in node_types:
        raise ValueError(f"input_nodes: node type {nt!r} is not in the graph (node types {list(node_types)})")
    out = sample_fn({nt: inputs.node}, {nt: inputs.time} if inputs.time is not None else None)
    out.metadata = (inputs.input_id, inputs.time)
    return out


def hetero_edge_sample(inputs, sample_fn, num_nodes: dict, disjoint: bool, node_time=None,
                       neg_sampling=None) -> HeteroSamplerOutput:
    """PyG's edge_sample for a typed seed link set (`inputs.input_type` = (src, rel, dst)); metadata as the
    homogeneous edge_sample (binary: input_id, edge_label_index, edge_label, time; triplet: input_id, src_index,
    dst_pos_index, dst_neg_index, time)."""
    import math

    from .sampler import neg_sample

    et = tuple(inputs.input_type)
    s_t, d_t = et[0], et[-1]
    input_id, src, dst = inputs.input_id, inputs.row, inputs.col
    edge_label, edge_label_time = inputs.label, inputs.time
    src_time = dst_time = edge_label_time
    for name, t, nt in (("edge_label_index[0]", src, s_t), ("edge_label_index[1]", dst, d_t)):
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_nodes[nt]):
            raise IndexError(f"{name} holds a node outside [0, {num_nodes[nt]}) (num_nodes of {nt!r})")
    num_pos, num_neg = src.numel(), 0
    nt_time = (lambda nt: node_time.get(nt) if node_time is not None else None)
    if neg_sampling is not None:
        num_neg = math.ceil(num_pos * neg_sampling.amount)
        if neg_sampling.is_binary():
            src = torch.cat([src, neg_sample(src, neg_sampling, num_nodes[s_t], src_time, nt_time(s_t), "src")])
            dst = torch.cat([dst, neg_sample(dst, neg_sampling, num_nodes[d_t], dst_time, nt_time(d_t), "dst")])
            if edge_label is None:
                edge_label = torch.ones(num_pos)
            edge_label = torch.cat([edge_label, edge_label.new_zeros((num_neg,) + edge_label.size()[1:])])
            if edge_label_time is not None:
                src_time = dst_time = edge_label_time.repeat(1 + math.ceil(neg_sampling.amount))[:num_pos + num_neg]
        else:
            dst = torch.cat([dst, neg_sample(dst, neg_sampling, num_nodes[d_t], dst_time, nt_time(d_t), "dst")])
            if edge_label_time is not None:
                dst_time = edge_label_time.repeat(1 + neg_sampling.amount)
    seed_time_dict = None
    if s_t != d_t:
        if not disjoint:
            src, inverse_src = src.unique(return_inverse=True)
            dst, inverse_dst = dst.unique(return_inverse=True)
        seed_dict = {s_t: src, d_t: dst}
        if edge_label_time is not None:
            seed_time_dict = {s_t: src_time, d_t: dst_time}
    else:
        seed = torch.cat([src, dst])
        if not disjoint:
            seed, inverse_seed = seed.unique(return_inverse=True)
        seed_dict = {s_t: seed}
        if edge_label_time is not None:
            seed_time_dict = {s_t: torch.cat([src_time, dst_time])}
    out = sample_fn(seed_dict, seed_time_dict)
    if disjoint and num_pos:
        out.batch = {k: b % num_pos for k, b in out.batch.items()}
    if neg_sampling is None or neg_sampling.is_binary():
        if disjoint:
            if s_t != d_t:
                edge_label_index = torch.arange(num_pos + num_neg).repeat(2).view(2, -1)
            else:
                edge_label_index = torch.arange(2 * (num_pos + num_neg)).view(2, -1)
        elif s_t != d_t:
            edge_label_index = torch.stack([inverse_src, inverse_dst])
        else:
            edge_label_index = inverse_seed.view(2, -1)
        out.metadata = (input_id, edge_label_index, edge_label, src_time)
    else:
        if disjoint:
            src_index = torch.arange(num_pos)
            if s_t != d_t:
                dst_pos_index = torch.arange(num_pos)
                dst_neg_index = torch.arange(num_pos, seed_dict[d_t].numel()).view(-1, num_pos).t()
            else:
                dst_pos_index = torch.arange(num_pos, 2 * num_pos)
                dst_neg_index = torch.arange(2 * num_pos, seed_dict[d_t].numel()).view(-1, num_pos).t()
        elif s_t != d_t:
            src_index, dst_pos_index, dst_neg_index = inverse_src, inverse_dst[:num_pos], inverse_dst[num_pos:]
        else:
            src_index = inverse_seed[:num_pos]
            dst_pos_index = inverse_seed[num_pos:2 * num_pos]
            dst_neg_index = inverse_seed[2 * num_pos:]
        dst_neg_index = dst_neg_index.reshape(num_pos, -1).squeeze(-1)
        out.metadata = (input_id, src_index, dst_pos_index, dst_neg_index, src_time)
    return out


__all__ = ["HeteroGraphCSC", "HeteroSamplerOutput", "RemoteHeteroView", "check_num_neighbors", "edge_type_str",
           "hetero_edge_sample", "hetero_node_sample",
           "hetero_sample"]
