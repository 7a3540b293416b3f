"""Edge-feature convolutions with PyG 2.8's constructors, forward signatures, parameter names and shapes (PyG
state dicts load) and semantics: NNConv, GENConv, PNAConv (with DegreeScalerAggregation), GeneralConv, CGConv,
GatedGraphConv, ResGatedGraphConv. The relational layers (RGCNConv, FastRGCNConv, FiLMConv) are in
`conv_relational`.

Where the messages allow it, no (E, F) tensor is formed:
- weighted / plain copies of node features run on the fused gather-scatter kernel: GatedGraphConv; GENConv
  without edge features and a sum / mean / max / min aggregation; GeneralConv without attention (lin_msg applied
  per node, the edge term as lin_edge of the aggregated edge features for sum / mean);
- PNAConv without edge features: the message pre_nn([x_i, x_j]) (pre_layers=1) is a_i + b_j, so its sum / mean /
  max / min / var / std are per-node gather-scatters of b and b^2.
Messages that depend on the edge by definition (an MLP of the edge features, a gate of both endpoints, softmax
aggregations) are formed once per edge and reduced by the segment kernels (through the CSR cached on the edge
tensor where there is one). Where the first layer applied to the concatenation [x_i, x_j, e] is linear (PNAConv
with pre_layers=1, CGConv, ResGatedGraphConv with edge_dim) it runs as per-node projections gathered per edge, so
the (E, 2F + D) concatenation and its GEMM are never formed.

A subclass that replaces `message` / `aggregate` / `update`, MessagePassing hooks, decomposed_layers > 1 or a sparse
adj_t whose values are the edge features send these layers through `propagate` with PyG's own message
(materialized, as PyG). Not implemented: TorchScript (`jittable`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import check_positive_int, count_per_index
from ..ops.gather_scatter import aggregate as _fused_aggregate
from ..ops.scatter import scatter
from ..ops.spmm import spmm
from ._edges import edge_adjacency, is_graph_batch, is_sparse, message_adjacency, read_edges
from .aggr import (Aggregation, MaxAggregation, MeanAggregation, MinAggregation, MultiAggregation, StdAggregation,
                   SumAggregation, VarAggregation, aggregation_resolver, segment_softmax)
from .conv import _glorot, _observed, _pair, reset
from .conv_spectral import _check_width
from .linear import Linear
from .message_passing import _FUSED_REDUCE, MessagePassing, fused_message
from .mlp import _activation
from .norm import MessageNorm


# ---------------------------------------------------------------------- shared checks and helpers


def _num_edges(edge_index) -> int | None:
    """E of a (2, E) edge_index or a GraphBatch (None for sparse inputs, whose edge values are their own)."""
    if is_graph_batch(edge_index):
        return int(edge_index.num_edges)
    if isinstance(edge_index, torch.Tensor) and not is_sparse(edge_index) and edge_index.dim() == 2:
        return int(edge_index.shape[1])
    return None


def _check_edge_tensor(layer: nn.Module, edge_index, t, name: str = "edge_attr", width=None) -> None:
    """ValueError naming the layer and `name` unless t has one row per edge (and `width` channels)."""
    if t is None:
        return
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{type(layer).__name__}: {name} must be a tensor, got {type(t).__name__}")
    E = _num_edges(edge_index)
    if E is not None and (t.dim() == 0 or t.shape[0] != E):
        raise ValueError(f"{type(layer).__name__}: {name} must have one row per edge ({E}), got shape {tuple(t.shape)}")
    if width is not None and t.dim() >= 2:
        _check_width(layer, t, width, name)


def _check_x(layer: nn.Module, x, in_channels) -> None:
    """x (or the (x_src, x_dst) pair) against in_channels (an int or a pair; -1 lazy)."""
    widths = _pair(in_channels)
    if isinstance(x, torch.Tensor):
        x = (x, x)
    for k, (t, w) in enumerate(zip(x, widths)):
        if isinstance(t, torch.Tensor) and t.dim() >= 1:
            _check_width(layer, t, w, "x" if x[0] is x[1] else f"x[{k}]")


def _copy_aggregate(layer: MessagePassing, x_src: torch.Tensor, edge_index, size, num_dst: int | None = None):
    """sum / mean / max / min of x_src[j] over each destination's in-edges on the fused kernel (no (E, F)
    messages); None when the layer's aggregation has no fused form."""
    reduce = _FUSED_REDUCE.get(type(layer.aggr_module))
    if reduce is None or x_src.dim() != 2 or is_sparse(edge_index):  # a sparse adj_t's values are edge_attr
        return None
    edges = read_edges(edge_index, layer.flow, None if is_sparse(edge_index) else size)
    i, j = (1, 0) if layer.flow == "source_to_target" else (0, 1)
    n_src = edges.size[j] if edges.size[j] is not None else x_src.shape[0]
    n_dst = edges.size[i] if edges.size[i] is not None else (num_dst if num_dst is not None else n_src)
    if n_src != x_src.shape[0]:
        return None
    adj = edge_adjacency(edges, n_src, n_dst, layer.flow)
    return _fused_aggregate(x_src, adj, None, reduce)


def _reduce_messages(layer: MessagePassing, msg: torch.Tensor, edges, n_src: int, n_dst: int) -> torch.Tensor:
    """(E, F) messages in edge order reduced into their destinations: through the CSR cached on a square
    edge_index / GraphBatch when the aggregation is sum / mean / max / min (no sort), else the aggregation module."""
    reduce = _FUSED_REDUCE.get(type(layer.aggr_module))
    if reduce is not None and msg.shape[0]:
        madj = message_adjacency(edges, n_src, n_dst, layer.flow)
        if madj is not None:
            return _fused_aggregate(msg, madj, None, reduce)
    return layer.aggr_module(msg, edges.index_i, dim_size=n_dst, dim=0)


