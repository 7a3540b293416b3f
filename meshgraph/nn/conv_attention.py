"""Attention convolutions with PyG 2.8's constructors, forward signatures, parameter names and shapes (PyG state
dicts load) and semantics: GATv2Conv, TransformerConv, SuperGATConv, AGNNConv.

Scores are computed per edge from per-vertex terms by fused kernels, so memory grows with E * heads, never
E * heads * C: GATv2's leaky_relu(x_l[j] + x_r[i] (+ e_ji)) . a is the `gatv2_edge_score` kernel (forward and
backward), the dot-product scores of TransformerConv / SuperGATConv / AGNNConv are `edge_dot`, the softmax over each
node's in-edges is `neighbor_softmax` and the weighted aggregation one multi-head gather-scatter, all on the
adjacency cached on the edge input (the self-looped one when the layer adds loops; the input's own loops are
masked out, as PyG removes them). The edges are processed in that adjacency's CSR order, so no permuted copies of
per-edge tensors are made; attention weights are returned in PyG's edge order.

A subclass that replaces `message` / `edge_update`, MessagePassing hooks, sparse adjacency inputs of the looped
layers and bipartite inputs with self loops go through PyG's `edge_updater` / `propagate` path instead (per-edge
tensors materialized, as PyG does). With flow="target_to_source" the fused paths read x[0] at edge_index[1] and
aggregate at edge_index[0], as PyG's generated collect code does for these layers (the looped adjacency is then
built per call, not cached).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import index_from_offsets
from ..ops.adjacency import Adjacency, build_adjacency, cached_value
from ..ops.edge_utils import add_self_loops, is_undirected, remove_self_loops, to_undirected
from ..ops.gather_scatter import _fused as _gather_scatter
from ..ops.gather_scatter import _resolve, edge_dot
from ..ops.gatv2_edge_score import csr_order_csr
from ._edges import edge_adjacency, is_graph_batch, is_sparse, is_sparse_tensor_like, read_edges
from .aggr import segment_softmax
from .conv import _glorot, _observed, _pair, attention_edge_list
from .conv_spectral import _check_width
from .linear import Linear
from .message_passing import MessagePassing, fused_message

_ops = torch.ops.meshgraph


# ---------------------------------------------------------------------- shared machinery


class _CsrEdges(NamedTuple):
    """The edges a fused layer attends over, in the CSR order of `adj`: src / dst (E',) int64 of each entry, keep
    (E',) bool (False for the input's own loops, which PyG removes; None when nothing is masked) and E, the number
    of input edges (entries with edge_id >= E are the added loops)."""

    adj: Adjacency
    src: torch.Tensor
    dst: torch.Tensor
    keep: torch.Tensor | None
    num_edges: int


def _csr_edges(edge_index, flow: str, num_src: int, num_dst: int, loops: bool, device) -> _CsrEdges:
    """Adjacency of the input edges (cached on the edge tensor / GraphBatch for square graphs with the default
    flow), with one loop for each of the first min(num_src, num_dst) nodes appended when `loops`."""
    edges = read_edges(edge_index, flow)
    E = edges.index_j.numel()
    if loops and (flow != "source_to_target" or num_src != num_dst):
        # not cached (the reversed or bipartite looped edge list is built per call): loops for the first
        # min(num_src, num_dst) nodes, as PyG's add_self_loops
        ar = torch.arange(min(num_src, num_dst), device=edges.index_j.device)
        adj = build_adjacency(torch.stack([torch.cat([edges.index_j.long(), ar]), torch.cat([edges.index_i.long(), ar])]),
                              num_dst, num_src)
    elif loops:
        if is_graph_batch(edges.source):
            adj = edges.source.adjacency(directed=True, self_loops=True)
        else:
            adj = _resolve(edges.edge_index, num_src, None, device, self_loops=True)[0]
    else:
        adj = edge_adjacency(edges, num_src, num_dst, flow)
    src, dst, keep = _entries(adj, E, loops)
    return _CsrEdges(adj, src, dst, keep, E)


def _entries(adj: Adjacency, E: int, loops: bool):
    """(src, dst, keep) of the adjacency's CSR entries (see _CsrEdges), cached with the adjacency (on its col
    tensor): the per-call index work of a cached graph is done once."""

    def build():
        src, dst = adj.col.long(), index_from_offsets(adj.rowptr, adj.col.numel())
        return src, dst, (((src != dst) | (adj.edge_id >= E)) if loops else None)

    return cached_value(adj.col, ("attention_entries", E, loops), build)


def _edge_order(ce: _CsrEdges, t: torch.Tensor) -> torch.Tensor:
    """Rows of a per-entry tensor (CSR order) in edge order (input edges, then the added loops)."""
    return t.new_empty(t.shape).index_copy(0, ce.adj.edge_id, t)


def _raw_edge_list(edge_index) -> torch.Tensor:
    """The (2, E) edge tensor as given (a GraphBatch's edge_index), rows in the input's own orientation."""
    e = read_edges(edge_index)
    return (e.edge_index if e.edge_index is not None else torch.stack([e.index_j, e.index_i])).long()


def _looped_edge_list(edge_index, N: int):
    """PyG's remove_self_loops + add_self_loops on the input edges (in the input's orientation): (2, E_kept + N)
    in PyG's order, and the boolean mask of the kept input edges."""
    raw = _raw_edge_list(edge_index)
    keep = raw[0] != raw[1]
    loops = torch.arange(N, device=raw.device)
    return torch.cat([raw[:, keep], torch.stack([loops, loops])], dim=1), keep


