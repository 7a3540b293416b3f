"""Heterogeneous attention layers over {node type: x} / {edge type: edge_index} dicts: HGTConv (Hu et al. 2020) and
HANConv (Wang et al. 2019), PyG 2.8's constructors, parameter names and outputs.

Fused per edge type: each edge type's scores are per-edge dot products / sums over its own cached CSR
(`edge_dot`, E x heads), its messages one multi-head gather-scatter of the (N_src, heads * C) source features. No
edge list is concatenated across types and no E x F message tensor is formed. HGT's softmax runs over all edges
entering a node, whatever their type: the per-type row maxima and exp-sums (N_dst x heads) are combined across
the types before the weights are formed.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.gather_scatter import _fused as _gather_scatter
from ..ops.scatter import segment_reduce
from .conv import _glorot
from .conv_attention import _csr_edges, _entry_adjacency, _entry_dot
from .hetero import ParameterDict, check_metadata
from .linear import HeteroDictLinear, HeteroLinear, Linear
from .message_passing import MessagePassing

_ops = torch.ops.meshgraph

EdgeType = Tuple[str, str, str]


def _check_inputs(layer, x_dict, edge_index_dict, edge_types) -> None:
    name = type(layer).__name__
    if not isinstance(x_dict, dict):
        raise TypeError(f"{name}: x_dict must be a dict {{node type: features}}, got {type(x_dict).__name__}")
    if not isinstance(edge_index_dict, dict):
        raise TypeError(f"{name}: edge_index_dict must be a dict {{edge type: edges}}, got "
                        f"{type(edge_index_dict).__name__}")
    for key, x in x_dict.items():
        if not isinstance(x, torch.Tensor) or x.dim() != 2:
            raise ValueError(f"{name}: x_dict[{key!r}] must be a 2-D (num_nodes, channels) tensor, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    for et in edge_index_dict:
        if et not in edge_types:
            raise ValueError(f"{name}: edge_index_dict has edge type {et!r}, which is not in the layer's metadata "
                             f"edge types {list(edge_types)}")
        for t in (et[0], et[-1]):
            if t not in x_dict:
                raise ValueError(f"{name}: edge type {et!r} needs node type {t!r}, which x_dict lacks (node types "
                                 f"given: {list(x_dict)})")


def _check_width(layer, x_dict, in_channels: dict) -> None:
    for key, x in x_dict.items():
        width = in_channels.get(key, -1)
        if width not in (-1, None) and x.size(-1) != width:
            raise ValueError(f"{type(layer).__name__}: x_dict[{key!r}] has {x.size(-1)} channels, the layer expects "
                             f"{width} for node type {key!r}")


# ---------------------------------------------------------------------- HGT


class HGTConv(MessagePassing):
    """Heterogeneous graph transformer, PyG's HGTConv: per edge type e = (s, r, t) the keys and values of the
    source type pass through per-head relation matrices (k_rel, v_rel), alpha = softmax over all in-edges of a
    node (any type) of <q_t, k_rel> * p_rel[e] / sqrt(D); out_t = out_lin(gelu(sum alpha v_rel)), mixed with x_t by
    the learned gate sigmoid(skip[t]) when widths agree.

    Args: in_channels (int or {node type: int}, -1 lazy), out_channels (divisible by heads), metadata
    ((node_types, edge_types)), heads, **kwargs for MessagePassing.

    forward(x_dict, edge_index_dict) -> {node type: (N, out_channels)} for the destination types of the metadata
    present in x_dict.
    """

    def __init__(self, in_channels: Union[int, Dict[str, int]], out_channels: int, metadata, heads: int = 1,
                 **kwargs):
        super().__init__(aggr="add", node_dim=0, **kwargs)
        if out_channels % heads != 0:
            raise ValueError(f"'out_channels' (got {out_channels}) must be divisible by the number of heads (got "
                             f"{heads})")
        node_types, edge_types = check_metadata(metadata)
        if not isinstance(in_channels, dict):
            in_channels = {node_type: in_channels for node_type in node_types}
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.node_types, self.edge_types = node_types, edge_types
        self.edge_types_map = {edge_type: i for i, edge_type in enumerate(edge_types)}
        self.dst_node_types = {key[-1] for key in edge_types}
        self.kqv_lin = HeteroDictLinear(self.in_channels, out_channels * 3)
        self.out_lin = HeteroDictLinear(out_channels, out_channels, types=node_types)
        dim = out_channels // heads
        num_types = heads * len(edge_types)
        self.k_rel = HeteroLinear(dim, dim, num_types, bias=False, is_sorted=True)
        self.v_rel = HeteroLinear(dim, dim, num_types, bias=False, is_sorted=True)
        self.skip = ParameterDict({node_type: nn.Parameter(torch.empty(1)) for node_type in node_types})
        self.p_rel = ParameterDict({"__".join(et): nn.Parameter(torch.empty(1, heads)) for et in edge_types})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.kqv_lin.reset_parameters()
        self.out_lin.reset_parameters()
        self.k_rel.reset_parameters()
        self.v_rel.reset_parameters()
        with torch.no_grad():
            for p in [*self.skip.values(), *self.p_rel.values()]:
                p.fill_(1.0)

    def forward(self, x_dict: Dict[str, torch.Tensor], edge_index_dict: Dict[EdgeType, object]
                ) -> Dict[str, Optional[torch.Tensor]]:
        _check_inputs(self, x_dict, edge_index_dict, self.edge_types_map)
        _check_width(self, x_dict, self.in_channels if isinstance(self.in_channels, dict) else {})
        Fo, H = self.out_channels, self.heads
        D = Fo // H
        q_dict, k_dict, v_dict = {}, {}, {}
        for key, val in self.kqv_lin(x_dict).items():
            k, q, v = torch.tensor_split(val, 3, dim=1)
            k_dict[key], q_dict[key], v_dict[key] = k.reshape(-1, H, D), q.reshape(-1, H * D), v.reshape(-1, H, D)
        ne = len(self.edge_types)
        w_k = self.k_rel.weight.view(H, ne, D, D)  # type h * ne + e: head h of edge type e
        w_v = self.v_rel.weight.view(H, ne, D, D)
        # Per edge type: (CSR edges, scores (E', H) in CSR order, relation-transformed values (N_src, H * D)).
        parts: Dict[str, list] = {}
        for et, edges in edge_index_dict.items():
            src, _, dst = et
            e = self.edge_types_map[et]
            k_rel = torch.einsum("nhd,hdf->nhf", k_dict[src], w_k[:, e]).reshape(-1, H * D)
            v_rel = torch.einsum("nhd,hdf->nhf", v_dict[src], w_v[:, e]).reshape(-1, H * D)
            q = q_dict[dst]
            ce = _csr_edges(edges, self.flow, k_rel.shape[0], q.shape[0], False, q.device)
            scores = _entry_dot(q, k_rel, ce.adj, H) * (self.p_rel["__".join(et)] / math.sqrt(D))
            parts.setdefault(dst, []).append((ce, scores, v_rel))
        out_dict: Dict[str, torch.Tensor] = {}
        for node_type, q in q_dict.items():
            if node_type not in self.dst_node_types:
                continue
            out_dict[node_type] = self._attend(parts.get(node_type, []), q.shape[0], q)
        a_dict = self.out_lin({k: F.gelu(v) for k, v in out_dict.items()})
        for node_type in out_dict:
            out = a_dict[node_type]
            if out.size(-1) == x_dict[node_type].size(-1):
                alpha = self.skip[node_type].sigmoid()
                out = alpha * out + (1 - alpha) * x_dict[node_type]
            out_dict[node_type] = out
        return out_dict

    def _attend(self, parts: list, num_dst: int, like: torch.Tensor) -> torch.Tensor:
        """sum over the edge types entering one node type of alpha-weighted values, alpha the softmax over all of
        the node's in-edges: row maxima and exp-sums are combined across the types (N_dst x H each)."""
        H = self.heads
        out = like.new_zeros(num_dst, self.out_channels)
        if not parts:
            return out
        m = like.new_full((num_dst, H), float("-inf"))
        for ce, scores, _ in parts:
            if scores.shape[0]:
                row_max = segment_reduce(scores.detach(), ce.adj.rowptr, "max")
                row_max = row_max.masked_fill((ce.adj.rowptr.diff() == 0)[:, None], float("-inf"))
                m = torch.maximum(m, row_max)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        exps, den = [], like.new_zeros(num_dst, H)
        for ce, scores, _ in parts:
            ex = torch.exp(scores - m[ce.dst])
            exps.append(ex)
            den = den + _gather_scatter(ex, _entry_adjacency(ce), None, "sum")
        den = torch.where(den > 0, den, torch.ones_like(den))
        for (ce, _, v_rel), ex in zip(parts, exps):
            out = out + _gather_scatter(v_rel, ce.adj, ex / den[ce.dst], "sum")
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(-1, {self.out_channels}, heads={self.heads})"


