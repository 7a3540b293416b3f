"""Heterogeneous attention layers over {node type: x} / {edge type: edge_index} dicts: HGTConv (Hu et al. 2020) and
HANConv (Wang et al. 2019); and relational attention over one node set with an edge-type vector, RGATConv
(Busbridge et al. 2019). PyG 2.8's constructors, parameter names and outputs.

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

from ..ops.adjacency import build_adjacency
from ..ops.gather_scatter import _fused as _gather_scatter
from ..ops.gather_scatter import aggregate as _aggregate
from ..ops.scatter import scatter_softmax, segment_reduce
from .conv import _glorot
from ._edges import is_sparse, read_edges
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


# ---------------------------------------------------------------------- RGAT

_MODS = ("additive", "scaled", "f-additive", "f-scaled")


class RGATConv(MessagePassing):
    """Relational graph attention, PyG's RGATConv: per relation r the features x W_r (full, basis- or block-
    decomposed weights), attention logits from the query / key projections q, k (and the edge features through
    lin_edge and e) combined additively (leaky_relu(q_i + k_j + e_ij)) or multiplicatively (q_i * k_j * e_ij, `dim`
    channels per head), a softmax over all in-edges ("across-relation") or over the in-edges of one relation
    ("within-relation"), the cardinality-preserving `mod` variants, dropout on the weights.

    Fused: the per-node relation features x W_r (N x heads * C) are computed once per relation present; the
    messages of relation r are one multi-head gather-scatter of them over that relation's edges, and the logits
    are gathers of per-node (N x heads * dim) projections. No per-edge (E x heads * C) feature tensor is formed
    (the edge-feature term uses lin_edge.weight^T @ e, an (edge_dim x heads * dim) matrix).

    forward(x, edge_index, edge_type=None, edge_attr=None, size=None, return_attention_weights=None): edge_index a
    (2, E) tensor or a sparse adjacency (its values give edge_type, or edge_attr when 2-D, as in PyG); with a bool
    return_attention_weights returns (out, (edge_index, alpha)), alpha (E, heads * dim) in edge order.
    """

    def __init__(self, in_channels: int, out_channels: int, num_relations: int, num_bases: Optional[int] = None,
                 num_blocks: Optional[int] = None, mod: Optional[str] = None,
                 attention_mechanism: str = "across-relation", attention_mode: str = "additive-self-attention",
                 heads: int = 1, dim: int = 1, concat: bool = True, negative_slope: float = 0.2, dropout: float = 0.0,
                 edge_dim: Optional[int] = None, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        if self.aggr not in ("add", "sum", "mean"):
            raise ValueError(f"RGATConv: aggr must be 'add' / 'sum' or 'mean', got {self.aggr!r}")
        if attention_mechanism not in ("within-relation", "across-relation"):
            raise ValueError('attention mechanism must either be "within-relation" or "across-relation"')
        if attention_mode not in ("additive-self-attention", "multiplicative-self-attention"):
            raise ValueError('attention mode must either be "additive-self-attention" or '
                             '"multiplicative-self-attention"')
        if attention_mode == "additive-self-attention" and dim > 1:
            raise ValueError('"additive-self-attention" mode cannot be applied when value of d is greater than 1. '
                             'Use "multiplicative-self-attention" instead.')
        if mod is not None and mod not in _MODS:
            raise ValueError(f"mod must be None or one of {_MODS}, got {mod!r}")
        if dropout > 0.0 and mod in _MODS:
            raise ValueError("mod must be None with dropout value greater than 0 in order to sample attention "
                             "coefficients stochastically")
        if num_bases is not None and num_blocks is not None:
            raise ValueError("Can not apply both basis-decomposition and block-diagonal-decomposition at the same "
                             "time.")
        if num_blocks is not None and (in_channels % num_blocks or (heads * out_channels) % num_blocks):
            raise ValueError("both 'in_channels' and 'heads * out_channels' must be multiple of 'num_blocks' used")
        self.heads, self.negative_slope, self.dropout, self.mod = heads, negative_slope, dropout, mod
        self.activation = nn.ReLU()
        self.concat, self.attention_mode, self.attention_mechanism = concat, attention_mode, attention_mechanism
        self.dim, self.edge_dim = dim, edge_dim
        self.in_channels, self.out_channels, self.num_relations = in_channels, out_channels, num_relations
        self.num_bases, self.num_blocks = num_bases, num_blocks
        HC, HD = heads * out_channels, heads * dim
        self.q = nn.Parameter(torch.empty(HC, HD))
        self.k = nn.Parameter(torch.empty(HC, HD))
        if bias:
            self.bias = nn.Parameter(torch.empty((HD if concat else dim) * out_channels))
        else:
            self.register_parameter("bias", None)
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, HC, bias=False, weight_initializer="glorot")
            self.e = nn.Parameter(torch.empty(HC, HD))
        else:
            self.lin_edge = None
            self.register_parameter("e", None)
        if num_bases is not None:
            self.att = nn.Parameter(torch.empty(num_relations, num_bases))
            self.basis = nn.Parameter(torch.empty(num_bases, in_channels, HC))
        elif num_blocks is not None:
            self.weight = nn.Parameter(torch.empty(num_relations, num_blocks, in_channels // num_blocks,
                                                   HC // num_blocks))
        else:
            self.weight = nn.Parameter(torch.empty(num_relations, in_channels, HC))
        self.w = nn.Parameter(torch.ones(out_channels))
        self.l1 = nn.Parameter(torch.empty(1, out_channels))
        self.b1 = nn.Parameter(torch.empty(1, out_channels))
        self.l2 = nn.Parameter(torch.empty(out_channels, out_channels))
        self.b2 = nn.Parameter(torch.empty(1, out_channels))
        self._alpha = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.num_bases is not None:
            _glorot(self.basis)
            _glorot(self.att)
        else:
            _glorot(self.weight)
        _glorot(self.q)
        _glorot(self.k)
        with torch.no_grad():
            if self.bias is not None:
                self.bias.zero_()
            self.l1.fill_(1.0)
            self.b1.zero_()
            self.l2.fill_(1.0 / self.out_channels)  # PyG builds this tensor but never assigns it
            self.b2.zero_()
        if self.lin_edge is not None:
            self.lin_edge.reset_parameters()
            _glorot(self.e)

    def _relation_features(self, x: torch.Tensor, r: int) -> torch.Tensor:
        """x W_r: (N, heads * out_channels)."""
        if self.num_blocks is not None:
            w = self.weight[r]  # (blocks, in / blocks, HC / blocks)
            return torch.einsum("nbc,bcd->nbd", x.view(x.shape[0], w.shape[0], w.shape[1]), w).reshape(x.shape[0], -1)
        if self.num_bases is not None:
            w = (self.att[r] @ self.basis.view(self.num_bases, -1)).view(self.in_channels, -1)
        else:
            w = self.weight[r]
        return x @ w

    def forward(self, x: torch.Tensor, edge_index, edge_type: Optional[torch.Tensor] = None,
                edge_attr: Optional[torch.Tensor] = None, size=None, return_attention_weights=None):
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or not x.is_floating_point():
            raise ValueError(f"RGATConv: x must be a 2-D float tensor, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"RGATConv: x has {x.shape[1]} channels, the layer expects in_channels="
                             f"{self.in_channels}")
        edges = read_edges(edge_index, self.flow, size)
        src, dst = edges.index_j.long(), edges.index_i.long()
        E, N = src.numel(), x.shape[0]
        num_dst = edges.size[1] if edges.size[1] is not None else N
        if edges.value is not None and is_sparse(edge_index):
            if edge_attr is None and edges.value.dim() > 1:
                edge_attr = edges.value
            if edge_type is None:
                edge_type = edges.value
        if edge_type is None:
            raise ValueError("RGATConv: edge_type (one relation id per edge) is required")
        edge_type = edge_type.view(-1).long()
        if edge_type.numel() != E:
            raise ValueError(f"RGATConv: edge_type must have one entry per edge ({E}), got {edge_type.numel()}")
        if E and (int(edge_type.min()) < 0 or int(edge_type.max()) >= self.num_relations):
            raise ValueError(f"RGATConv: edge_type values must lie in [0, num_relations={self.num_relations})")
        if edge_attr is not None:
            if self.lin_edge is None:
                raise ValueError("Please set 'edge_dim = edge_attr.size(-1)' while calling the RGATConv layer")
            edge_attr = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
            if edge_attr.shape[0] != E:
                raise ValueError(f"RGATConv: edge_attr must have one row per edge ({E}), got {edge_attr.shape[0]}")
        H, C, Dm = self.heads, self.out_channels, self.dim
        rels = edge_type.unique().tolist() if E else []
        feats = {r: self._relation_features(x, r) for r in rels}  # (N, H * C) per relation present
        # Logits in edge order: q / k of each relation at the edge's destination / source.
        qi = x.new_empty(E, H * Dm)
        kj = x.new_empty(E, H * Dm)
        masks = {}
        for r in rels:
            m = (edge_type == r).nonzero().view(-1)
            masks[r] = m
            qi = qi.index_copy(0, m, (feats[r] @ self.q)[dst[m]])
            kj = kj.index_copy(0, m, (feats[r] @ self.k)[src[m]])
        alpha_edge = None
        if edge_attr is not None:
            alpha_edge = edge_attr @ (self.lin_edge.weight.t() @ self.e)
        if self.attention_mode == "additive-self-attention":
            alpha = qi + kj if alpha_edge is None else qi + kj + alpha_edge
            alpha = F.leaky_relu(alpha, self.negative_slope)
        else:
            alpha = qi * kj if alpha_edge is None else qi * kj * alpha_edge
        if self.attention_mechanism == "within-relation":
            alpha = scatter_softmax(alpha, dst * self.num_relations + edge_type, num_dst * self.num_relations)
        else:
            alpha = scatter_softmax(alpha, dst, num_dst)
        attention = alpha
        deg = torch.zeros(num_dst, dtype=x.dtype, device=x.device).index_add_(0, dst, x.new_ones(E))
        if self.mod == "f-additive":
            alpha = torch.where(alpha > 0, alpha + 1, alpha)
        elif self.mod == "f-scaled":
            alpha = alpha * deg[dst].unsqueeze(-1)
        elif self.mod is None and self.training and self.dropout > 0:
            alpha = F.dropout(alpha, p=self.dropout, training=True)
        out = x.new_zeros(num_dst, H, Dm, C)
        plain = x.new_zeros(num_dst, H, C) if self.mod == "additive" else None
        for r in rels:
            m = masks[r]
            adj = build_adjacency(torch.stack([src[m], dst[m]]), num_dst, N)
            a = alpha[m].view(-1, H, Dm)
            for d in range(Dm):
                out[:, :, d] += _aggregate(feats[r], adj, a[:, :, d].contiguous()).view(num_dst, H, C)
            if plain is not None:
                plain = plain + _aggregate(feats[r], adj).view(num_dst, H, C)
        if plain is not None:  # messages outj * alpha + w * outj
            out = out + (self.w * plain).unsqueeze(2)
        elif self.mod == "scaled":  # messages scaled by an MLP of the destination's in-degree
            scale = self.activation(deg.view(-1, 1) @ self.l1 + self.b1) @ self.l2 + self.b2
            out = out * scale.view(num_dst, 1, 1, C)
        if self.aggr == "mean":
            out = out / deg.clamp(min=1).view(-1, 1, 1, 1)
        out = self._combine(out)
        if isinstance(return_attention_weights, bool):
            if is_sparse(edge_index):
                if callable(getattr(edge_index, "set_value", None)):
                    return out, edge_index.set_value(attention, layout="coo")
                adj = torch.sparse_coo_tensor(edge_index._indices(), attention, (*edge_index.shape[:2], attention.shape[1]))
                return out, (adj, attention)
            return out, (edge_index, attention)
        return out

    def _combine(self, out: torch.Tensor) -> torch.Tensor:
        """(N, H, dim, C) aggregated messages -> the layer output (concatenated or head-averaged, plus bias)."""
        N = out.shape[0]
        if self.attention_mode == "additive-self-attention":
            out = out.view(N, self.heads, self.out_channels)
            out = out.reshape(N, -1) if self.concat else out.mean(dim=1)
        else:
            out = out.reshape(N, -1) if self.concat else out.mean(dim=1).reshape(N, -1)
        return out + self.bias if self.bias is not None else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"


__all__ = ["HANConv", "HGTConv", "RGATConv"]