def _loop_edge_attr(edge_index, edge_attr: torch.Tensor, N: int, fill_value) -> torch.Tensor:
    """The input's edge_attr with the new loops' attributes appended (PyG's add_self_loops fill_value over the
    non-loop edges, reduced by edge_index[1] whatever the flow, as PyG does)."""
    raw = _raw_edge_list(edge_index)
    keep = raw[0] != raw[1]
    _, with_loops = add_self_loops(raw[:, keep], edge_attr[keep], fill_value, N)
    return torch.cat([edge_attr, with_loops[with_loops.shape[0] - N:]])


def _softmax(scores: torch.Tensor, ce: _CsrEdges) -> torch.Tensor:
    """Softmax over each destination's entries (CSR order), the input's own loops masked out."""
    if ce.keep is not None:
        mask = ~ce.keep if scores.dim() == 1 else ~ce.keep[:, None]
        scores = scores.masked_fill(mask, float("-inf"))
    return _ops.neighbor_softmax(scores, ce.adj.rowptr, None)


def _entry_adjacency(ce: _CsrEdges) -> Adjacency:
    """Adjacency whose "sources" are the entries themselves (entry k reads row k of a per-entry tensor): sums
    alpha-weighted per-entry rows into their destinations, and per-entry dot products with destination rows."""
    Ep = ce.src.numel()
    ar = torch.arange(Ep, device=ce.src.device)
    return Adjacency(ce.adj.rowptr, ar, ar, torch.arange(Ep + 1, device=ar.device), ce.dst, ar)


def _entry_dot(a: torch.Tensor, b: torch.Tensor, adj: Adjacency, heads: int) -> torch.Tensor:
    """(E', heads) per-entry dot products <a[row], b[col]> per head (a: (V_dst, H*C), b: (V_src, H*C))."""
    out = _ops.edge_dot(a, b, adj.rowptr, adj.col, heads, adj.rowptr_t, adj.col_t, adj.eid_t)
    return out.view(-1, heads)


def _check_edge_attr(layer, edge_attr: torch.Tensor | None, num_edges: int) -> None:
    if edge_attr is not None and edge_attr.shape[0] != num_edges:
        raise ValueError(f"{type(layer).__name__}: edge_attr must have one row per edge ({num_edges}), got "
                         f"shape {tuple(edge_attr.shape)}")


def _num_edges(edge_index, flow: str) -> int:
    return read_edges(edge_index, flow).index_j.numel()


def _check_features(layer, x, in_channels) -> None:
    """x (or each side of an (x_src, x_dst) pair) is a 2-D tensor of the layer's input width: ValueErrors naming
    the layer and the width, not a bare matmul error."""
    name = type(layer).__name__
    widths = _pair(in_channels)
    if isinstance(x, torch.Tensor):
        items = [(x, "x", widths[0])]
    elif isinstance(x, (tuple, list)) and len(x) == 2:
        items = [(x[0], "x[0]", widths[0]), (x[1], "x[1]", widths[1])]
    else:
        raise TypeError(f"{name}: x must be a tensor or an (x_src, x_dst) pair, got {type(x).__name__}")
    for t, what, width in items:
        if t is None and what == "x[1]":
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: {what} must be a tensor, got {type(t).__name__}")
        if t.dim() != 2:
            raise ValueError(f"Static graphs not supported in '{name}'")
        _check_width(layer, t, width, what)