# ---------------------------------------------------------------------- HAN


def _semantic_group(xs: list, q: nn.Parameter, k_lin: nn.Module):
    """HAN's semantic attention over the per-edge-type results of one node type: (out, weights) or (None, None)."""
    if not xs:
        return None, None
    out = torch.stack(xs)
    if out.numel() == 0:
        return out.view(0, out.size(-1)), None
    score = (q * torch.tanh(k_lin(out)).mean(1)).sum(-1)
    attn = F.softmax(score, dim=0)
    return torch.sum(attn.view(len(xs), 1, -1) * out, dim=0), attn


class HANConv(MessagePassing):
    """Heterogeneous graph attention, PyG's HANConv: node types projected to out_channels (`proj`), per edge type a
    GAT-style attention (alpha = softmax(leaky_relu(<x_src, lin_src> + <x_dst, lin_dst>)) per head, dropout),
    out = relu(sum alpha x_src); the edge types entering a node type are combined by semantic attention (q, k_lin).

    Args: in_channels (int or {node type: int}, -1 lazy), out_channels, metadata, heads, negative_slope, dropout,
    **kwargs for MessagePassing.

    forward(x_dict, edge_index_dict, return_semantic_attention_weights=False) -> {node type: (N, out_channels) or
    None}, and the {node type: (num edge types,)} semantic weights when asked.
    """

    def __init__(self, in_channels: Union[int, Dict[str, int]], out_channels: int, metadata, heads: int = 1,
                 negative_slope=0.2, dropout: float = 0.0, **kwargs):
        super().__init__(aggr="add", node_dim=0, **kwargs)
        node_types, edge_types = check_metadata(metadata)
        if out_channels % heads != 0:
            raise ValueError(f"'out_channels' (got {out_channels}) must be divisible by the number of heads (got "
                             f"{heads})")
        if not isinstance(in_channels, dict):
            in_channels = {node_type: in_channels for node_type in node_types}
        self.heads, self.in_channels, self.out_channels = heads, in_channels, out_channels
        self.negative_slope, self.metadata, self.dropout = negative_slope, metadata, dropout
        self.k_lin = nn.Linear(out_channels, out_channels)
        self.q = nn.Parameter(torch.empty(1, out_channels))
        self.proj = nn.ModuleDict({node_type: Linear(c, out_channels) for node_type, c in in_channels.items()})
        dim = out_channels // heads
        self.lin_src = nn.ParameterDict({"__".join(et): nn.Parameter(torch.empty(1, heads, dim)) for et in edge_types})
        self.lin_dst = nn.ParameterDict({"__".join(et): nn.Parameter(torch.empty(1, heads, dim)) for et in edge_types})
        self._edge_types = edge_types
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in self.proj.values():
            lin.reset_parameters()
        for p in [*self.lin_src.values(), *self.lin_dst.values()]:
            _glorot(p)
        self.k_lin.reset_parameters()
        _glorot(self.q)

    def forward(self, x_dict: Dict[str, torch.Tensor], edge_index_dict: Dict[EdgeType, object],
                return_semantic_attention_weights: bool = False):
        _check_inputs(self, x_dict, edge_index_dict, self._edge_types)
        for key in x_dict:
            if key not in self.proj:
                raise ValueError(f"HANConv: x_dict has node type {key!r}, which is not in the layer's metadata "
                                 f"node types {list(self.proj)}")
        _check_width(self, x_dict, self.in_channels)
        H, D = self.heads, self.out_channels // self.heads
        x_node = {key: self.proj[key](x).view(-1, H, D) for key, x in x_dict.items()}
        outs: Dict[str, list] = {key: [] for key in x_dict}
        for et, edges in edge_index_dict.items():
            src, _, dst = et
            name = "__".join(et)
            x_src, x_dst = x_node[src], x_node[dst]
            a_src = (x_src * self.lin_src[name]).sum(dim=-1)  # (N_src, H)
            a_dst = (x_dst * self.lin_dst[name]).sum(dim=-1)
            ce = _csr_edges(edges, self.flow, x_src.shape[0], x_dst.shape[0], False, x_src.device)
            scores = F.leaky_relu(a_src[ce.src] + a_dst[ce.dst], self.negative_slope)  # (E', H), CSR order
            alpha = _ops.neighbor_softmax(scores, ce.adj.rowptr, None)
            alpha = F.dropout(alpha, p=self.dropout, training=self.training)
            out = _gather_scatter(x_src.reshape(-1, H * D), ce.adj, alpha, "sum")
            outs[dst].append(F.relu(out))
        out_dict, attn_dict = {}, {}
        for key, xs in outs.items():
            out_dict[key], attn_dict[key] = _semantic_group(xs, self.q, self.k_lin)
        if return_semantic_attention_weights:
            return out_dict, attn_dict
        return out_dict

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.out_channels}, heads={self.heads})"


__all__ = ["HANConv", "HGTConv"]