def _in_features(module) -> int | None:
    """The input width of a module (its first layer's in_features / in_channels), None when unknown or lazy."""
    first = module[0] if isinstance(module, nn.Sequential) and len(module) else module
    width = getattr(first, "in_features", getattr(first, "in_channels", None))
    return width if isinstance(width, int) and width > 0 else None


def _split_linear(lin, widths):
    """A Linear's weight split by input columns into the blocks of a concatenated input of these widths."""
    return lin.weight.split(list(widths), dim=1)


def _edge_affine(parts, bias: torch.Tensor | None) -> torch.Tensor:
    """sum over (features, weight, index) of (features @ weight.T)[index] (+ bias): a Linear of the per-edge
    concatenation of the gathered features, computed per node and gathered (index None: features are per edge)."""
    out = None
    for feats, w, index in parts:
        h = feats @ w.t()
        if index is not None:
            h = h.index_select(0, index)
        out = h if out is None else out + h
    return out + bias if bias is not None else out


# ---------------------------------------------------------------------- NNConv


class NNConv(MessagePassing):
    """Edge-conditioned convolution (Gilmer et al. 2017; Simonovsky & Komodakis 2017), PyG's NNConv:
    out_i = lin(x_i) + aggr_j x_j @ nn(e_ji).view(in, out) + bias.

    `nn` maps edge features (E, D) to (E, in_channels_src * out_channels): the per-edge weight matrix is its
    output by definition, and the (E, out) messages are reduced by the aggregation's segment kernel.
    """

    def __init__(self, in_channels, out_channels: int, nn, aggr: str = "add", root_weight: bool = True,
                 bias: bool = True, **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.nn, self.root_weight = nn, root_weight
        in_pair = _pair(in_channels)
        self.in_channels_l = in_pair[0]
        if root_weight:
            self.lin = Linear(in_pair[1], out_channels, bias=False, weight_initializer="uniform")
        self.bias = torch.nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)
        if self.root_weight:
            self.lin.reset_parameters()
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        _check_x(self, x, self.in_channels)
        if edge_attr is None and not is_sparse(edge_index):
            raise ValueError(f"{type(self).__name__} needs edge_attr (the input of nn)")
        _check_edge_tensor(self, edge_index, edge_attr, width=_in_features(self.nn))
        out = self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size)
        if x[1] is not None and self.root_weight:
            out = out + self.lin(x[1])
        if self.bias is not None:
            out = out + self.bias
        return out

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        if edge_attr is None:
            raise ValueError(f"{type(self).__name__} needs edge_attr (the input of nn), or a sparse adj_t holding it")
        weight = self.nn(edge_attr)
        if weight.numel() != x_j.shape[0] * self.in_channels_l * self.out_channels:
            raise ValueError(f"{type(self).__name__}: nn must map edge_attr to {self.in_channels_l} * "
                             f"{self.out_channels} = {self.in_channels_l * self.out_channels} channels per edge, got "
                             f"shape {tuple(weight.shape)}")
        weight = weight.view(-1, self.in_channels_l, self.out_channels)
        return torch.matmul(x_j.unsqueeze(1), weight).squeeze(1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr}, nn={self.nn})"


# ---------------------------------------------------------------------- GENConv


class GENMLP(nn.Sequential):
    """GENConv's MLP (PyG's `gen_conv.MLP`): Linear layers with a norm ("batch", "layer", "instance" or None),
    ReLU and Dropout between them; state-dict keys `<k>.weight` as PyG's Sequential."""

    def __init__(self, channels, norm: str | None = None, bias: bool = True, dropout: float = 0.0):
        m = []
        for k in range(1, len(channels)):
            m.append(Linear(channels[k - 1], channels[k], bias=bias))
            if k < len(channels) - 1:
                if norm == "batch":
                    m.append(nn.BatchNorm1d(channels[k], affine=True))
                elif norm == "layer":
                    m.append(nn.LayerNorm(channels[k], elementwise_affine=True))
                elif norm == "instance":
                    m.append(nn.InstanceNorm1d(channels[k], affine=False))
                elif norm:
                    raise NotImplementedError(f'Normalization layer "{norm}" not supported.')
                m.append(nn.ReLU())
                m.append(nn.Dropout(dropout))
        super().__init__(*m)


