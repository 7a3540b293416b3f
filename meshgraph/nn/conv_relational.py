"""Relational convolutions with PyG 2.8's constructors, forward signatures, parameter names and shapes (PyG state
dicts load) and semantics: RGCNConv, FastRGCNConv and FiLMConv.

Per-relation aggregation is fused: the edges are read once as edges into (destination, relation) slots, row
`dst * num_relations + edge_type` of an (N_dst * num_relations) output, and reduced there in one pass. RGCNConv
aggregates the input features into those slots on the fused gather-scatter kernel (no (E, F) messages, no
per-relation edge copies) and applies every relation's weight in one GEMM over the (N_dst, num_relations * F)
view (block-diagonal weights: one batched contraction); featureless inputs (node indices) aggregate rows of the
weight itself. FiLMConv's messages are FiLM-modulated per edge by definition: they are formed once per edge (not
once per relation) and reduced into the same slots. PyG instead masks the edge list once per relation
(FastRGCNConv: one (in x out) weight copy per edge).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .._utils import check_index_range, check_positive_int
from ..ops.adjacency import Adjacency, build_adjacency, cached_value
from ..ops.gather_scatter import aggregate as _fused_aggregate
from ._edges import edge_adjacency, is_graph_batch, is_sparse, read_edges
from .conv import _glorot, _observed, _pair, reset
from .conv_edge import _num_edges
from .conv_spectral import _check_width
from .linear import Linear
from .message_passing import _FUSED_REDUCE, MessagePassing

_INDEX_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _relations(layer: MessagePassing, edge_index, edge_type, n_src: int, n_dst: int, size=None):
    """(index_j, index_i, edge_type as int64) of the edges, validated: edge_type one relation per edge in
    [0, num_relations) (a SparseTensor's values when edge_type is None); ValueErrors name the argument."""
    name = type(layer).__name__
    edges = read_edges(edge_index, layer.flow, None if is_sparse(edge_index) else size)
    if edge_type is None and edges.sparse:
        edge_type = edges.value
    E = edges.index_j.numel()
    if edge_type is None:
        raise ValueError(f"{name}: edge_type is required (one relation per edge), unless edge_index is a "
                         f"SparseTensor whose values hold it")
    if not isinstance(edge_type, torch.Tensor) or edge_type.dtype not in _INDEX_DTYPES:
        raise ValueError(f"{name}: edge_type must be an integer tensor, got "
                         f"{edge_type.dtype if isinstance(edge_type, torch.Tensor) else type(edge_type).__name__}")
    if edge_type.dim() != 1 or edge_type.numel() != E:
        raise ValueError(f"{name}: edge_type must have shape ({E},) (one relation per edge), got "
                         f"{tuple(edge_type.shape)}")
    try:
        check_index_range(edge_type, "edge_type", layer.num_relations)
    except ValueError as e:
        raise ValueError(f"{name}: {e} (num_relations={layer.num_relations})") from None
    check_index_range(edges.index_j, "edge_index", n_src)
    check_index_range(edges.index_i, "edge_index", n_dst)
    return edges.index_j.long(), edges.index_i.long(), edge_type.long()


class _Slots:
    """The edges of one call read into (destination, relation) slots: j (E,) sources, i (E,) destinations,
    t (E,) relations (int64), slots = i * R + t; `adj` (built on first use) the Adjacency from the source nodes
    into the N_dst * R slots."""

    __slots__ = ("j", "i", "t", "slots", "num_src", "num_slots", "_adj", "_holder")

    def __init__(self, j, i, t, R, n_src, n_dst, slots=None, adj=None, holder=None):
        self.j, self.i, self.t = j, i, t
        self.slots = slots if slots is not None else (i * R + t if R > 1 else i)
        self.num_src, self.num_slots = n_src, n_dst * R
        self._adj, self._holder = adj, holder

    def adjacency(self) -> Adjacency:
        if self._adj is None:
            self._adj = build_adjacency(torch.stack([self.j, self.slots]), self.num_slots, num_src=self.num_src)
            cached = self._holder[2] if self._holder is not None else None
            if cached is not None and cached[3] is self.slots:  # keep it with the cached edges
                self._holder[2] = (*cached[:4], tuple(self._adj))
        return self._adj


def _edge_slots(layer: MessagePassing, edge_index, edge_type, n_src: int, n_dst: int, relational: bool) -> _Slots:
    """The validated edges of a call as `_Slots`. For a (2, E) edge_index (or a GraphBatch) and an edge_type tensor,
    they are cached on edge_type (one entry per layout, tied to that edge_index tensor and both tensors' versions):
    a fixed graph is read, validated and sorted once, not on every call."""
    R = layer.num_relations if relational else 1
    ref = edge_index.edge_index if is_graph_batch(edge_index) else edge_index
    cacheable = (relational and isinstance(edge_type, torch.Tensor) and isinstance(ref, torch.Tensor)
                 and not is_sparse(ref) and edge_type.dim() == 1 and edge_type.numel() == _num_edges(edge_index))

    def read():
        if relational:
            j, i, t = _relations(layer, edge_index, edge_type, n_src, n_dst, (n_src, n_dst))
        else:
            edges = read_edges(edge_index, layer.flow, None if is_sparse(edge_index) else (n_src, n_dst))
            check_index_range(edges.index_j, "edge_index", n_src)
            check_index_range(edges.index_i, "edge_index", n_dst)
            j, i = edges.index_j.long(), edges.index_i.long()
            t = torch.zeros_like(j)
        return j, i, t

    if not cacheable:
        return _Slots(*read(), R, n_src, n_dst)
    key = ("relational_slots", layer.flow, R, n_src, n_dst)
    holder = cached_value(edge_type, key, lambda: [None, -1, None])
    if holder[0] is not ref or holder[1] != ref._version or holder[2] is None:
        j, i, t = read()
        holder[:] = [ref, ref._version, (j, i, t, i * R + t, None)]
    j, i, t, slots, adj = holder[2]
    return _Slots(j, i, t, R, n_src, n_dst, slots, None if adj is None else Adjacency(*adj), holder)


def _slot_reduce(layer: MessagePassing, src: torch.Tensor, slots: _Slots,
                 rows: torch.Tensor | None = None) -> torch.Tensor:
    """out[s] = aggr over the edges e in slot s of src[j_e] (or of src[rows[e]]): the fused kernel for sum / mean /
    max / min (no (E, F) rows), else the aggregation module on the gathered rows."""
    reduce = _FUSED_REDUCE.get(type(layer.aggr_module))
    if reduce is not None and src.is_floating_point():
        if rows is None:
            adj = slots.adjacency()
        else:
            adj = build_adjacency(torch.stack([rows, slots.slots]), slots.num_slots, num_src=src.shape[0])
        return _fused_aggregate(src, adj, None, reduce)
    index = slots.j if rows is None else rows
    return layer.aggr_module(src.index_select(0, index), slots.slots, dim_size=slots.num_slots, dim=0)


# ---------------------------------------------------------------------- RGCN


class RGCNConv(MessagePassing):
    """Relational graph convolution (Schlichtkrull et al. 2018), PyG's RGCNConv:
    out_i = x_i @ root + bias + sum_r aggr_{j in N_r(i)} x_j @ W_r.

    Args:
        in_channels: int or (src, dst) pair; x may be None or a node-index tensor (featureless: W_r's rows are
            the node embeddings, root indexed by x_dst).
        out_channels, num_relations: widths and relation count (edge_type in [0, num_relations)).
        num_bases: W_r = sum_b comp[r, b] basis_b (weight (num_bases, in, out), comp (num_relations, num_bases)).
        num_blocks: block-diagonal W_r (weight (num_relations, num_blocks, in/num_blocks, out/num_blocks)).
        aggr: per-relation aggregation ("mean" default, "add"/"sum", "max", "min", or another aggregation).
        root_weight, bias; is_sorted (accepted as PyG; the fused path never needs sorted edges).

    forward(x, edge_index, edge_type=None): edge_index a (2, E) edge_index, a GraphBatch or a SparseTensor-like
    adj_t whose values are the edge types.
    """

    _rows_by_node_id = False  # featureless rows: W[t, x[j]] (FastRGCNConv, as PyG: W[t, j])

    def __init__(self, in_channels, out_channels: int, num_relations: int, num_bases: int | None = None,
                 num_blocks: int | None = None, aggr: str = "mean", root_weight: bool = True, is_sorted: bool = False,
                 bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", aggr)
        super().__init__(node_dim=0, **kwargs)
        if num_bases is not None and num_blocks is not None:
            raise ValueError("Can not apply both basis-decomposition and block-diagonal-decomposition at the same "
                             "time.")
        num_relations = check_positive_int(num_relations, "num_relations")
        if num_bases is not None:
            num_bases = check_positive_int(num_bases, "num_bases")
        if num_blocks is not None:
            num_blocks = check_positive_int(num_blocks, "num_blocks")
        self.in_channels, self.out_channels, self.num_relations = in_channels, out_channels, num_relations
        self.num_bases, self.num_blocks, self.is_sorted = num_bases, num_blocks, is_sorted
        in_pair = _pair(in_channels)
        self.in_channels_l = in_pair[0]
        if num_bases is not None:
            self.weight = nn.Parameter(torch.empty(num_bases, in_pair[0], out_channels))
            self.comp = nn.Parameter(torch.empty(num_relations, num_bases))
        elif num_blocks is not None:
            if in_pair[0] % num_blocks or out_channels % num_blocks:
                raise ValueError(f"{type(self).__name__}: in_channels ({in_pair[0]}) and out_channels ({out_channels}) "
                                 f"must be divisible by num_blocks ({num_blocks})")
            self.weight = nn.Parameter(torch.empty(num_relations, num_blocks, in_pair[0] // num_blocks,
                                                   out_channels // num_blocks))
            self.register_parameter("comp", None)
        else:
            self.weight = nn.Parameter(torch.empty(num_relations, in_pair[0], out_channels))
            self.register_parameter("comp", None)
        if root_weight:
            self.root = nn.Parameter(torch.empty(in_pair[1], out_channels))
        else:
            self.register_parameter("root", None)
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        _glorot(self.weight)
        _glorot(self.comp)
        _glorot(self.root)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _relation_weight(self) -> torch.Tensor:
        """(num_relations, in, out) (or the block layout) with the basis decomposition applied."""
        if self.num_bases is None:
            return self.weight
        return (self.comp @ self.weight.view(self.num_bases, -1)).view(self.num_relations, self.in_channels_l,
                                                                       self.out_channels)

    def forward(self, x, edge_index, edge_type: torch.Tensor | None = None) -> torch.Tensor:
        x_l = x[0] if isinstance(x, tuple) else x
        if x_l is None:
            x_l = torch.arange(self.in_channels_l, device=self.weight.device)
        x_r = x[1] if isinstance(x, tuple) else x_l
        name, R, out_c = type(self).__name__, self.num_relations, self.out_channels
        featureless = not torch.is_floating_point(x_l)
        if featureless:
            if self.num_blocks is not None:
                raise ValueError("Block-diagonal decomposition not supported for non-continuous input features.")
            if x_l.dim() != 1:
                raise ValueError(f"{name}: node-index input x must be 1-D, got shape {tuple(x_l.shape)}")
            check_index_range(x_l, "x", self.in_channels_l)
        else:
            if x_l.dim() != 2:
                raise ValueError(f"{name} expects x of shape (N, {self.in_channels_l}), got {tuple(x_l.shape)}")
            _check_width(self, x_l, self.in_channels_l, "x" if x_r is x_l else "x[0]")
        if torch.is_floating_point(x_r):
            if self.root is not None:
                _check_width(self, x_r, _pair(self.in_channels)[1], "x" if x_r is x_l else "x[1]")
        elif self.root is not None:
            check_index_range(x_r, "x", self.root.shape[0])
        n_src, n_dst = x_l.size(0), x_r.size(0)
        slots = _edge_slots(self, edge_index, edge_type, n_src, n_dst, True)
        weight = self._relation_weight()
        if featureless:  # aggregate rows of the weight itself: W[t_e, x_l[j_e]] into each slot
            j = slots.j
            rows = slots.t * self.in_channels_l + (j if self._rows_by_node_id else x_l.long().index_select(0, j))
            h = _slot_reduce(self, weight.reshape(R * self.in_channels_l, out_c), slots, rows)
            out = h.view(n_dst, R, out_c).sum(dim=1)
        else:
            h = _slot_reduce(self, x_l, slots)  # (n_dst * R, in)
            if self.num_blocks is not None:
                nb = self.num_blocks
                h = h.view(n_dst, R, nb, self.in_channels_l // nb)
                out = torch.einsum("nrbc,rbcd->nbd", h, weight).reshape(n_dst, out_c)
            else:
                out = h.view(n_dst, R * self.in_channels_l) @ weight.reshape(R * self.in_channels_l, out_c)
        if self.root is not None:
            out = out + (self.root[x_r] if not torch.is_floating_point(x_r) else x_r @ self.root)
        if self.bias is not None:
            out = out + self.bias
        return out

    def message(self, x_j: torch.Tensor, edge_type_ptr: torch.Tensor | None) -> torch.Tensor:
        return x_j

    def message_and_aggregate(self, adj_t, x: torch.Tensor) -> torch.Tensor:
        """Unweighted aggregation over a sparse adj_t (its values are edge types, not weights)."""
        edges = read_edges(adj_t)
        n_src, n_dst = edges.size
        reduce = _FUSED_REDUCE.get(type(self.aggr_module), "sum")
        return _fused_aggregate(x, edge_adjacency(edges, n_src, n_dst), None, reduce)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_relations={self.num_relations})"


class FastRGCNConv(RGCNConv):
    """PyG's FastRGCNConv: RGCNConv's math for aggr "add" / "sum" / "mean" (PyG gathers one weight matrix per
    edge; here it is RGCNConv's fused per-relation aggregation, with no per-edge weight copies). Featureless input
    rows are W[edge_type, j] for source node j whatever x holds, as PyG's FastRGCNConv."""

    _rows_by_node_id = True

    def forward(self, x, edge_index, edge_type: torch.Tensor | None = None) -> torch.Tensor:
        self.fuse = False
        if self.aggr not in ("add", "sum", "mean"):
            raise ValueError(f"FastRGCNConv supports aggr 'add', 'sum' or 'mean', got {self.aggr!r}")
        return super().forward(x, edge_index, edge_type)

    def message(self, x_j: torch.Tensor, edge_type: torch.Tensor, edge_index_j: torch.Tensor) -> torch.Tensor:
        weight = self._relation_weight()
        if self.num_blocks is not None:
            if not torch.is_floating_point(x_j):
                raise ValueError("Block-diagonal decomposition not supported for non-continuous input features.")
            w = weight[edge_type].view(-1, weight.size(2), weight.size(3))
            return torch.bmm(x_j.view(-1, 1, w.size(1)), w).view(-1, self.out_channels)
        if not torch.is_floating_point(x_j):
            return weight.view(-1, self.out_channels)[edge_type * weight.size(1) + edge_index_j]
        return torch.bmm(x_j.unsqueeze(-2), weight[edge_type]).squeeze(-2)

    def aggregate(self, inputs: torch.Tensor, edge_type: torch.Tensor, index: torch.Tensor,
                  dim_size: int | None = None) -> torch.Tensor:
        from ..ops.scatter import scatter

        if self.aggr == "mean":  # each relation's messages averaged per destination, then summed
            n = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
            slots = index.long() * self.num_relations + edge_type.long()
            count = torch.bincount(slots, minlength=n * self.num_relations).to(inputs.dtype)
            inputs = inputs / count[slots].clamp(min=1.0).view(-1, 1)
        return scatter(inputs, index, dim=self.node_dim, dim_size=dim_size)


# ---------------------------------------------------------------------- FiLM


class FiLMConv(MessagePassing):
    """Feature-wise linear modulation graph convolution (Brockschmidt 2020), PyG's FiLMConv:
    out_i = act(gamma_skip(x_i) * lin_skip(x_i) + beta_skip(x_i))
            + sum_r aggr_{j in N_r(i)} act(gamma_r(x_i) * lin_r(x_j) + beta_r(x_i)),
    (beta, gamma) the two halves of films[r](x_i) (film_skip for the root term).

    Every edge's message is formed once, with its own relation's lin / film, and reduced into its (destination,
    relation) slot; num_relations <= 1 ignores edge_type (PyG)."""

    def __init__(self, in_channels, out_channels: int, num_relations: int = 1, nn=None, act=torch.nn.ReLU(),
                 aggr: str = "mean", **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_relations = max(num_relations, 1)
        self.act = act
        in_pair = _pair(in_channels)
        self.lins = torch.nn.ModuleList()
        self.films = torch.nn.ModuleList()
        for _ in range(num_relations):
            self.lins.append(Linear(in_pair[0], out_channels, bias=False))
            self.films.append(Linear(in_pair[1], 2 * out_channels) if nn is None else copy.deepcopy(nn))
        self.lin_skip = Linear(in_pair[1], out_channels, bias=False)
        self.film_skip = Linear(in_pair[1], 2 * out_channels, bias=False) if nn is None else copy.deepcopy(nn)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin, film in zip(self.lins, self.films):
            lin.reset_parameters()
            reset(film)
        self.lin_skip.reset_parameters()
        reset(self.film_skip)

    def _film(self, module, x: torch.Tensor):
        h = module(x)
        if h.size(-1) != 2 * self.out_channels:
            raise ValueError(f"{type(self).__name__}: nn must map x to 2 * out_channels = {2 * self.out_channels} "
                             f"channels (beta, gamma), got shape {tuple(h.shape)}")
        return h

    def forward(self, x, edge_index, edge_type: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        name, R, C = type(self).__name__, self.num_relations, self.out_channels
        in_pair = _pair(self.in_channels)
        for k, (t, w) in enumerate(zip(x, in_pair)):
            _check_width(self, t, w, "x" if x[0] is x[1] else f"x[{k}]")
        beta, gamma = self._film(self.film_skip, x[1]).split(C, dim=-1)
        out = gamma * self.lin_skip(x[1]) + beta
        if self.act is not None:
            out = self.act(out)
        n_src, n_dst = x[0].size(0), x[1].size(0)
        if _observed(self, FiLMConv):
            return out + self._propagated(x, edge_index, edge_type, n_src, n_dst)
        slots = _edge_slots(self, edge_index, edge_type, n_src, n_dst, R > 1)
        j, i, t = slots.j, slots.i, slots.t
        h = torch.stack([lin(x[0]) for lin in self.lins]).view(R * n_src, C)
        bg = torch.stack([self._film(film, x[1]) for film in self.films]).view(R * n_dst, 2 * C)
        x_j = h.index_select(0, t * n_src + j)
        b_i, g_i = bg.index_select(0, t * n_dst + i).split(C, dim=-1)
        msg = g_i * x_j + b_i
        if self.act is not None:
            msg = self.act(msg)
        agg = self.aggr_module(msg, slots.slots, dim_size=slots.num_slots, dim=0)  # a cached slots tensor: sorted once
        return out + agg.view(n_dst, R, C).sum(dim=1)

    def _propagated(self, x, edge_index, edge_type, n_src, n_dst):
        """PyG's per-relation propagate (a subclass's message / aggregate / update, or hooks)."""
        C = self.out_channels
        if self.num_relations <= 1:
            beta, gamma = self._film(self.films[0], x[1]).split(C, dim=-1)
            return self.propagate(edge_index, x=self.lins[0](x[0]), beta=beta, gamma=gamma)
        j, i, t = _relations(self, edge_index, edge_type, n_src, n_dst, (n_src, n_dst))
        ei = torch.stack([j, i]) if self.flow == "source_to_target" else torch.stack([i, j])
        total = 0
        for r, (lin, film) in enumerate(zip(self.lins, self.films)):
            beta, gamma = self._film(film, x[1]).split(C, dim=-1)
            total = total + self.propagate(ei[:, t == r], x=lin(x[0]), beta=beta, gamma=gamma)
        return total

    def message(self, x_j: torch.Tensor, beta_i: torch.Tensor, gamma_i: torch.Tensor) -> torch.Tensor:
        out = gamma_i * x_j + beta_i
        return self.act(out) if self.act is not None else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_relations={self.num_relations})"


__all__ = ["FastRGCNConv", "FiLMConv", "RGCNConv"]