def _unobserved(layer, owner: type) -> bool:
    """No overridden message / edge_update, no hooks: the fused path may run."""
    return (not _observed(layer, owner) and type(layer).edge_update is owner.edge_update
            and not layer._edge_update_forward_pre_hooks and not layer._edge_update_forward_hooks)


def _sparse_result(edge_index, alpha: torch.Tensor, used: torch.Tensor, size):
    """A sparse input's attention weights as PyG returns them: a SparseTensor-like with alpha as values (through
    its own set_value), else a COO adjacency (N_dst, N_src, heads) of the used edges with alpha as values."""
    if is_sparse_tensor_like(edge_index) and callable(getattr(edge_index, "set_value", None)):
        return edge_index.set_value(alpha, layout="coo")
    adj = torch.sparse_coo_tensor(torch.stack([used[1], used[0]]), alpha, (size[1], size[0], *alpha.shape[1:]))
    return adj.coalesce()


# ---------------------------------------------------------------------- GATv2


class GATv2Conv(MessagePassing):
    """GATv2 (Brody et al. 2022), PyG's GATv2Conv: alpha_ij = softmax_j(a . leaky_relu(W_l x_j + W_r x_i (+ W_e e_ji))),
    out_i = sum_j alpha_ij W_l x_j. The scores are the fused `gatv2_edge_score` kernel (no E x heads x C tensor in
    forward or backward), the softmax and aggregation run on the cached self-looped adjacency.

    Args: PyG's (in_channels: int or (src, dst) pair, -1 lazy; out_channels per head; heads; concat;
    negative_slope; dropout on the attention coefficients; add_self_loops: existing loops are replaced by one loop
    per node; edge_dim; fill_value of the new loops' edge features; bias; share_weights: lin_r is lin_l;
    residual; **kwargs for MessagePassing).

    forward(x, edge_index, edge_attr=None, return_attention_weights=None): with return_attention_weights=True
    returns (out, (edge_index, alpha)) for the edges used (loops included, PyG's order).
    """

    def __init__(self, in_channels, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True,
                 edge_dim: int | None = None, fill_value="mean", bias: bool = True, share_weights: bool = False,
                 residual: bool = False, **kwargs):
        super().__init__(node_dim=0, **kwargs)
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.negative_slope, self.dropout, self.add_self_loops = negative_slope, dropout, add_self_loops
        self.edge_dim, self.fill_value, self.residual, self.share_weights = edge_dim, fill_value, residual, share_weights
        in_l, in_r = _pair(in_channels)
        self.lin_l = Linear(in_l, heads * out_channels, bias=bias, weight_initializer="glorot")
        self.lin_r = self.lin_l if share_weights else Linear(in_r, heads * out_channels, bias=bias,
                                                             weight_initializer="glorot")
        self.att = nn.Parameter(torch.empty(1, heads, out_channels))
        self.lin_edge = (Linear(edge_dim, heads * out_channels, bias=False, weight_initializer="glorot")
                         if edge_dim is not None else None)
        total = out_channels * (heads if concat else 1)
        if residual:
            self.res = Linear(in_r, total, bias=False, weight_initializer="glorot")
        else:
            self.register_parameter("res", None)
        self.bias = nn.Parameter(torch.empty(total)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_l.reset_parameters()
        self.lin_r.reset_parameters()
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
        if self.res is not None:
            self.res.reset_parameters()
        _glorot(self.att)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, return_attention_weights: bool | None = None):
        H, C = self.heads, self.out_channels
        _check_features(self, x, self.in_channels)
        res = None
        if isinstance(x, torch.Tensor):
            if self.res is not None:
                res = self.res(x)
            x_l = self.lin_l(x).view(-1, H, C)
            x_r = x_l if self.share_weights else self.lin_r(x).view(-1, H, C)
        else:
            x_l, x_r = x[0], x[1]
            if x_r is not None and self.res is not None:
                res = self.res(x_r)
            x_l = self.lin_l(x_l).view(-1, H, C)
            if x_r is not None:
                x_r = self.lin_r(x_r).view(-1, H, C)
        if x_r is None:
            raise ValueError("GATv2Conv needs destination features: x[1] is None")
        if edge_attr is not None:
            if self.lin_edge is None:
                raise ValueError("GATv2Conv received edge_attr but was built without edge_dim")
            edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
            _check_edge_attr(self, edge_attr, _num_edges(edge_index, self.flow))
        # Any flow: PyG's generated collect reads x_j from x[0] at edge_index_j whatever the flow, as this does.
        fused = _unobserved(self, GATv2Conv) and not is_sparse(edge_index)
        if fused:
            out, used, alpha = self._fused(x_l, x_r, edge_index, edge_attr, bool(return_attention_weights))
        else:
            out, used, alpha = self._propagated(x_l, x_r, edge_index, edge_attr)
        out = out.reshape(-1, H * C) if self.concat else out.mean(dim=1)
        if res is not None:
            out = out + res
        if self.bias is not None:
            out = out + self.bias
        if return_attention_weights:
            return out, (used, alpha)
        return out

    def _fused(self, x_l, x_r, edge_index, edge_attr, want_alpha: bool):
        H, C = self.heads, self.out_channels
        N_src, N_dst = x_l.shape[0], x_r.shape[0]
        ce = _csr_edges(edge_index, self.flow, N_src, N_dst, self.add_self_loops, x_l.device)
        M = min(N_src, N_dst)  # nodes that get a loop
        x_e = None
        if edge_attr is not None:
            if self.add_self_loops:
                edge_attr = _loop_edge_attr(edge_index, edge_attr, M, self.fill_value)
            x_e = self.lin_edge(edge_attr[ce.adj.edge_id]).view(-1, H, C)  # raw attributes permuted, then projected
        scores = _ops.gatv2_edge_score(x_l, x_r, x_e, self.att.view(H, C), ce.src, ce.dst, float(self.negative_slope),
                                       *csr_order_csr(ce.adj))
        alpha = _softmax(scores, ce)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = _gather_scatter(x_l.reshape(N_src, H * C), ce.adj, alpha, "sum").view(N_dst, H, C)
        used = None
        if want_alpha:
            alpha = _edge_order(ce, alpha)
            if self.add_self_loops:
                used, kept = _looped_edge_list(edge_index, M)
                alpha = alpha[torch.cat([kept, kept.new_ones(M)])]
            else:
                used = edge_index.edge_index if is_graph_batch(edge_index) else edge_index
        return out, used, alpha

    def _propagated(self, x_l, x_r, edge_index, edge_attr):
        sparse = is_sparse(edge_index)
        source = edge_index
        edge_index, edge_attr, size = attention_edge_list(self, edge_index, edge_attr, x_l, x_r, None)
        alpha = self.edge_updater(edge_index, x=(x_l, x_r), edge_attr=edge_attr, size=size)
        out = self.propagate(edge_index, x=(x_l, x_r), alpha=alpha, size=size)
        used = edge_index
        if sparse:
            sizes = size if size is not None else (x_l.size(0), x_r.size(0))
            used = _sparse_result(source, alpha, edge_index, sizes)
            if not is_sparse_tensor_like(source):
                alpha = used.values()
        return out, used, alpha

    def edge_update(self, x_j: torch.Tensor, x_i: torch.Tensor, edge_attr: torch.Tensor | None,
                    index: torch.Tensor, ptr: torch.Tensor | None, dim_size: int | None) -> torch.Tensor:
        x = x_i + x_j
        if edge_attr is not None:
            if edge_attr.dim() == 1:
                edge_attr = edge_attr.view(-1, 1)
            x = x + self.lin_edge(edge_attr).view(-1, self.heads, self.out_channels)
        x = F.leaky_relu(x, self.negative_slope)
        alpha = (x * self.att).sum(dim=-1)
        alpha = segment_softmax(alpha, index, ptr, dim_size)
        return F.dropout(alpha, p=self.dropout, training=self.training)

    @fused_message("alpha")
    def message(self, x_j: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return x_j * alpha.unsqueeze(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"


# ---------------------------------------------------------------------- TransformerConv


class TransformerConv(MessagePassing):
    """Graph transformer (Shi et al. 2021, UniMP), PyG's TransformerConv: alpha_ij = softmax_j(q_i . (k_j + e_ji)
    / sqrt(C)), out_i = sum_j alpha_ij (v_j + e_ji), plus the root term lin_skip(x_i) (gated by beta when
    beta=True). The scores are fused per-edge dot products (`edge_dot`), also for the edge term, and the value and
    edge-feature sums are multi-head gather-scatters: no E x heads x C tensor besides the projected edge features.

    Args: PyG's (in_channels: int or (src, dst) pair; out_channels per head; heads; concat; beta; dropout on the
    attention coefficients; edge_dim; bias; root_weight; **kwargs for MessagePassing).

    forward(x, edge_index, edge_attr=None, return_attention_weights=None): with a bool return_attention_weights
    returns (out, (edge_index, alpha)), alpha before dropout in the input's edge order.
    """

    def __init__(self, in_channels, out_channels: int, heads: int = 1, concat: bool = True, beta: bool = False,
                 dropout: float = 0.0, edge_dim: int | None = None, bias: bool = True, root_weight: bool = True,
                 **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.beta, self.root_weight, self.concat = beta and root_weight, root_weight, concat
        self.dropout, self.edge_dim = dropout, edge_dim
        self._alpha = None
        in_src, in_dst = _pair(in_channels)
        self.lin_key = Linear(in_src, heads * out_channels, bias=bias)
        self.lin_query = Linear(in_dst, heads * out_channels, bias=bias)
        self.lin_value = Linear(in_src, heads * out_channels, bias=bias)
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, heads * out_channels, bias=False)
        else:
            self.register_parameter("lin_edge", None)
        width = heads * out_channels if concat else out_channels
        self.lin_skip = Linear(in_dst, width, bias=bias)
        if self.beta:
            self.lin_beta = Linear(3 * width, 1, bias=False)
        else:
            self.register_parameter("lin_beta", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_key.reset_parameters()
        self.lin_query.reset_parameters()
        self.lin_value.reset_parameters()
        if self.edge_dim:
            self.lin_edge.reset_parameters()
        self.lin_skip.reset_parameters()
        if self.beta:
            self.lin_beta.reset_parameters()

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, return_attention_weights: bool | None = None):
        H, C = self.heads, self.out_channels
        _check_features(self, x, self.in_channels)
        if isinstance(x, torch.Tensor):
            x = (x, x)
        query = self.lin_query(x[1]).view(-1, H, C)
        key = self.lin_key(x[0]).view(-1, H, C)
        value = self.lin_value(x[0]).view(-1, H, C)
        if self.lin_edge is not None and edge_attr is None:
            raise ValueError("TransformerConv was built with edge_dim but received no edge_attr")
        if edge_attr is not None:
            _check_edge_attr(self, edge_attr, _num_edges(edge_index, self.flow))
        if _unobserved(self, TransformerConv) and (edge_attr is None or self.lin_edge is not None):
            out, alpha = self._fused(query, key, value, edge_index, edge_attr, isinstance(return_attention_weights, bool))
        else:
            out = self.propagate(edge_index, query=query, key=key, value=value, edge_attr=edge_attr)
            alpha, self._alpha = self._alpha, None
        out = out.reshape(-1, H * C) if self.concat else out.mean(dim=1)
        if self.root_weight:
            x_r = self.lin_skip(x[1])
            if self.lin_beta is not None:
                beta = self.lin_beta(torch.cat([out, x_r, out - x_r], dim=-1)).sigmoid()
                out = beta * x_r + (1 - beta) * out
            else:
                out = out + x_r
        if isinstance(return_attention_weights, bool):
            if is_sparse_tensor_like(edge_index) and callable(getattr(edge_index, "set_value", None)):
                return out, edge_index.set_value(alpha, layout="coo")
            return out, (edge_index.edge_index if is_graph_batch(edge_index) else edge_index, alpha)
        return out

    def _fused(self, query, key, value, edge_index, edge_attr, want_alpha: bool):
        H, C = self.heads, self.out_channels
        N_src, N_dst = key.shape[0], query.shape[0]
        ce = _csr_edges(edge_index, self.flow, N_src, N_dst, False, query.device)
        q = query.reshape(N_dst, H * C)
        scores = _entry_dot(q, key.reshape(N_src, H * C), ce.adj, H)
        e = None
        if edge_attr is not None:
            entries = _entry_adjacency(ce)
            e = self.lin_edge(edge_attr[ce.adj.edge_id]).view(-1, H * C)  # raw attributes permuted, then projected
            scores = scores + _entry_dot(q, e, entries, H)
        alpha = _ops.neighbor_softmax(scores / math.sqrt(C), ce.adj.rowptr, None)
        weights = F.dropout(alpha, p=self.dropout, training=self.training)
        out = _gather_scatter(value.reshape(N_src, H * C), ce.adj, weights, "sum")
        if e is not None:
            out = out + _gather_scatter(e, entries, weights, "sum")
        return out.view(N_dst, H, C), (_edge_order(ce, alpha) if want_alpha else None)

    def message(self, query_i: torch.Tensor, key_j: torch.Tensor, value_j: torch.Tensor,
                edge_attr: torch.Tensor | None, index: torch.Tensor, ptr: torch.Tensor | None,
                size_i: int | None) -> torch.Tensor:
        if self.lin_edge is not None:
            edge_attr = self.lin_edge(edge_attr).view(-1, self.heads, self.out_channels)
            key_j = key_j + edge_attr
        alpha = (query_i * key_j).sum(dim=-1) / math.sqrt(self.out_channels)
        alpha = segment_softmax(alpha, index, ptr, size_i)
        self._alpha = alpha
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        out = value_j
        if edge_attr is not None:
            out = out + edge_attr
        return out * alpha.view(-1, self.heads, 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"


# ---------------------------------------------------------------------- AGNN


class AGNNConv(MessagePassing):
    """Attention-based propagation (Thekumparampil et al. 2018), PyG's AGNNConv: out_i = sum_j alpha_ij x_j with
    alpha_ij = softmax_j(beta * cos(x_i, x_j)), over each node's in-edges plus a self loop (existing loops
    replaced). Cosines are fused per-edge dot products of the normalized features.

    Args: requires_grad (beta learnable, else a buffer of 1), add_self_loops, **kwargs for MessagePassing.
    forward(x, edge_index).
    """

    def __init__(self, requires_grad: bool = True, add_self_loops: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.requires_grad, self.add_self_loops = requires_grad, add_self_loops
        if requires_grad:
            self.beta = nn.Parameter(torch.empty(1))
        else:
            self.register_buffer("beta", torch.ones(1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.requires_grad:
            self.beta.data.fill_(1)

    def forward(self, x: torch.Tensor, edge_index) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"AGNNConv: x must be a tensor, got {type(x).__name__}")
        N = x.size(self.node_dim)
        x_norm = F.normalize(x, p=2.0, dim=-1)
        if _unobserved(self, AGNNConv) and x.dim() == 2 and not is_sparse(edge_index):
            ce = _csr_edges(edge_index, self.flow, N, N, self.add_self_loops, x.device)
            alpha = _softmax(self.beta * _entry_dot(x_norm, x_norm, ce.adj, 1).view(-1), ce)
            return _gather_scatter(x, ce.adj, alpha, "sum")
        if self.add_self_loops:
            if is_sparse(edge_index):
                if is_sparse_tensor_like(edge_index) and callable(getattr(edge_index, "set_diag", None)):
                    edge_index = edge_index.set_diag()
                else:
                    edge_index, _ = add_self_loops(remove_self_loops(edge_index)[0], num_nodes=N)
            else:
                edge_index, _ = _looped_edge_list(edge_index, N)
        return self.propagate(edge_index, x=x, x_norm=x_norm)

    def message(self, x_j: torch.Tensor, x_norm_i: torch.Tensor, x_norm_j: torch.Tensor, index: torch.Tensor,
                ptr: torch.Tensor | None, size_i: int | None) -> torch.Tensor:
        alpha = self.beta * (x_norm_i * x_norm_j).sum(dim=-1)
        alpha = segment_softmax(alpha, index, ptr, size_i)
        return x_j * alpha.view(-1, 1)


# ---------------------------------------------------------------------- SuperGAT


def _negative_sampling(edge_index: torch.Tensor, num_nodes: int, num_neg_samples: int,
                       batch: torch.Tensor | None = None) -> torch.Tensor:
    """(2, <= num_neg_samples) node pairs (u, v), u != v, that are not edges (within one graph of `batch` when
    given): uniform draws from the global RNG, three rounds of rejection, as PyG's negative_sampling."""
    device = edge_index.device
    N = num_nodes
    if N < 2 or num_neg_samples <= 0:
        return edge_index.new_empty((2, 0))
    existing = edge_index[0].long() * N + edge_index[1].long()
    found = edge_index.new_empty(0).long()
    if batch is None:
        starts, sizes = torch.zeros(N, dtype=torch.long, device=device), torch.full((N,), N, device=device)
    else:
        counts = torch.bincount(batch, minlength=int(batch.max()) + 1 if batch.numel() else 0)
        first = torch.cumsum(counts, 0) - counts
        starts, sizes = first[batch], counts[batch]
    for _ in range(3):
        k = int(1.2 * num_neg_samples) + 8
        u = torch.randint(0, N, (k,), device=device)
        v = starts[u] + (torch.rand(k, device=device) * sizes[u]).long().clamp_max(sizes[u] - 1)
        key = u * N + v
        ok = (u != v) & ~torch.isin(key, existing) & ~torch.isin(key, found)
        key = torch.unique(key[ok], sorted=False)
        found = torch.cat([found, key])[:num_neg_samples]
        if found.numel() >= num_neg_samples:
            break
    return torch.stack([found // N, found % N]).to(edge_index.dtype)


class SuperGATConv(MessagePassing):
    """Self-supervised graph attention (Kim & Oh 2021), PyG's SuperGATConv: GAT attention ("MX": the GAT score
    gated by sigmoid(x_i . x_j); "SD": scaled dot product) plus, in training, the link-prediction logits of
    positive and negative edges that `get_attention_loss` scores. Scores, dot products, softmax and aggregation are
    fused on the cached self-looped adjacency.

    Args: PyG's (in_channels, out_channels, heads, concat, negative_slope, dropout, add_self_loops, bias,
    attention_type "MX" / "SD", neg_sample_ratio, edge_sample_ratio, is_undirected, **kwargs).
    forward(x, edge_index, neg_edge_index=None, batch=None).
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True, bias: bool = True,
                 attention_type: str = "MX", neg_sample_ratio: float = 0.5, edge_sample_ratio: float = 1.0,
                 is_undirected: bool = False, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        if attention_type not in ("MX", "SD"):
            raise ValueError(f"SuperGATConv: attention_type must be 'MX' or 'SD', got {attention_type!r}")
        if not 0.0 < neg_sample_ratio:
            raise ValueError(f"SuperGATConv: neg_sample_ratio must be > 0, got {neg_sample_ratio!r}")
        if not 0.0 < edge_sample_ratio <= 1.0:
            raise ValueError(f"SuperGATConv: edge_sample_ratio must be in (0, 1], got {edge_sample_ratio!r}")
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.negative_slope, self.dropout, self.add_self_loops = negative_slope, dropout, add_self_loops
        self.attention_type, self.neg_sample_ratio = attention_type, neg_sample_ratio
        self.edge_sample_ratio, self.is_undirected = edge_sample_ratio, is_undirected
        self.lin = Linear(in_channels, heads * out_channels, bias=False, weight_initializer="glorot")
        if attention_type == "MX":
            self.att_l = nn.Parameter(torch.empty(1, heads, out_channels))
            self.att_r = nn.Parameter(torch.empty(1, heads, out_channels))
        else:
            self.register_parameter("att_l", None)
            self.register_parameter("att_r", None)
        self.att_x = self.att_y = None
        if bias:
            self.bias = nn.Parameter(torch.empty(heads * out_channels if concat else out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        _glorot(self.att_l)
        _glorot(self.att_r)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, edge_index, neg_edge_index: torch.Tensor | None = None,
                batch: torch.Tensor | None = None) -> torch.Tensor:
        _check_features(self, x, self.in_channels)
        N, H, C = x.size(0), self.heads, self.out_channels
        x = self.lin(x).view(-1, H, C)
        looped = None
        if _unobserved(self, SuperGATConv) and not is_sparse(edge_index):
            out = self._fused(x, edge_index)
        else:
            if self.add_self_loops:
                if is_sparse_tensor_like(edge_index) and callable(getattr(edge_index, "fill_diag", None)):
                    edge_index = edge_index.fill_diag(1.0)
                else:
                    looped, _ = _looped_edge_list(edge_index, N)
                    edge_index = looped
            out = self.propagate(edge_index, x=x)
        if self.training:
            if looped is None:
                looped = _looped_edge_list(edge_index, N)[0] if self.add_self_loops else _raw_edge_list(edge_index)
            pos_edge_index = self.positive_sampling(looped)
            pos_att = self._logits(x, pos_edge_index)
            if neg_edge_index is None:
                neg_edge_index = self.negative_sampling(looped, N, batch)
            neg_att = self._logits(x, neg_edge_index)
            self.att_x = torch.cat([pos_att, neg_att], dim=0)
            self.att_y = self.att_x.new_zeros(self.att_x.size(0))
            self.att_y[:pos_edge_index.size(1)] = 1.0
        out = out.reshape(-1, H * C) if self.concat else out.mean(dim=1)
        if self.bias is not None:
            out = out + self.bias
        return out

    def _logits(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """get_attention(..., return_logits=True) of the edges, as fused dot products: (E, heads)."""
        if edge_index.numel() == 0:
            return x.new_zeros((0, self.heads))
        dots = edge_dot(x, x, edge_index).reshape(-1, self.heads)
        return dots if self.attention_type == "MX" else dots / math.sqrt(self.out_channels)

    def _fused(self, x: torch.Tensor, edge_index) -> torch.Tensor:
        N, H, C = x.shape
        ce = _csr_edges(edge_index, self.flow, N, N, self.add_self_loops, x.device)
        flat = x.reshape(N, H * C)
        dots = _entry_dot(flat, flat, ce.adj, H)
        if self.attention_type == "MX":
            a_l, a_r = (x * self.att_l).sum(-1), (x * self.att_r).sum(-1)
            alpha = (a_l[ce.src] + a_r[ce.dst]) * dots.sigmoid()
        else:
            alpha = dots / math.sqrt(C)
        alpha = _softmax(F.leaky_relu(alpha, self.negative_slope), ce)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return _gather_scatter(flat, ce.adj, alpha, "sum").view(N, H, C)

    def message(self, edge_index_i: torch.Tensor, x_i: torch.Tensor, x_j: torch.Tensor,
                size_i: int | None) -> torch.Tensor:
        alpha = self.get_attention(edge_index_i, x_i, x_j, num_nodes=size_i)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        return x_j * alpha.view(-1, self.heads, 1)

    def negative_sampling(self, edge_index: torch.Tensor, num_nodes: int, batch: torch.Tensor | None = None) -> torch.Tensor:
        num_neg_samples = int(self.neg_sample_ratio * self.edge_sample_ratio * edge_index.size(1))
        if not self.is_undirected and not is_undirected(edge_index, num_nodes=num_nodes):
            edge_index = to_undirected(edge_index, num_nodes=num_nodes)
        return _negative_sampling(edge_index, num_nodes, num_neg_samples, batch)

    def positive_sampling(self, edge_index: torch.Tensor) -> torch.Tensor:
        p = 1.0 - self.edge_sample_ratio
        if not self.training or p == 0.0:
            return edge_index
        return edge_index[:, torch.rand(edge_index.size(1), device=edge_index.device) >= p]

    def get_attention(self, edge_index_i: torch.Tensor, x_i: torch.Tensor, x_j: torch.Tensor,
                      num_nodes: int | None, return_logits: bool = False) -> torch.Tensor:
        if self.attention_type == "MX":
            logits = (x_i * x_j).sum(dim=-1)
            if return_logits:
                return logits
            alpha = (x_j * self.att_l).sum(-1) + (x_i * self.att_r).sum(-1)
            alpha = alpha * logits.sigmoid()
        else:
            alpha = (x_i * x_j).sum(dim=-1) / math.sqrt(self.out_channels)
            if return_logits:
                return alpha
        alpha = F.leaky_relu(alpha, self.negative_slope)
        return segment_softmax(alpha, edge_index_i, None, num_nodes)

    def get_attention_loss(self) -> torch.Tensor:
        """The self-supervised attention loss: BCE of the mean head logits vs positive / negative labels."""
        if not self.training:
            return torch.tensor([0], device=self.lin.weight.device)
        return F.binary_cross_entropy_with_logits(self.att_x.mean(dim=-1), self.att_y)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads}, "
                f"type={self.attention_type})")


__all__ = ["AGNNConv", "GATv2Conv", "SuperGATConv", "TransformerConv"]