class GENConv(MessagePassing):
    """DeeperGCN's generalized graph convolution (Li et al. 2020), PyG's GENConv:
    out_i = mlp(x_i + aggr_j (relu(x_j + e_ji) + eps)), with an optional MessageNorm of the aggregate.

    aggr: "softmax" (learnable t with learn_t), "softmax_sg" (semi-gradient), "powermean" / "power" (learnable p
    with learn_p), any other aggregation or a list (MultiAggregation, projected back by lin_aggr_out).
    Without edge features and with a sum / mean / max / min aggregation the messages relu(x_j) + eps are node
    features, aggregated on the fused kernel.
    """

    def __init__(self, in_channels, out_channels: int, aggr="softmax", t: float = 1.0, learn_t: bool = False,
                 p: float = 1.0, learn_p: bool = False, msg_norm: bool = False, learn_msg_scale: bool = False,
                 norm: str = "batch", num_layers: int = 2, expansion: int = 2, eps: float = 1e-7,
                 bias: bool = False, edge_dim: int | None = None, **kwargs):
        semi_grad = aggr == "softmax_sg"
        aggr = "softmax" if aggr == "softmax_sg" else aggr
        aggr = "powermean" if aggr == "power" else aggr
        if "aggr_kwargs" not in kwargs:
            if aggr == "softmax":
                kwargs["aggr_kwargs"] = dict(t=t, learn=learn_t, semi_grad=semi_grad)
            elif aggr == "powermean":
                kwargs["aggr_kwargs"] = dict(p=p, learn=learn_p)
        super().__init__(aggr=aggr, **kwargs)
        num_layers = check_positive_int(num_layers, "num_layers")
        expansion = check_positive_int(expansion, "expansion")
        self.in_channels, self.out_channels, self.eps = in_channels, out_channels, eps
        in_pair = _pair(in_channels)
        if in_pair[0] != out_channels:
            self.lin_src = Linear(in_pair[0], out_channels, bias=bias)
        if edge_dim is not None and edge_dim != out_channels:
            self.lin_edge = Linear(edge_dim, out_channels, bias=bias)
        self.edge_dim = edge_dim
        if isinstance(self.aggr_module, MultiAggregation):
            aggr_out = self.aggr_module.get_out_channels(out_channels)
        else:
            aggr_out = out_channels
        if aggr_out != out_channels:
            self.lin_aggr_out = Linear(aggr_out, out_channels, bias=bias)
        if in_pair[1] != out_channels:
            self.lin_dst = Linear(in_pair[1], out_channels, bias=bias)
        channels = [out_channels] + [out_channels * expansion] * (num_layers - 1) + [out_channels]
        self.mlp = GENMLP(channels, norm=norm, bias=bias)
        if msg_norm:
            self.msg_norm = MessageNorm(learn_msg_scale)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.mlp)
        for name in ("msg_norm", "lin_src", "lin_edge", "lin_aggr_out", "lin_dst"):
            if hasattr(self, name):
                getattr(self, name).reset_parameters()

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        _check_x(self, x, self.in_channels)
        e_width = self.edge_dim if self.edge_dim is not None else self.out_channels
        _check_edge_tensor(self, edge_index, edge_attr, width=e_width)
        if hasattr(self, "lin_src"):
            x = (self.lin_src(x[0]), x[1])
        out = None
        if edge_attr is None and not _observed(self, GENConv):
            n_dst = x[1].shape[0] if x[1] is not None else None
            out = _copy_aggregate(self, x[0].relu() + self.eps, edge_index, size, n_dst)
        if out is None:
            out = self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size)
        if hasattr(self, "lin_aggr_out"):
            out = self.lin_aggr_out(out)
        if hasattr(self, "msg_norm"):
            h = x[1] if x[1] is not None else x[0]
            out = self.msg_norm(h, out)
        x_dst = x[1]
        if x_dst is not None:
            if hasattr(self, "lin_dst"):
                x_dst = self.lin_dst(x_dst)
            out = out + x_dst
        return self.mlp(out)

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor | None) -> torch.Tensor:
        if edge_attr is not None and hasattr(self, "lin_edge"):
            edge_attr = self.lin_edge(edge_attr)
        if edge_attr is not None and x_j.size(-1) != edge_attr.size(-1):
            raise ValueError(f"{type(self).__name__}: edge_attr has {edge_attr.size(-1)} channels but the messages "
                             f"have {x_j.size(-1)}; set edge_dim")
        msg = x_j if edge_attr is None else x_j + edge_attr
        return msg.relu() + self.eps

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"


# ---------------------------------------------------------------------- PNA


_SCALERS = ("identity", "amplification", "attenuation", "linear", "inverse_linear")


