"""Spectral and propagation graph convolutions with PyG 2.8's constructors, forward signatures, parameter names
and shapes (PyG state dicts load) and semantics: ChebConv, SGConv, APPNP, GCN2Conv, TAGConv, ARMAConv, SSGConv,
ClusterGCNConv, LEConv, MixHopConv.

Every hop is one fused gather-scatter on the adjacency cached on the edge input (a (2, E) edge_index, a
GraphBatch, a `torch.sparse` adj_t or a SparseTensor-like adj_t): the normalization is an (E,) weight vector
plus a per-node self-loop scale (`_GCNCache`, the operator GCNConv uses), so neither the looped edge list nor a
per-hop (E, F) message tensor is formed. Features may be (N, F) or, as in PyG's static graphs, (B, N, F) with
the node axis at `node_dim`.

A subclass that replaces `message` / `aggregate` / `update`, MessagePassing hooks or decomposed_layers > 1
send the hops of ChebConv, SGConv, APPNP, GCN2Conv, TAGConv, SSGConv, ClusterGCNConv and MixHopConv through
`propagate` on the looped, weighted edge list instead (messages materialized, as PyG). ARMAConv's stacked hops
and LEConv's difference messages always run fused. `message_and_aggregate` computes PyG's spmm when called.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import check_nonnegative_int, check_positive_int, index_from_offsets
from ._edges import edge_adjacency, is_sparse, is_sparse_tensor_like, read_edges
from .conv import _GCNCache, _glorot, _observed, _pair, gcn_operator
from .linear import Linear
from .message_passing import MessagePassing, fused_message


# ---------------------------------------------------------------------- shared checks and helpers


def _check_width(layer: nn.Module, x: torch.Tensor, expected, what: str = "x") -> None:
    """ValueError naming the layer and the width it expects (not a bare matmul error); -1 (lazy) accepts any."""
    if isinstance(expected, int) and expected > 0 and x.size(-1) != expected:
        raise ValueError(f"{type(layer).__name__} expects {what} with {expected} channels in its last dimension, "
                         f"got shape {tuple(x.shape)}")


def _check_unit(v, name: str, layer: str) -> float:
    """alpha / dropout: ValueError naming the layer and the argument unless a number in [0, 1]."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 <= v <= 1.0:
        raise ValueError(f"{layer}: {name} must be a number in [0, 1], got {v!r}")
    return v


def _check_k(K, layer: str, minimum: int = 0) -> int:
    """K as an int; ValueError naming the layer below `minimum` (PyG: ChebConv needs K >= 1; SGConv, SSGConv,
    APPNP and TAGConv take K = 0, no propagation)."""
    try:
        return (check_positive_int if minimum >= 1 else check_nonnegative_int)(K, "K")
    except (TypeError, ValueError) as e:
        raise ValueError(f"{layer}: {e}") from None


def _num_nodes(layer: MessagePassing, x: torch.Tensor) -> int:
    return x.size(layer.node_dim)


class _Propagation(MessagePassing):
    """PyG's `message` (a weighted copy) and `message_and_aggregate` (spmm on adj_t) for these layers."""

    @fused_message("edge_weight")
    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t, x: torch.Tensor) -> torch.Tensor:
        edges = read_edges(adj_t)
        n_src, n_dst = edges.size
        op = _GCNCache(edge_adjacency(edges, n_src, n_dst), edges.value, None)
        return op.propagate(x, self.node_dim)

    def _reset_lins_and_bias(self) -> None:
        """ChebConv / TAGConv / MixHopConv: every Linear in `lins` (MixHop's Identity slots skipped), bias zeroed."""
        for lin in self.lins:
            if hasattr(lin, "reset_parameters"):
                lin.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _hop(self, x: torch.Tensor, op: _GCNCache) -> torch.Tensor:
        if getattr(type(self).message, "_fused_weight", None) is not None and not _observed(self, type(self)):
            return op.propagate(x, self.node_dim)
        # A subclass's message / aggregate / update, hooks or decomposed_layers: PyG's propagate on the looped,
        # weighted edge list (rows in CSR order, then one loop per node where the operator has a diagonal).
        adj = op.adj
        E, N = adj.col.numel(), adj.num_dst
        ei = torch.stack([adj.col.long(), index_from_offsets(adj.rowptr, E)])
        w = op.weight[adj.edge_id] if op.weight is not None else None
        if op.diag is not None:
            loops = torch.arange(N, device=ei.device)
            ei = torch.cat([ei, torch.stack([loops, loops])], 1)
            w = torch.cat([w if w is not None else x.new_ones(E), op.diag])
        if self.flow == "target_to_source":
            ei = ei.flip(0)
        return self.propagate(ei, x=x, edge_weight=w, norm=w)

    def _gcn(self, x, edge_index, edge_weight, normalize=True, add_self_loops=True) -> _GCNCache:
        return gcn_operator(x, edge_index, edge_weight, _num_nodes(self, x), self.flow, normalize, add_self_loops)

    def _cached_operator(self, x, edge_index, edge_weight) -> _GCNCache:
        """APPNP / GCN2Conv: the normalized operator, kept in PyG's slot for the input form with cached=True
        (PyG caches only the normalization: with normalize=False every call reads its own edge weights)."""
        slot = "_cached_adj_t" if is_sparse_tensor_like(edge_index) else "_cached_edge_index"
        op = getattr(self, slot) if self.normalize else None
        if op is None:
            op = self._gcn(x, edge_index, edge_weight, self.normalize, self.add_self_loops)
            if self.cached and self.normalize:
                setattr(self, slot, op.detached())
        return op


# ---------------------------------------------------------------------- ChebConv


class ChebConv(_Propagation):
    """Chebyshev spectral graph convolution (Defferrard et al. 2016), PyG's ChebConv:
    out = sum_k Z^(k) W_k with Z^(1) = x, Z^(2) = L_hat x, Z^(k) = 2 L_hat Z^(k-1) - Z^(k-2), where
    L_hat = 2 L / lambda_max - I and L is the Laplacian of the loop-free graph (normalization None: D - A,
    "sym": I - D^-1/2 A D^-1/2, "rw": I - D^-1 A; degrees summed over edge_index[0], as PyG's get_laplacian).

    forward(x, edge_index, edge_weight=None, batch=None, lambda_max=None): lambda_max defaults to twice the
    largest entry of L (PyG's default; 2 for "sym" / "rw" with non-negative weights); a [num_graphs] tensor with
    `batch` scales each graph by its own. L_hat is an (E,) weight vector plus a per-node diagonal.
    """

    def __init__(self, in_channels: int, out_channels: int, K: int, normalization: str | None = "sym",
                 bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        K = _check_k(K, type(self).__name__, minimum=1)
        if normalization not in (None, "sym", "rw"):
            raise ValueError(f"ChebConv: normalization must be None, 'sym' or 'rw', got {normalization!r}")
        self.in_channels, self.out_channels, self.normalization = in_channels, out_channels, normalization
        self.lins = nn.ModuleList([Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
                                   for _ in range(K)])
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._reset_lins_and_bias()

    def _laplacian(self, x, edge_index, edge_weight, batch, lambda_max) -> _GCNCache:
        N = _num_nodes(self, x)
        edges = read_edges(edge_index, self.flow)
        adj = edge_adjacency(edges, N, N, self.flow)
        j, i = edges.index_j, edges.index_i
        # get_laplacian reads edge_index[0] as "row" whatever the flow; a sparse adj_t's row 0 is its sources.
        row, col = (j, i) if self.flow == "source_to_target" else (i, j)
        w = edge_weight if edge_weight is not None else edges.value
        w = x.new_ones(j.numel()) if w is None else w.to(x.dtype)
        is_loop = j == i
        w = torch.where(is_loop, 0.0, w)  # get_laplacian removes the input's loops
        deg = x.new_zeros(N).index_add_(0, row, w)
        if self.normalization == "sym":
            dinv = deg.pow(-0.5)
            dinv = dinv.masked_fill(dinv == math.inf, 0.0)
            off, diag = -(dinv[row] * w * dinv[col]), x.new_ones(N)
        elif self.normalization == "rw":
            dinv = 1.0 / deg
            dinv = dinv.masked_fill(dinv == math.inf, 0.0)
            off, diag = -(dinv[row] * w), x.new_ones(N)
        else:
            off, diag = -w, deg
        if lambda_max is None:
            lambda_max = 2.0 * torch.cat([torch.where(is_loop, -math.inf, off), diag]).max()
        elif not isinstance(lambda_max, torch.Tensor):
            lambda_max = torch.tensor(lambda_max, dtype=x.dtype, device=x.device)
        lam_off = lam_diag = lambda_max
        if batch is not None and lambda_max.numel() > 1:
            lam_off, lam_diag = lambda_max[batch[row]], lambda_max[batch]
        off = 2.0 * off / lam_off
        off = torch.where(is_loop, 0.0, off.masked_fill(off == math.inf, 0.0))
        diag = 2.0 * diag / lam_diag
        diag = diag.masked_fill(diag == math.inf, 0.0) - 1.0
        return _GCNCache(adj, off, diag)

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None,
                batch: torch.Tensor | None = None, lambda_max=None) -> torch.Tensor:
        _check_width(self, x, self.in_channels)
        out = self.lins[0](x)
        if len(self.lins) > 1 and _num_nodes(self, x) > 0:
            op = self._laplacian(x, edge_index, edge_weight, batch, lambda_max)
            tx_0, tx_1 = x, self._hop(x, op)
            out = out + self.lins[1](tx_1)
            for lin in self.lins[2:]:
                tx_2 = 2.0 * self._hop(tx_1, op) - tx_0
                out = out + lin(tx_2)
                tx_0, tx_1 = tx_1, tx_2
        return out + self.bias if self.bias is not None else out

    @fused_message("norm")
    def message(self, x_j: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
        return norm.view(-1, 1) * x_j

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={len(self.lins)}, "
                f"normalization={self.normalization})")