class DegreeScalerAggregation(Aggregation):
    """PNA's aggregation (Corso et al. 2020), PyG's DegreeScalerAggregation: each aggregation of `aggr` scaled by
    each scaler of the destination's in-degree d, concatenated along the channels: "identity" (1),
    "amplification" (log(d + 1) / avg_log), "attenuation" (avg_log / log(max(d, 1) + 1)), "linear"
    (d / avg_lin), "inverse_linear" (avg_lin / max(d, 1)). avg_lin and avg_log come from the training degree
    histogram `deg` (buffers, or parameters with train_norm)."""

    def __init__(self, aggr, scaler, deg: torch.Tensor, train_norm: bool = False, aggr_kwargs=None):
        super().__init__()
        if isinstance(aggr, (str, Aggregation)):
            self.aggr = aggregation_resolver(aggr, **(aggr_kwargs or {}))
        elif isinstance(aggr, (tuple, list)):
            self.aggr = MultiAggregation(aggr, aggr_kwargs)
        else:
            raise ValueError(f"Only strings, list, tuples and instances of`torch_geometric.nn.aggr.Aggregation` are "
                             f"valid aggregation schemes (got '{type(aggr)}')")
        self.scaler = [scaler] if isinstance(aggr, str) else scaler
        if not isinstance(deg, torch.Tensor) or deg.dim() != 1:
            raise ValueError(f"{type(self).__name__}: deg must be a 1-D degree histogram tensor")
        deg = deg.to(torch.float)
        N = int(deg.sum())
        if N <= 0:
            raise ValueError(f"{type(self).__name__}: deg must count at least one node (got a histogram summing to "
                             f"{N})")
        bins = torch.arange(deg.numel(), device=deg.device)
        self.init_avg_deg_lin = float((bins * deg).sum()) / N
        self.init_avg_deg_log = float(((bins + 1).log() * deg).sum()) / N
        if train_norm:
            self.avg_deg_lin = nn.Parameter(torch.empty(1))
            self.avg_deg_log = nn.Parameter(torch.empty(1))
        else:
            self.register_buffer("avg_deg_lin", torch.empty(1))
            self.register_buffer("avg_deg_log", torch.empty(1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.avg_deg_lin.data.fill_(self.init_avg_deg_lin)
        self.avg_deg_log.data.fill_(self.init_avg_deg_log)

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        self.assert_index_present(index)
        out = self.aggr(x, index, ptr, dim_size, dim)
        return self.scale(out, count_per_index(index, out.shape[dim]), dim)

    def scale(self, out: torch.Tensor, deg: torch.Tensor, dim: int = -2) -> torch.Tensor:
        """The scalers applied to an aggregated `out` given each group's (N,) in-degree, concatenated."""
        deg = deg.to(out.dtype)
        shape = [1] * out.dim()
        shape[dim] = -1
        deg = deg.view(shape)
        outs = []
        for scaler in self.scaler:
            if scaler == "identity":
                outs.append(out)
            elif scaler == "amplification":
                outs.append(out * (torch.log(deg + 1) / self.avg_deg_log))
            elif scaler == "attenuation":
                outs.append(out * (self.avg_deg_log / torch.log(deg.clamp(min=1) + 1)))
            elif scaler == "linear":
                outs.append(out * (deg / self.avg_deg_lin))
            elif scaler == "inverse_linear":
                outs.append(out * (self.avg_deg_lin / deg.clamp(min=1)))
            else:
                raise ValueError(f"Unknown scaler '{scaler}'")
        return torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]


# The aggregations of messages m_e = a_i + b_j that reduce to per-node gather-scatters of b (a_i is constant per
# destination: sum adds deg * a_i, mean / max / min add a_i, var and std ignore it).
_NODE_REDUCIBLE = {SumAggregation: "sum", MeanAggregation: "mean", MaxAggregation: "max", MinAggregation: "min",
                   VarAggregation: "var", StdAggregation: "std"}


def _node_reducible(aggr: Aggregation) -> list | None:
    """The reductions of a (Multi)Aggregation when every one is node-reducible (see _NODE_REDUCIBLE), else None."""
    aggrs = aggr.aggrs if isinstance(aggr, MultiAggregation) else [aggr]
    if isinstance(aggr, MultiAggregation) and aggr.mode != "cat":
        return None
    kinds = []
    for a in aggrs:
        kind = _NODE_REDUCIBLE.get(type(a))
        semi = getattr(a, "semi_grad", False) or getattr(getattr(a, "var_aggr", None), "semi_grad", False)
        if kind is None or semi:
            return None
        kinds.append(kind)
    return kinds


class PNAConv(MessagePassing):
    """Principal Neighbourhood Aggregation (Corso et al. 2020), PyG's PNAConv: per tower, messages
    pre_nn([x_i, x_j, edge_encoder(e)]), aggregated by every aggregator and scaled by every degree scaler
    (DegreeScalerAggregation), then post_nn([x, aggregate]); the towers concatenated and mixed by `lin`.

    With pre_layers=1 the message is one Linear of the concatenation, computed as per-node projections of x
    gathered per edge (plus the projected edge features): the (E, towers, 3F) concatenation is never formed.
    """

    def __init__(self, in_channels: int, out_channels: int, aggregators, scalers, deg: torch.Tensor,
                 edge_dim: int | None = None, towers: int = 1, pre_layers: int = 1, post_layers: int = 1,
                 divide_input: bool = False, act="relu", act_kwargs=None, train_norm: bool = False, **kwargs):
        towers = check_positive_int(towers, "towers")
        pre_layers = check_positive_int(pre_layers, "pre_layers")
        post_layers = check_positive_int(post_layers, "post_layers")
        aggr = DegreeScalerAggregation(aggregators, scalers, deg, train_norm)
        super().__init__(aggr=aggr, node_dim=0, **kwargs)
        if divide_input and in_channels % towers != 0:
            raise ValueError(f"PNAConv: in_channels ({in_channels}) must be divisible by towers ({towers}) with "
                             f"divide_input=True")
        if out_channels % towers != 0:
            raise ValueError(f"PNAConv: out_channels ({out_channels}) must be divisible by towers ({towers})")
        self.in_channels, self.out_channels, self.edge_dim = in_channels, out_channels, edge_dim
        self.towers, self.divide_input = towers, divide_input
        self.F_in = in_channels // towers if divide_input else in_channels
        self.F_out = out_channels // towers
        if edge_dim is not None:
            self.edge_encoder = Linear(edge_dim, self.F_in)
        self.pre_nns = nn.ModuleList()
        self.post_nns = nn.ModuleList()
        for _ in range(towers):
            modules = [Linear((3 if edge_dim else 2) * self.F_in, self.F_in)]
            for _ in range(pre_layers - 1):
                modules += [_activation(act, **(act_kwargs or {})), Linear(self.F_in, self.F_in)]
            self.pre_nns.append(nn.Sequential(*modules))
            width = (len(aggregators) * len(scalers) + 1) * self.F_in
            modules = [Linear(width, self.F_out)]
            for _ in range(post_layers - 1):
                modules += [_activation(act, **(act_kwargs or {})), Linear(self.F_out, self.F_out)]
            self.post_nns.append(nn.Sequential(*modules))
        self.lin = Linear(out_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.edge_dim is not None:
            self.edge_encoder.reset_parameters()
        for m in self.pre_nns:
            reset(m)
        for m in self.post_nns:
            reset(m)
        self.lin.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index, edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        _check_width(self, x, self.in_channels)
        if x.dim() != 2:
            raise ValueError(f"PNAConv expects x of shape (N, {self.in_channels}), got {tuple(x.shape)}")
        from_adj = edge_attr is None and is_sparse(edge_index)  # a sparse adj_t's values are edge_attr
        if (edge_attr is not None) != (self.edge_dim is not None) and not from_adj:
            raise ValueError(f"PNAConv: edge_attr must be given exactly when the layer has edge_dim "
                             f"(edge_dim={self.edge_dim}, edge_attr {'given' if edge_attr is not None else 'None'})")
        _check_edge_tensor(self, edge_index, edge_attr, width=self.edge_dim)
        if self.divide_input:
            x = x.view(-1, self.towers, self.F_in)
        else:
            x = x.view(-1, 1, self.F_in).repeat(1, self.towers, 1)
        out = None
        if len(self.pre_nns[0]) == 1 and not _observed(self, PNAConv):
            if edge_attr is None:
                parts = self._node_level(x, edge_index)
                if parts is not None:
                    fused = self._post_by_parts(x, *parts)
                    if fused is not None:
                        return self.lin(fused)
                    out = self.aggr_module.scale(parts[0], parts[1], dim=0)
            if out is None:
                out = self._projected(x, edge_index, edge_attr)
        if out is None:
            out = self.propagate(edge_index, x=x, edge_attr=edge_attr)
        out = torch.cat([x, out], dim=-1)
        outs = [m(out[:, k]) for k, m in enumerate(self.post_nns)]
        return self.lin(torch.cat(outs, dim=1))

    def _node_level(self, x, edge_index):
        """Without edge features the message pre_nn([x_i, x_j]) is a_i + b_j (a = x W_i^T + bias, b = x W_j^T),
        and sum / mean / max / min / var / std of it are per-node gather-scatters of b (and b^2) on the fused
        kernel: no (E, F) tensor at all. Returns (the aggregates before the degree scalers, (N, towers, A * F), and
        the in-degrees), or None when an aggregation has no such form."""
        kinds = _node_reducible(self.aggr_module.aggr)
        if kinds is None or is_sparse(edge_index):  # a sparse adj_t's values are edge_attr (PyG)
            return None
        edges = read_edges(edge_index, self.flow)
        N, T, Fi = x.shape[0], self.towers, self.F_in
        if any(n is not None and n != N for n in edges.size):
            return None
        adj = edge_adjacency(edges, N, N, self.flow)
        a, b = [], []
        for k, seq in enumerate(self.pre_nns):
            w_i, w_j = _split_linear(seq[0], [Fi, Fi])
            a.append(x[:, k] @ w_i.t() + seq[0].bias if seq[0].bias is not None else x[:, k] @ w_i.t())
            b.append(x[:, k] @ w_j.t())
        a, b = torch.stack(a, dim=1), torch.stack(b, dim=1).reshape(N, T * Fi)
        count = adj.rowptr[1:] - adj.rowptr[:-1]
        deg = count.to(x.dtype).view(N, 1, 1)
        has = deg > 0
        done = {}

        def gs(reduce, src=b, key=None):
            key = key or reduce
            if key not in done:
                done[key] = _fused_aggregate(src, adj, None, reduce).view(N, T, Fi)
            return done[key]

        outs = []
        for kind in kinds:
            if kind == "sum":
                outs.append(deg * a + gs("sum"))
            elif kind in ("mean", "max", "min"):
                outs.append(torch.where(has, a + gs(kind), 0.0))
            else:
                var = gs("mean", b * b, "mean2") - gs("mean") * gs("mean")
                if kind == "std":  # StdAggregation's clamp and cut-off
                    var = var.clamp(min=1e-5).sqrt()
                    var = var.masked_fill(var <= math.sqrt(1e-5), 0.0)
                outs.append(var)
        out = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
        return out, count

    def _post_by_parts(self, x, agg, count):
        """post_nn([x, scaled aggregates]) without the (N, towers, (1 + scalers * aggregators) * F) concatenation:
        the first post Linear is split by its input blocks, and since each scaler multiplies a node's aggregates by
        one number of its degree, Linear(agg * s) = s * Linear(agg). One GEMM per tower gives every scaler's product
        (agg @ [W_1 .. W_S]); the scaled sum is N x F_out work. None when the first post layer is not a plain,
        initialized, hook-free Linear (then the concatenation is built as PyG does)."""
        scalers = self.aggr_module.scaler
        N, Fi, S = x.shape[0], self.F_in, len(scalers)
        width = agg.shape[-1]
        deg = count.to(x.dtype).view(N, 1)
        agg_mod = self.aggr_module
        factors = []
        for scaler in scalers:
            if scaler == "identity":
                factors.append(None)
            elif scaler == "amplification":
                factors.append(torch.log(deg + 1) / agg_mod.avg_deg_log)
            elif scaler == "attenuation":
                factors.append(agg_mod.avg_deg_log / torch.log(deg.clamp(min=1) + 1))
            elif scaler == "linear":
                factors.append(deg / agg_mod.avg_deg_lin)
            elif scaler == "inverse_linear":
                factors.append(agg_mod.avg_deg_lin / deg.clamp(min=1))
            else:
                return None  # scale() raises the error
        outs = []
        for k, post in enumerate(self.post_nns):
            lin = post[0]
            if (type(lin) not in (Linear, nn.Linear) or lin._forward_hooks or lin._forward_pre_hooks
                    or isinstance(lin.weight, nn.parameter.UninitializedParameter)
                    or lin.weight.shape[1] != Fi + S * width):
                return None
            w = lin.weight
            F_out = w.shape[0]
            w_agg = w[:, Fi:].reshape(F_out, S, width).permute(2, 1, 0).reshape(width, S * F_out)
            y = (agg[:, k] @ w_agg).view(N, S, F_out)
            h = x[:, k] @ w[:, :Fi].t()
            if lin.bias is not None:
                h = h + lin.bias
            for s, factor in enumerate(factors):
                h = h + y[:, s] if factor is None else torch.addcmul(h, y[:, s], factor)
            outs.append(post[1:](h) if len(post) > 1 else h)
        return torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]

    def _projected(self, x, edge_index, edge_attr):
        if is_sparse(edge_index):  # a sparse adj_t's values are edge_attr (PyG): propagate reads them
            return None
        edges = read_edges(edge_index, self.flow)
        i, j = (1, 0) if self.flow == "source_to_target" else (0, 1)
        N = x.shape[0]
        if (edges.size[0] is not None and edges.size[0] != N) or (edges.size[1] is not None and edges.size[1] != N):
            return None
        index_i, index_j = edges.index_i, edges.index_j
        e = None
        if edge_attr is not None:
            e = self.edge_encoder(edge_attr)
        msgs = []
        widths = [self.F_in] * (3 if self.edge_dim else 2)
        for k, seq in enumerate(self.pre_nns):
            lin = seq[0]
            w = _split_linear(lin, widths)
            parts = [(x[:, k], w[0], index_i), (x[:, k], w[1], index_j)]
            if e is not None:
                parts.append((e, w[2], None))
            msgs.append(_edge_affine(parts, lin.bias))
        msg = torch.stack(msgs, dim=1)
        return self.aggr_module(msg, index_i, dim_size=N, dim=0)

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor, edge_attr: torch.Tensor | None) -> torch.Tensor:
        if edge_attr is not None:
            e = self.edge_encoder(edge_attr).view(-1, 1, self.F_in).repeat(1, self.towers, 1)
            h = torch.cat([x_i, x_j, e], dim=-1)
        else:
            h = torch.cat([x_i, x_j], dim=-1)
        return torch.stack([m(h[:, k]) for k, m in enumerate(self.pre_nns)], dim=1)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, towers={self.towers}, "
                f"edge_dim={self.edge_dim})")

    @staticmethod
    def get_degree_histogram(loader) -> torch.Tensor:
        """Histogram of the in-degrees (edge_index[1]) of every graph a loader (or any iterable of graphs with
        `edge_index` and `num_nodes`) yields: entry d counts the nodes of in-degree d."""
        hist = torch.zeros(1, dtype=torch.long)
        for data in loader:
            ei = data.edge_index
            deg = count_per_index(ei[1], int(data.num_nodes)).long()
            counts = torch.bincount(deg, minlength=hist.numel())
            hist = hist.to(counts.device)
            if counts.numel() > hist.numel():
                counts[: hist.numel()] += hist
                hist = counts
            else:
                hist = hist + counts
        return hist