# ---------------------------------------------------------------------- SGConv, SSGConv


class _PropagatedLinear(_Propagation):
    """lin(S x) for a fixed propagation S of the input features (SGConv, SSGConv); cached=True keeps S x in the
    attribute named by `_cache` (PyG's names) and later calls reuse it detached."""

    _cache = "_cached_x"

    def __init__(self, in_channels: int, out_channels: int, K: int, cached: bool, add_self_loops: bool, bias: bool,
                 **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.K = _check_k(K, type(self).__name__)
        self.cached, self.add_self_loops = cached, add_self_loops
        setattr(self, self._cache, None)
        self.lin = Linear(in_channels, out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        setattr(self, self._cache, None)

    def _spread(self, x: torch.Tensor, op: _GCNCache) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        _check_width(self, x, self.in_channels)
        h = getattr(self, self._cache)
        if h is not None:
            return self.lin(h.detach())
        h = self._spread(x, self._gcn(x, edge_index, edge_weight, True, self.add_self_loops))
        if self.cached:
            setattr(self, self._cache, h)
        return self.lin(h)


class SGConv(_PropagatedLinear):
    """Simplified graph convolution (Wu et al. 2019), PyG's SGConv: out = lin((D^-1/2 (A + I) D^-1/2)^K x).
    cached=True keeps the propagated features (one fixed graph and input). K hops on the fused kernel."""

    def __init__(self, in_channels: int, out_channels: int, K: int = 1, cached: bool = False,
                 add_self_loops: bool = True, bias: bool = True, **kwargs):
        super().__init__(in_channels, out_channels, K, cached, add_self_loops, bias, **kwargs)

    def _spread(self, x: torch.Tensor, op: _GCNCache) -> torch.Tensor:
        for _ in range(self.K):
            x = self._hop(x, op)
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K})"