# ---------------------------------------------------------------------- GeneralConv


class GeneralConv(MessagePassing):
    """You et al. 2020's general GNN layer (PyG's GeneralConv): per head, messages lin_msg(x_j) (+ lin_msg_i(x_i)
    when not directed_msg) (+ lin_edge(e)), optionally weighted by additive or dot-product attention (softmax over
    each destination's in-edges); heads averaged; plus lin_self(x_i); optionally L2-normalized."""

    def __init__(self, in_channels, out_channels: int | None, in_edge_channels: int | None = None, aggr: str = "add",
                 skip_linear: str = False, directed_msg: bool = True, heads: int = 1, attention: bool = False,
                 attention_type: str = "additive", l2_normalize: bool = False, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", aggr)
        super().__init__(node_dim=0, **kwargs)
        heads = check_positive_int(heads, "heads")
        self.in_channels, self.out_channels, self.in_edge_channels = in_channels, out_channels, in_edge_channels
        self.aggr, self.skip_linear, self.directed_msg, self.heads = aggr, skip_linear, directed_msg, heads
        self.attention, self.attention_type, self.normalize_l2 = attention, attention_type, l2_normalize
        in_pair = _pair(in_channels)
        self.lin_msg = Linear(in_pair[0], out_channels * heads, bias=bias)
        if not directed_msg:
            self.lin_msg_i = Linear(in_pair[0], out_channels * heads, bias=bias)
        if skip_linear or in_channels != out_channels:
            self.lin_self = Linear(in_pair[1], out_channels, bias=bias)
        else:
            self.lin_self = nn.Identity()
        if in_edge_channels is not None:
            self.lin_edge = Linear(in_edge_channels, out_channels * heads, bias=bias)
        if attention:
            if attention_type == "additive":
                self.att_msg = nn.Parameter(torch.empty(1, heads, out_channels))
            elif attention_type == "dot_product":
                self.register_buffer("scaler", torch.tensor(out_channels, dtype=torch.float).sqrt())
            else:
                raise ValueError(f"Attention type '{attention_type}' not supported")
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_msg.reset_parameters()
        if hasattr(self.lin_self, "reset_parameters"):
            self.lin_self.reset_parameters()
        if self.in_edge_channels is not None:
            self.lin_edge.reset_parameters()
        if self.attention and self.attention_type == "additive":
            _glorot(self.att_msg)

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        _check_x(self, x, self.in_channels)
        if edge_attr is not None and self.in_edge_channels is None:
            raise ValueError("GeneralConv: edge_attr was given but the layer was built without in_edge_channels")
        _check_edge_tensor(self, edge_index, edge_attr, width=self.in_edge_channels)
        out = None
        if not self.attention and self.directed_msg and not _observed(self, GeneralConv):
            out = self._fused(x, edge_index, edge_attr, size)
        if out is None:
            out = self.propagate(edge_index, x=x, size=size, edge_attr=edge_attr)
        out = out.mean(dim=1) + self.lin_self(x[1])
        return F.normalize(out, p=2, dim=-1) if self.normalize_l2 else out

    def _fused(self, x, edge_index, edge_attr, size):
        """Without attention the messages lin_msg(x_j) + lin_edge(e) are linear: lin_msg is applied per node and
        aggregated on the fused kernel (sum / mean / max / min); the edge term (sum / mean only) is lin_edge of the
        aggregated edge features. No (E, heads * C) tensor."""
        reduce = _FUSED_REDUCE.get(type(self.aggr_module))
        if edge_attr is not None and reduce not in ("sum", "mean"):
            return None
        n_dst = x[1].shape[0] if x[1] is not None else None
        out = _copy_aggregate(self, self.lin_msg(x[0]), edge_index, size, n_dst)
        if out is None:
            return None
        if edge_attr is not None:
            index_i = read_edges(edge_index, self.flow, size).index_i
            n = out.shape[0]
            e = scatter(edge_attr, index_i, dim_size=n, reduce=reduce)
            lin = self.lin_edge
            out = out + e @ lin.weight.t()
            if lin.bias is not None:  # once per edge: deg times for sum, once where there are edges for mean
                deg = count_per_index(index_i, n).to(out.dtype).view(-1, 1)
                out = out + (deg if reduce == "sum" else (deg > 0).to(out.dtype)) * lin.bias
        return out.view(-1, self.heads, self.out_channels)

    def message_basic(self, x_i: torch.Tensor, x_j: torch.Tensor, edge_attr: torch.Tensor | None):
        out = self.lin_msg(x_j) if self.directed_msg else self.lin_msg(x_j) + self.lin_msg_i(x_i)
        if edge_attr is not None:
            out = out + self.lin_edge(edge_attr)
        return out

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor, edge_index_i: torch.Tensor, size_i,
                edge_attr: torch.Tensor) -> torch.Tensor:
        x_j_out = self.message_basic(x_i, x_j, edge_attr).view(-1, self.heads, self.out_channels)
        if not self.attention:
            return x_j_out
        if self.attention_type == "dot_product":
            x_i_out = self.message_basic(x_j, x_i, edge_attr).view(-1, self.heads, self.out_channels)
            alpha = (x_i_out * x_j_out).sum(dim=-1) / self.scaler
        else:
            alpha = (x_j_out * self.att_msg).sum(dim=-1)
        alpha = F.leaky_relu(alpha, negative_slope=0.2)
        alpha = segment_softmax(alpha, edge_index_i, None, size_i)
        return x_j_out * alpha.view(-1, self.heads, 1)