class SSGConv(_PropagatedLinear):
    """Simple spectral graph convolution (Zhu & Koniusz 2021), PyG's SSGConv:
    out = lin(alpha x + (1 - alpha) / K * sum_{k=1..K} (D^-1/2 (A + I) D^-1/2)^k x); cached=True keeps the
    propagated sum."""

    _cache = "_cached_h"

    def __init__(self, in_channels: int, out_channels: int, alpha: float, K: int = 1, cached: bool = False,
                 add_self_loops: bool = True, bias: bool = True, **kwargs):
        self.alpha = _check_unit(alpha, "alpha", type(self).__name__)
        super().__init__(in_channels, out_channels, K, cached, add_self_loops, bias, **kwargs)

    def _spread(self, x: torch.Tensor, op: _GCNCache) -> torch.Tensor:
        h = x * self.alpha
        for _ in range(self.K):
            x = self._hop(x, op)
            h = h + (1 - self.alpha) / self.K * x
        return h

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K}, alpha={self.alpha})"


# ---------------------------------------------------------------------- APPNP, GCN2Conv


class APPNP(_Propagation):
    """Personalized-PageRank propagation (Gasteiger et al. 2019), PyG's APPNP:
    x^(k) = (1 - alpha) D^-1/2 (A + I) D^-1/2 x^(k-1) + alpha x^(0), K times. `dropout` drops the normalized
    edge weights (self loops included) in training, drawn afresh from the normalized weights at every step, as the
    paper's code does. PyG 2.8 differs, and we do not follow it: it drops the previous step's already-dropped weights
    again (pyg-team/pytorch_geometric#10783), so with dropout 0.5 its APPNP does not train on Cora
    (docs/planetoid.md). Without dropout, or in eval mode, the two agree. cached=True keeps the normalized
    operator."""

    def __init__(self, K: int, alpha: float, dropout: float = 0.0, cached: bool = False, add_self_loops: bool = True,
                 normalize: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.K = _check_k(K, type(self).__name__)
        self.alpha = _check_unit(alpha, "alpha", type(self).__name__)
        self.dropout = _check_unit(dropout, "dropout", type(self).__name__)
        self.cached, self.add_self_loops, self.normalize = cached, add_self_loops, normalize
        self._cached_edge_index = None
        self._cached_adj_t = None

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._cached_edge_index = None
        self._cached_adj_t = None

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        op = self._cached_operator(x, edge_index, edge_weight)
        h = x
        for _ in range(self.K):
            hop = op
            if self.dropout > 0 and self.training:
                weight = op.weight if op.weight is not None else x.new_ones(op.adj.col.numel())
                diag = None if op.diag is None else F.dropout(op.diag, p=self.dropout)
                hop = _GCNCache(op.adj, F.dropout(weight, p=self.dropout), diag)
            x = self._hop(x, hop)
            x = x * (1 - self.alpha)
            x = x + self.alpha * h
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={self.K}, alpha={self.alpha})"


class GCN2Conv(_Propagation):
    """GCNII (Chen et al. 2020), PyG's GCN2Conv: h = (1 - alpha) P x + alpha x_0 with P the normalized
    adjacency, out = ((1 - beta) I + beta W1) h (shared_weights), or separately with W1 on the propagated part and
    W2 on alpha x_0. beta = log(theta / layer + 1) (1 when neither is given)."""

    def __init__(self, channels: int, alpha: float, theta: float = None, layer: int = None, shared_weights: bool = True,
                 cached: bool = False, add_self_loops: bool = True, normalize: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        name = type(self).__name__
        self.channels = channels
        self.alpha = _check_unit(alpha, "alpha", name)
        self.beta = 1.0
        if theta is not None or layer is not None:
            if theta is None or layer is None:
                raise ValueError(f"{name}: theta and layer must be given together (got theta={theta!r}, layer={layer!r})")
            self.beta = math.log(theta / layer + 1)
        self.cached, self.normalize, self.add_self_loops = cached, normalize, add_self_loops
        self._cached_edge_index = None
        self._cached_adj_t = None
        self.weight1 = nn.Parameter(torch.empty(channels, channels))
        if shared_weights:
            self.register_parameter("weight2", None)
        else:
            self.weight2 = nn.Parameter(torch.empty(channels, channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        _glorot(self.weight1)
        _glorot(self.weight2)
        self._cached_edge_index = None
        self._cached_adj_t = None

    def forward(self, x: torch.Tensor, x_0: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        _check_width(self, x, self.channels)
        _check_width(self, x_0, self.channels, "x_0")
        op = self._cached_operator(x, edge_index, edge_weight)
        x = self._hop(x, op) * (1 - self.alpha)
        x_0 = self.alpha * x_0[:x.size(0)]
        b = self.beta
        if self.weight2 is None:
            out = x + x_0
            return torch.addmm(out, out, self.weight1, beta=1.0 - b, alpha=b)
        return (torch.addmm(x, x, self.weight1, beta=1.0 - b, alpha=b)
                + torch.addmm(x_0, x_0, self.weight2, beta=1.0 - b, alpha=b))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.channels}, alpha={self.alpha}, beta={self.beta})"


# ---------------------------------------------------------------------- TAGConv, MixHopConv


class TAGConv(_Propagation):
    """Topology adaptive graph convolution (Du et al. 2017), PyG's TAGConv: out = sum_{k=0..K} W_k P^k x + b
    with P = D^-1/2 A D^-1/2 (no self loops added; the raw weights with normalize=False)."""

    def __init__(self, in_channels: int, out_channels: int, K: int = 3, bias: bool = True, normalize: bool = True,
                 **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.K = _check_k(K, type(self).__name__)
        self.normalize = normalize
        self.lins = nn.ModuleList([Linear(in_channels, out_channels, bias=False) for _ in range(self.K + 1)])
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._reset_lins_and_bias()

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        _check_width(self, x, self.in_channels)
        op = self._gcn(x, edge_index, edge_weight, self.normalize, False)
        out = self.lins[0](x)
        for lin in self.lins[1:]:
            x = self._hop(x, op)
            out = out + lin(x)
        return out + self.bias if self.bias is not None else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, K={self.K})"


class MixHopConv(_Propagation):
    """MixHop (Abu-El-Haija et al. 2019), PyG's MixHopConv: out = [W_p P^p x for p in powers] (concatenated) + b,
    P = D^-1/2 (A + I) D^-1/2. `lins[p]` is a Linear for each p in powers and an Identity otherwise."""

    def __init__(self, in_channels: int, out_channels: int, powers: list[int] | None = None, add_self_loops: bool = True,
                 bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if powers is None:
            powers = [0, 1, 2]
        if (not isinstance(powers, (list, tuple)) or not powers
                or any(isinstance(p, bool) or not isinstance(p, int) or p < 0 for p in powers)):
            raise ValueError(f"MixHopConv: powers must be a non-empty list of non-negative ints, got {powers!r}")
        self.in_channels, self.out_channels, self.powers = in_channels, out_channels, powers
        self.add_self_loops = add_self_loops
        self.lins = nn.ModuleList([Linear(in_channels, out_channels, bias=False) if p in powers else nn.Identity()
                                   for p in range(max(powers) + 1)])
        self.bias = nn.Parameter(torch.empty(len(powers) * out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:  # PyG's MixHopConv leaves the base class alone
        self._reset_lins_and_bias()

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        _check_width(self, x, self.in_channels)
        outs = [self.lins[0](x)]
        if len(self.lins) > 1:
            op = self._gcn(x, edge_index, edge_weight, True, self.add_self_loops)
            for lin in self.lins[1:]:
                x = self._hop(x, op)
                outs.append(lin(x))
        out = torch.cat([outs[p] for p in self.powers], dim=-1)
        return out + self.bias if self.bias is not None else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, powers={self.powers})"


# ---------------------------------------------------------------------- ARMAConv


class ARMAConv(_Propagation):
    """ARMA graph convolution (Bianchi et al. 2019), PyG's ARMAConv: num_stacks parallel stacks of num_layers
    recursive updates X_(t+1) = act(P X_t W + dropout(X) V + b), P = D^-1/2 A D^-1/2 (no loops added), averaged
    over the stacks. Parameters as PyG: weight (max(1, T - 1), K, F_out, F_out), init_weight (K, F_in, F_out),
    root_weight (T, K, F_in, F_out), bias (T, K, 1, F_out); T = 1 with shared_weights; in_channels=-1 is lazy.
    The stacks run as one (N, K * F_out) propagation per layer."""

    def __init__(self, in_channels: int, out_channels: int, num_stacks: int = 1, num_layers: int = 1,
                 shared_weights: bool = False, act=nn.ReLU(), dropout: float = 0.0, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        name = type(self).__name__
        for v, arg in ((num_stacks, "num_stacks"), (num_layers, "num_layers")):
            try:
                check_positive_int(v, arg)
            except TypeError as e:
                raise ValueError(f"{name}: {e}") from None
        self.in_channels, self.out_channels = in_channels, out_channels
        self.num_stacks, self.num_layers = num_stacks, num_layers
        self.act, self.shared_weights = act, shared_weights
        self.dropout = _check_unit(dropout, "dropout", name)
        K, T, F_in, F_out = num_stacks, 1 if shared_weights else num_layers, in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(max(1, T - 1), K, F_out, F_out))
        if in_channels > 0:
            self.init_weight = nn.Parameter(torch.empty(K, F_in, F_out))
            self.root_weight = nn.Parameter(torch.empty(T, K, F_in, F_out))
        else:
            self.init_weight = nn.parameter.UninitializedParameter()
            self.root_weight = nn.parameter.UninitializedParameter()
            self._hook = self.register_forward_pre_hook(self.initialize_parameters)
        self.bias = nn.Parameter(torch.empty(T, K, 1, F_out)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        _glorot(self.weight)
        if not isinstance(self.init_weight, nn.parameter.UninitializedParameter):
            _glorot(self.init_weight)
            _glorot(self.root_weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    @torch.no_grad()
    def initialize_parameters(self, module, input) -> None:
        if isinstance(self.init_weight, nn.parameter.UninitializedParameter):
            F_in, F_out = input[0].size(-1), self.out_channels
            T, K = self.weight.size(0) + 1, self.weight.size(1)
            self.init_weight.materialize((K, F_in, F_out))
            self.root_weight.materialize((T, K, F_in, F_out))
            _glorot(self.init_weight)
            _glorot(self.root_weight)
        module._hook.remove()
        delattr(module, "_hook")

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in ("init_weight", "root_weight"):  # a lazy layer takes the stored shapes
            p, stored = getattr(self, name), state_dict.get(prefix + name)
            if isinstance(p, nn.parameter.UninitializedParameter) and isinstance(stored, torch.Tensor):
                with torch.no_grad():
                    p.materialize(stored.shape)
        if hasattr(self, "_hook") and not isinstance(self.init_weight, nn.parameter.UninitializedParameter):
            self._hook.remove()
            delattr(self, "_hook")
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        _check_width(self, x, self.init_weight.shape[1] if self.in_channels <= 0 else self.in_channels)
        op = self._gcn(x, edge_index, edge_weight, True, False)
        nd = self.node_dim % x.dim()
        xn = x.movedim(nd, 0) if nd else x  # (N, *B, F_in): the stacks become a (K, F) trailing block
        K, F_out = self.num_stacks, self.out_channels
        out = xn
        for t in range(self.num_layers):
            if t == 0:
                out = torch.einsum("...i,kio->...ko", out, self.init_weight)
            else:
                out = torch.einsum("...ki,kio->...ko", out, self.weight[0 if self.shared_weights else t - 1])
            out = op.propagate(out)
            root = F.dropout(xn, p=self.dropout, training=self.training)
            out = out + torch.einsum("...i,kio->...ko", root, self.root_weight[0 if self.shared_weights else t])
            if self.bias is not None:
                out = out + self.bias[0 if self.shared_weights else t].view(K, F_out)
            if self.act is not None:
                out = self.act(out)
        out = out.mean(dim=-2)
        return out.movedim(0, nd) if nd else out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_stacks={self.num_stacks}, "
                f"num_layers={self.num_layers})")


# ---------------------------------------------------------------------- ClusterGCNConv, LEConv


class ClusterGCNConv(_Propagation):
    """Cluster-GCN's layer (Chiang et al. 2019), PyG's ClusterGCNConv:
    out = lin_out(D^-1 (A + I) x + diag_lambda D^-1 x) + lin_root(x), D the in-degree counted over the looped
    graph (edge values are ignored, as PyG). add_self_loops replaces the input's loops by one per node."""

    def __init__(self, in_channels: int, out_channels: int, diag_lambda: float = 0.0, add_self_loops: bool = True,
                 bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.diag_lambda, self.add_self_loops = diag_lambda, add_self_loops
        self.lin_out = Linear(in_channels, out_channels, bias=bias, weight_initializer="glorot")
        self.lin_root = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_out.reset_parameters()
        self.lin_root.reset_parameters()

    def _operator(self, x, edge_index) -> _GCNCache:
        N = _num_nodes(self, x)
        edges = read_edges(edge_index, self.flow)
        if edges.sparse and edges.size[0] != edges.size[1]:
            raise ValueError(f"ClusterGCNConv needs a square adjacency, got {edges.size[1]} x {edges.size[0]}")
        adj = edge_adjacency(edges, N, N, self.flow)
        j, i = edges.index_j, edges.index_i
        is_loop = j == i
        # Loops become the per-node term: one per node with add_self_loops (the input's replaced), else the input's.
        loops = x.new_ones(N) if self.add_self_loops else x.new_zeros(N).index_add_(0, i, is_loop.to(x.dtype))
        deg_inv = 1.0 / (x.new_zeros(N).index_add_(0, i, (~is_loop).to(x.dtype)) + loops).clamp(min=1.0)
        w = torch.where(is_loop, 0.0, deg_inv[i])
        diag = (1.0 + self.diag_lambda) * loops * deg_inv  # PyG adds diag_lambda * deg_inv to each loop entry
        return _GCNCache(adj, w, diag)

    def forward(self, x: torch.Tensor, edge_index) -> torch.Tensor:
        _check_width(self, x, self.in_channels)
        out = self._hop(x, self._operator(x, edge_index))
        return self.lin_out(out) + self.lin_root(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, diag_lambda={self.diag_lambda})"


class LEConv(MessagePassing):
    """Local extremum graph convolution (Ranjan et al. 2020), PyG's LEConv:
    out_i = sum_j e_ji (lin1(x_j) - lin2(x_i)) + lin3(x_i), computed as the fused weighted sum of lin1(x) minus
    lin2(x_i) times the weighted in-degree (no (E, F) differences). Bipartite (x_src, x_dst) inputs work."""

    def __init__(self, in_channels, out_channels: int, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        in_pair = _pair(in_channels)
        self.lin1 = Linear(in_pair[0], out_channels, bias=bias)
        self.lin2 = Linear(in_pair[1], out_channels, bias=False)
        self.lin3 = Linear(in_pair[1], out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()
        self.lin3.reset_parameters()

    def forward(self, x, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        in_pair = _pair(self.in_channels)
        _check_width(self, x[0], in_pair[0], "x (sources)" if x[0] is not x[1] else "x")
        _check_width(self, x[1], in_pair[1], "x (destinations)" if x[0] is not x[1] else "x")
        a, b = self.lin1(x[0]), self.lin2(x[1])
        nd = self.node_dim % a.dim()
        n_src, n_dst = a.size(nd), b.size(nd)
        edges = read_edges(edge_index, self.flow, None if is_sparse(edge_index) else (n_src, n_dst) if self.flow == "source_to_target" else (n_dst, n_src))
        adj = edge_adjacency(edges, n_src, n_dst, self.flow)
        w = edge_weight if edge_weight is not None else edges.value
        if w is not None and w.dtype != a.dtype:
            w = w.to(a.dtype)
        deg = a.new_zeros(n_dst).index_add_(0, edges.index_i, w if w is not None else a.new_ones(edges.index_i.numel()))
        shape = [1] * a.dim()
        shape[nd] = n_dst
        out = _GCNCache(adj, w, None).propagate(a, self.node_dim) - deg.view(shape) * b
        return out + self.lin3(x[1])

    def message(self, a_j: torch.Tensor, b_i: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        out = a_j - b_i
        return out if edge_weight is None else out * edge_weight.view(-1, 1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


__all__ = ["APPNP", "ARMAConv", "ChebConv", "ClusterGCNConv", "GCN2Conv", "LEConv", "MixHopConv", "SGConv", "SSGConv",
           "TAGConv"]