# ---------------------------------------------------------------------- CGConv


class CGConv(MessagePassing):
    """Crystal graph convolution (Xie & Grossman 2018), PyG's CGConv:
    out_i = x_i + (bn)(aggr_j sigmoid(lin_f(z)) * softplus(lin_s(z))), z = [x_i, x_j, e_ji].

    lin_f and lin_s are applied as per-node projections of x_i and x_j gathered per edge plus the projected edge
    features: the (E, 2F + D) concatenation is never formed.
    """

    def __init__(self, channels, dim: int = 0, aggr: str = "add", batch_norm: bool = False, bias: bool = True,
                 **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.channels, self.dim, self.batch_norm = channels, dim, batch_norm
        pair = _pair(channels)
        self.lin_f = nn.Linear(sum(pair) + dim, pair[1], bias=bias)
        self.lin_s = nn.Linear(sum(pair) + dim, pair[1], bias=bias)
        self.bn = nn.BatchNorm1d(pair[1]) if batch_norm else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_f.reset_parameters()
        self.lin_s.reset_parameters()
        if self.bn is not None:
            self.bn.reset_parameters()

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        _check_x(self, x, self.channels)
        if edge_attr is None and self.dim and not is_sparse(edge_index):
            raise ValueError(f"CGConv: edge_attr with {self.dim} channels is required (dim={self.dim})")
        if edge_attr is not None:
            if edge_attr.dim() == 1:
                edge_attr = edge_attr.view(-1, 1) if self.dim == 1 else edge_attr
            _check_edge_tensor(self, edge_index, edge_attr, width=self.dim)
        out = None
        if not _observed(self, CGConv):
            out = self._projected(x, edge_index, edge_attr)
        if out is None:
            out = self.propagate(edge_index, x=x, edge_attr=edge_attr)
        out = out if self.bn is None else self.bn(out)
        return out + x[1]

    def _projected(self, x, edge_index, edge_attr):
        if is_sparse(edge_index):  # a sparse adj_t's values are edge_attr (PyG): propagate reads them
            return None
        edges = read_edges(edge_index, self.flow)
        i, j = (1, 0) if self.flow == "source_to_target" else (0, 1)
        n_src, n_dst = x[j].shape[0], x[i].shape[0]
        if (edges.size[j] not in (None, n_src)) or (edges.size[i] not in (None, n_dst)) or x[0].dim() != 2:
            return None
        pair = _pair(self.channels)
        widths = [pair[1], pair[0]] + ([self.dim] if edge_attr is not None else [])
        if edge_attr is None and self.dim:
            return None
        w = torch.cat([self.lin_f.weight, self.lin_s.weight], 0)  # both gates in one GEMM per input block
        b = None if self.lin_f.bias is None else torch.cat([self.lin_f.bias, self.lin_s.bias])
        blocks = w.split(widths, dim=1)
        parts = [(x[i], blocks[0], edges.index_i), (x[j], blocks[1], edges.index_j)]
        if edge_attr is not None:
            parts.append((edge_attr, blocks[2], None))
        h = _edge_affine(parts, b)
        f, s = h.split(pair[1], dim=-1)
        msg = f.sigmoid() * F.softplus(s)
        return _reduce_messages(self, msg, edges, n_src, n_dst)

    def message(self, x_i, x_j, edge_attr: torch.Tensor | None) -> torch.Tensor:
        z = torch.cat([x_i, x_j], dim=-1) if edge_attr is None else torch.cat([x_i, x_j, edge_attr], dim=-1)
        return self.lin_f(z).sigmoid() * F.softplus(self.lin_s(z))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, dim={self.dim})"


# ---------------------------------------------------------------------- GatedGraphConv


class GatedGraphConv(MessagePassing):
    """Gated graph sequence network layer (Li et al. 2016), PyG's GatedGraphConv: x padded with zeros to
    out_channels, then num_layers times m = aggr_j e_ji (x W_l)_j and x = GRUCell(m, x). The aggregation is a
    weighted copy: it runs on the fused gather-scatter kernel (no (E, F) messages)."""

    def __init__(self, out_channels: int, num_layers: int, aggr: str = "add", bias: bool = True, **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.num_layers = check_positive_int(num_layers, "num_layers")
        self.weight = nn.Parameter(torch.empty(num_layers, out_channels, out_channels))
        self.rnn = nn.GRUCell(out_channels, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        bound = 1.0 / math.sqrt(self.out_channels)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
        self.rnn.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(f"GatedGraphConv expects x of shape (N, C) with C <= {self.out_channels}, got "
                             f"{tuple(x.shape)}")
        if x.size(-1) > self.out_channels:
            raise ValueError(f"The number of input channels is not allowed to be larger than the number of output "
                             f"channels (GatedGraphConv: got {x.size(-1)} > out_channels={self.out_channels})")
        _check_edge_tensor(self, edge_index, edge_weight, name="edge_weight")
        if edge_weight is not None and edge_weight.dim() != 1:
            raise ValueError(f"GatedGraphConv: edge_weight must have shape (E,), got {tuple(edge_weight.shape)}")
        if x.size(-1) < self.out_channels:
            x = torch.cat([x, x.new_zeros(x.size(0), self.out_channels - x.size(-1))], dim=1)
        for k in range(self.num_layers):
            m = torch.matmul(x, self.weight[k])
            m = self.propagate(edge_index, x=m, edge_weight=edge_weight)
            x = self.rnn(m, x)
        return x

    @fused_message("edge_weight")
    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None):
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t, x: torch.Tensor) -> torch.Tensor:
        return spmm(adj_t, x, reduce=self.aggr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.out_channels}, num_layers={self.num_layers})"


# ---------------------------------------------------------------------- ResGatedGraphConv


class ResGatedGraphConv(MessagePassing):
    """Residual gated graph convnet layer (Bresson & Laurent 2017), PyG's ResGatedGraphConv:
    out_i = lin_skip(x_i) + sum_j act(k_i + q_j) * v_j + bias, k / q / v linear maps of x (of [x, e] with
    edge_dim, applied per edge)."""

    def __init__(self, in_channels, out_channels: int, act=torch.nn.Sigmoid(), edge_dim: int | None = None,
                 root_weight: bool = True, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.act = in_channels, out_channels, act
        self.edge_dim, self.root_weight = edge_dim, root_weight
        in_pair = _pair(in_channels)
        ed = edge_dim if edge_dim is not None else 0
        self.lin_key = Linear(in_pair[1] + ed, out_channels)
        self.lin_query = Linear(in_pair[0] + ed, out_channels)
        self.lin_value = Linear(in_pair[0] + ed, out_channels)
        if root_weight:
            self.lin_skip = Linear(in_pair[1], out_channels, bias=False)
        else:
            self.register_parameter("lin_skip", None)
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_key.reset_parameters()
        self.lin_query.reset_parameters()
        self.lin_value.reset_parameters()
        if self.lin_skip is not None:
            self.lin_skip.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        _check_x(self, x, self.in_channels)
        from_adj = edge_attr is None and is_sparse(edge_index)  # a sparse adj_t's values are edge_attr
        if (edge_attr is not None) != (self.edge_dim is not None) and not from_adj:
            raise ValueError(f"ResGatedGraphConv: edge_attr must be given exactly when the layer has edge_dim "
                             f"(edge_dim={self.edge_dim}, edge_attr {'given' if edge_attr is not None else 'None'})")
        _check_edge_tensor(self, edge_index, edge_attr, width=self.edge_dim)
        out = None
        if self.edge_dim is None:
            k, q, v = self.lin_key(x[1]), self.lin_query(x[0]), self.lin_value(x[0])
        else:
            k, q, v = x[1], x[0], x[0]
            if edge_attr is not None and not is_sparse(edge_index) and not _observed(self, ResGatedGraphConv):
                out = self._projected(x, edge_index, edge_attr)
        if out is None:
            out = self.propagate(edge_index, k=k, q=q, v=v, edge_attr=edge_attr)
        if self.root_weight:
            out = out + self.lin_skip(x[1])
        if self.bias is not None:
            out = out + self.bias
        return out

    def _projected(self, x, edge_index, edge_attr):
        """With edge_dim, lin_key / lin_query / lin_value of [x, e] per edge are per-node projections of x gathered
        per edge plus projections of e: the (E, F + D) concatenations and their GEMMs are never formed."""
        edges = read_edges(edge_index, self.flow)
        i, j = (1, 0) if self.flow == "source_to_target" else (0, 1)
        n_src, n_dst = x[j].shape[0], x[i].shape[0]
        if edges.size[j] not in (None, n_src) or edges.size[i] not in (None, n_dst) or x[0].dim() != 2:
            return None
        ed = self.edge_dim

        def lin_of(lin, node, index):
            w_x, w_e = lin.weight.split([lin.weight.shape[1] - ed, ed], dim=1)
            return _edge_affine([(node, w_x, index), (edge_attr, w_e, None)], lin.bias)

        k = lin_of(self.lin_key, x[i], edges.index_i)
        q = lin_of(self.lin_query, x[j], edges.index_j)
        v = lin_of(self.lin_value, x[j], edges.index_j)
        return _reduce_messages(self, self.act(k + q) * v, edges, n_src, n_dst)

    def message(self, k_i: torch.Tensor, q_j: torch.Tensor, v_j: torch.Tensor,
                edge_attr: torch.Tensor | None) -> torch.Tensor:
        if edge_attr is not None:
            k_i = self.lin_key(torch.cat([k_i, edge_attr], dim=-1))
            q_j = self.lin_query(torch.cat([q_j, edge_attr], dim=-1))
            v_j = self.lin_value(torch.cat([v_j, edge_attr], dim=-1))
        return self.act(k_i + q_j) * v_j


__all__ = ["CGConv", "DegreeScalerAggregation", "GENConv", "GatedGraphConv", "GeneralConv", "NNConv", "PNAConv",
           "ResGatedGraphConv"]
