"""Geometric / point-cloud convolutions with PyG 2.8's constructors, forward signatures, parameter names (PyG
state dicts load) and semantics: PointTransformerConv, PPFConv, FeaStConv, GMMConv, GravNetConv, XConv.

All are MessagePassing layers on meshgraph's machinery (XConv, a plain module in PyG too, excepted): the softmax of
PointTransformerConv over each node's in-edges is the fused `neighbor_softmax` (segment_softmax on the index CSR),
GravNetConv's weighted mean / max aggregation is two fused gather-scatter calls (no E x F messages unless a
subclass or hook observes them), FeaStConv's and GMMConv's (sum / mean, shared gaussians) per-head weighted
aggregations are one multi-head gather-scatter with (E, heads) / (E, kernel_size) weights (no E x heads x C
tensor), and the k-nearest-neighbour graphs of GravNetConv / XConv come from meshgraph's exact `knn`
(graph_builders), grouped by query, nearest first, as pyg-lib's knn returns them. PointTransformerConv's and PPFConv's messages are per-edge functions of both
endpoints (pos_nn / local_nn of each edge), so they are materialized (E x F), as in PyG.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.edge_utils import add_self_loops as _add_self_loops
from ..ops.edge_utils import remove_self_loops
from ..ops.gather_scatter import aggregate as _fused_aggregate
from ._edges import edge_adjacency, is_graph_batch, is_sparse, read_edges
from .aggr import MultiAggregation, segment_softmax
from .conv import LocalGlobalConv, _glorot, _observed, reset
from .conv_spectral import _check_width
from .linear import Linear
from .message_passing import MessagePassing

EPS = 1e-15


def _looped(layer: MessagePassing, edge_index, num_nodes: int):
    """Replace the edges' self loops by one per node (the first num_nodes), PyG's remove_self_loops +
    add_self_loops (set_diag for sparse inputs). Sparse / GraphBatch inputs become a (2, E) edge_index."""
    if is_sparse(edge_index):
        e = read_edges(edge_index, layer.flow)
        j, i = e.index_j, e.index_i
        edge_index = torch.stack([j, i]) if layer.flow == "source_to_target" else torch.stack([i, j])
    elif is_graph_batch(edge_index):
        edge_index = edge_index.edge_index
    edge_index, _ = remove_self_loops(edge_index)
    edge_index, _ = _add_self_loops(edge_index, num_nodes=num_nodes)
    return edge_index


def _check_points(layer: nn.Module, t, name: str, dims: int | None = 3) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{type(layer).__name__}: {name} must be a tensor, got {type(t).__name__}")
    if t.dim() != 2 or (dims is not None and t.size(-1) != dims):
        want = f"(N, {dims})" if dims is not None else "(N, D)"
        raise ValueError(f"{type(layer).__name__} expects {name} of shape {want}, got {tuple(t.shape)}")


def _as_pair(v):
    return (v, v) if isinstance(v, torch.Tensor) or v is None else tuple(v)


# ---------------------------------------------------------------------- PointTransformerConv


class PointTransformerConv(MessagePassing):
    """Point Transformer layer (PyG's PointTransformerConv):
    out_i = sum_j softmax_j(attn_nn(W_dst x_i - W_src x_j + pos_nn(pos_i - pos_j))) * (W x_j + pos_nn(pos_i - pos_j)),
    the softmax per channel over each node's in-edges (self loops added by default)."""

    def __init__(self, in_channels, out_channels: int, pos_nn=None, attn_nn=None, add_self_loops: bool = True,
                 **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.add_self_loops = in_channels, out_channels, add_self_loops
        if isinstance(in_channels, int):
            in_channels = (in_channels, in_channels)
        self.pos_nn = pos_nn if pos_nn is not None else Linear(3, out_channels)
        self.attn_nn = attn_nn
        self.lin = Linear(in_channels[0], out_channels, bias=False)
        self.lin_src = Linear(in_channels[0], out_channels, bias=False)
        self.lin_dst = Linear(in_channels[1], out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.pos_nn)
        if self.attn_nn is not None:
            reset(self.attn_nn)
        self.lin.reset_parameters()
        self.lin_src.reset_parameters()
        self.lin_dst.reset_parameters()

    def forward(self, x, pos, edge_index) -> torch.Tensor:
        xs = _as_pair(x)
        ins = (self.in_channels, self.in_channels) if isinstance(self.in_channels, int) else self.in_channels
        for t, c, what in ((xs[0], ins[0], "x (source)"), (xs[1], ins[1], "x (destination)")):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"PointTransformerConv: x must be a tensor or a pair of tensors, got {type(t).__name__}")
            _check_width(self, t, c, what)
        pos = _as_pair(pos)
        for p in pos:
            _check_points(self, p, "pos", None)
        alpha = (self.lin_src(xs[0]), self.lin_dst(xs[1]))
        x = (self.lin(xs[0]), xs[1])
        if self.add_self_loops:
            edge_index = _looped(self, edge_index, min(pos[0].size(0), pos[1].size(0)))
        return self.propagate(edge_index, x=x, pos=pos, alpha=alpha)

    def message(self, x_j: torch.Tensor, pos_i: torch.Tensor, pos_j: torch.Tensor, alpha_i: torch.Tensor,
                alpha_j: torch.Tensor, index: torch.Tensor, ptr, size_i) -> torch.Tensor:
        delta = self.pos_nn(pos_i - pos_j)
        alpha = alpha_i - alpha_j + delta
        if self.attn_nn is not None:
            alpha = self.attn_nn(alpha)
        alpha = segment_softmax(alpha, index, ptr, size_i)
        return alpha * (x_j + delta)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


# ---------------------------------------------------------------------- PPFConv


def get_angle(v1: torch.Tensor, v2: torch.Tensor) -> torch.Tensor:
    """Angle between the rows of v1 and v2 (atan2 of |v1 x v2| and v1 . v2), PyG's ppf_conv.get_angle."""
    return torch.atan2(torch.cross(v1, v2, dim=1).norm(p=2, dim=1), (v1 * v2).sum(dim=1))


def point_pair_features(pos_i: torch.Tensor, pos_j: torch.Tensor, normal_i: torch.Tensor,
                        normal_j: torch.Tensor) -> torch.Tensor:
    """(E, 4) point pair features (|d|, angle(n_i, d), angle(n_j, d), angle(n_i, n_j)), d = pos_j - pos_i."""
    d = pos_j - pos_i
    return torch.stack([d.norm(p=2, dim=1), get_angle(normal_i, d), get_angle(normal_j, d),
                        get_angle(normal_i, normal_j)], dim=1)


class PPFConv(LocalGlobalConv):
    """PPFNet layer (PyG's PPFConv): out_i = global_nn(max_j local_nn([x_j, ppf(pos_i, pos_j, n_i, n_j)])).
    Constructor (local_nn, global_nn, add_self_loops, **kwargs) as PointNetConv's (LocalGlobalConv)."""

    def forward(self, x, pos, normal, edge_index) -> torch.Tensor:
        if not isinstance(x, tuple):
            x = (x, None)
        pos, normal = _as_pair(pos), _as_pair(normal)
        for p in pos:
            _check_points(self, p, "pos")
        for n in normal:
            _check_points(self, n, "normal")
        for p, n, side in ((pos[0], normal[0], "source"), (pos[1], normal[1], "destination")):
            if p.size(0) != n.size(0):
                raise ValueError(f"PPFConv: pos and normal ({side}) must have the same number of points, got "
                                 f"{p.size(0)} and {n.size(0)}")
        if self.add_self_loops:
            edge_index = _looped(self, edge_index, pos[1].size(0))
        out = self.propagate(edge_index, x=x, pos=pos, normal=normal)
        return self.global_nn(out) if self.global_nn is not None else out

    def message(self, x_j, pos_i: torch.Tensor, pos_j: torch.Tensor, normal_i: torch.Tensor,
                normal_j: torch.Tensor) -> torch.Tensor:
        msg = point_pair_features(pos_i, pos_j, normal_i, normal_j)
        if x_j is not None:
            msg = torch.cat([x_j, msg], dim=1)
        return self.local_nn(msg) if self.local_nn is not None else msg

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local_nn={self.local_nn}, global_nn={self.global_nn})"


# ---------------------------------------------------------------------- FeaStConv


class FeaStConv(MessagePassing):
    """FeaStNet layer (PyG's FeaStConv): out_i = mean_j sum_h softmax_h(u . (x_j - x_i) + c)_h W_h x_j + b."""

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, add_self_loops: bool = True,
                 bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "mean")
        super().__init__(**kwargs)
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.add_self_loops = add_self_loops
        self.lin = Linear(in_channels, heads * out_channels, bias=False, weight_initializer="uniform")
        self.u = Linear(in_channels, heads, bias=False, weight_initializer="uniform")
        self.c = nn.Parameter(torch.empty(heads))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        self.u.reset_parameters()
        with torch.no_grad():
            self.c.normal_(0.0, 0.1)
            if self.bias is not None:
                self.bias.normal_(0.0, 0.1)

    def forward(self, x, edge_index) -> torch.Tensor:
        x = _as_pair(x)
        for t in x:
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"FeaStConv: x must be a tensor or a pair of tensors, got {type(t).__name__}")
            _check_width(self, t, self.in_channels)
        if self.add_self_loops:
            edge_index = _looped(self, edge_index, x[1].size(0))
        if _observed(self, FeaStConv) or self.aggr not in ("mean", "add", "sum"):
            out = self.propagate(edge_index, x=x)
        else:
            out = self._fused(x, edge_index)
        return out + self.bias if self.bias is not None else out

    def _fused(self, x, edge_index) -> torch.Tensor:
        """sum_h over heads of the weighted aggregation of lin(x)_h with q (E, heads): u(x_j - x_i) = u x_j - u x_i
        (u has no bias), so only (E, heads) per-edge tensors are formed; the aggregation is the multi-head kernel."""
        size = (x[0].size(0), x[1].size(0))
        edges = read_edges(edge_index, self.flow, size)
        H, C = self.heads, self.out_channels
        if edges.index_j.numel() == 0 or size[0] == 0:
            return x[1].new_zeros((size[1], C))
        q = F.softmax(self.u(x[0])[edges.index_j] - self.u(x[1])[edges.index_i] + self.c, dim=1)
        adj = edge_adjacency(edges, size[0], size[1], self.flow)
        reduce = "mean" if self.aggr == "mean" else "sum"
        return _fused_aggregate(self.lin(x[0]).view(-1, H, C), adj, q, reduce).sum(dim=1)

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor) -> torch.Tensor:
        q = F.softmax(self.u(x_j - x_i) + self.c, dim=1)
        x_j = self.lin(x_j).view(x_j.size(0), self.heads, self.out_channels)  # PyG's -1 fails on no edges
        return (x_j * q.view(-1, self.heads, 1)).sum(dim=1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"


# ---------------------------------------------------------------------- GMMConv


class GMMConv(MessagePassing):
    """MoNet's Gaussian mixture layer (PyG's GMMConv): out_i = root(x_i) + mean_j sum_k w_k(e_ji) (x_j G)_k + b,
    w_k(e) = exp(-0.5 sum_d (e_d - mu_kd)^2 / (EPS + sigma_kd^2)); separate_gaussians: one mixture per
    (input, output) channel pair. in_channels=-1 (lazy) materializes g / mu / sigma at the first call."""

    def __init__(self, in_channels, out_channels: int, dim: int, kernel_size: int, separate_gaussians: bool = False,
                 aggr: str = "mean", root_weight: bool = True, bias: bool = True, **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels, self.dim, self.kernel_size = in_channels, out_channels, dim, kernel_size
        self.separate_gaussians, self.root_weight = separate_gaussians, root_weight
        if isinstance(in_channels, int):
            in_channels = (in_channels, in_channels)
        self.rel_in_channels = in_channels[0]
        if in_channels[0] > 0:
            self.g = nn.Parameter(torch.empty(in_channels[0], out_channels * kernel_size))
            shape = (in_channels[0], out_channels, kernel_size, dim) if separate_gaussians else (kernel_size, dim)
            self.mu = nn.Parameter(torch.empty(shape))
            self.sigma = nn.Parameter(torch.empty(shape))
        else:
            self.g = nn.parameter.UninitializedParameter()
            self.mu = nn.parameter.UninitializedParameter()
            self.sigma = nn.parameter.UninitializedParameter()
            self._hook = self.register_forward_pre_hook(self.initialize_parameters)
        if root_weight:
            self.root = Linear(in_channels[1], out_channels, bias=False, weight_initializer="glorot")
        else:
            self.root = None
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if not isinstance(self.g, nn.parameter.UninitializedParameter):
            for t in (self.g, self.mu, self.sigma):
                _glorot(t)
        if self.root is not None:
            self.root.reset_parameters()
        if self.bias is not None:
            with torch.no_grad():
                self.bias.zero_()

    @torch.no_grad()
    def initialize_parameters(self, module, input) -> None:
        if isinstance(self.g, nn.parameter.UninitializedParameter):
            x = input[0][0] if isinstance(input[0], (tuple, list)) else input[0]
            c, M, K = x.size(-1), self.out_channels, self.kernel_size
            self.rel_in_channels = c
            self.g.materialize((c, M * K))
            shape = (c, M, K, self.dim) if self.separate_gaussians else (K, self.dim)
            self.mu.materialize(shape)
            self.sigma.materialize(shape)
            for t in (self.g, self.mu, self.sigma):
                _glorot(t)
        module._hook.remove()
        delattr(module, "_hook")

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, size=None) -> torch.Tensor:
        x = _as_pair(x)
        if not isinstance(x[0], torch.Tensor):
            raise TypeError(f"GMMConv: x must be a tensor or a pair of tensors, got {type(x[0]).__name__}")
        _check_width(self, x[0], self.rel_in_channels)
        if x[1] is not None and self.root is not None:
            _check_width(self, x[1], self.root.in_channels, "x (destination)")
        if edge_attr is None and not is_sparse(edge_index):  # a sparse adj_t carries them as its values
            raise ValueError(f"GMMConv needs edge_attr, an (E, {self.dim}) tensor of pseudo-coordinates, got None")
        if edge_attr is not None and (edge_attr.dim() != 2 or edge_attr.size(1) != self.dim):
            raise ValueError(f"GMMConv expects edge_attr of shape (E, {self.dim}) (dim={self.dim}), got "
                             f"{tuple(edge_attr.shape)}")
        if (not self.separate_gaussians and not _observed(self, GMMConv) and self.aggr in ("mean", "add", "sum")
                and edge_attr is not None):
            out = self._fused(torch.matmul(x[0], self.g), x[1], edge_index, edge_attr, size)
        elif not self.separate_gaussians:
            out = self.propagate(edge_index, x=(torch.matmul(x[0], self.g), x[1]), edge_attr=edge_attr, size=size)
        else:
            out = self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size)
        if x[1] is not None and self.root is not None:
            out = out + self.root(x[1])
        return out + self.bias if self.bias is not None else out

    def _fused(self, xg, x_dst, edge_index, edge_attr, size) -> torch.Tensor:
        """The mixture weights (E, K) weight the K slices of x G on the multi-head kernel, then sum over K (sum /
        mean aggregations are linear): no (E, K * out_channels) tensor."""
        if size is None:
            size = (xg.size(0), x_dst.size(0) if x_dst is not None else xg.size(0))
        edges = read_edges(edge_index, self.flow, size)
        num_src, num_dst = xg.size(0), (size[1] if size[1] is not None else xg.size(0))
        E, D, K, M = edges.index_j.numel(), self.dim, self.kernel_size, self.out_channels
        if edge_attr.size(0) != E:
            raise ValueError(f"GMMConv: edge_attr has {edge_attr.size(0)} rows for {E} edges")
        if E == 0 or num_src == 0:
            return xg.new_zeros((num_dst, M))
        g = -0.5 * (edge_attr.view(E, 1, D) - self.mu.view(1, K, D)).pow(2)
        g = torch.exp((g / (EPS + self.sigma.view(1, K, D).pow(2))).sum(dim=-1))  # (E, K)
        adj = edge_adjacency(edges, num_src, num_dst, self.flow)
        reduce = "mean" if self.aggr == "mean" else "sum"
        return _fused_aggregate(xg.view(-1, K, M), adj, g, reduce).sum(dim=1)

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        if edge_attr is None or edge_attr.dim() != 2 or edge_attr.size(1) != self.dim:
            raise ValueError(f"GMMConv expects edge pseudo-coordinates of shape (E, {self.dim}) (dim={self.dim}), "
                             f"got {None if edge_attr is None else tuple(edge_attr.shape)}")
        Fi, M = self.rel_in_channels, self.out_channels
        (E, D), K = edge_attr.size(), self.kernel_size
        if not self.separate_gaussians:
            g = -0.5 * (edge_attr.view(E, 1, D) - self.mu.view(1, K, D)).pow(2)
            g = torch.exp((g / (EPS + self.sigma.view(1, K, D).pow(2))).sum(dim=-1))  # (E, K)
            return (x_j.view(E, K, M) * g.view(E, K, 1)).sum(dim=-2)
        g = -0.5 * (edge_attr.view(E, 1, 1, 1, D) - self.mu.view(1, Fi, M, K, D)).pow(2)
        g = torch.exp((g / (EPS + self.sigma.view(1, Fi, M, K, D).pow(2))).sum(dim=-1))  # (E, F, M, K)
        g = (g * self.g.view(1, Fi, M, K)).sum(dim=-1)  # (E, F, M)
        return (x_j.view(E, Fi, 1) * g).sum(dim=-2)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, dim={self.dim})"


# ---------------------------------------------------------------------- GravNetConv


def _ptr_knn(s_src: torch.Tensor, s_dst: torch.Tensor, k: int, b_src, b_dst) -> torch.Tensor:
    """(2, E) source -> destination edges: each destination point's k nearest source points of its graph."""
    from ..ops.graph_builders import knn

    return knn(s_src, s_dst, k, b_src, b_dst).flip([0])


class GravNetConv(MessagePassing):
    """GravNet layer (PyG's GravNetConv): each point's k nearest neighbours in a learned space s = lin_s(x) send
    lin_h(x) weighted by exp(-10 |s_i - s_j|^2); out = lin_out1(x) + lin_out2([mean, max] of those)."""

    def __init__(self, in_channels: int, out_channels: int, space_dimensions: int, propagate_dimensions: int, k: int,
                 num_workers: int | None = None, **kwargs):
        super().__init__(aggr=["mean", "max"], flow="source_to_target", **kwargs)
        if num_workers is not None:
            import warnings

            warnings.warn(f"'num_workers' attribute in '{type(self).__name__}' is deprecated and will be removed in "
                          "a future release", stacklevel=2)
        self.in_channels, self.out_channels, self.k = in_channels, out_channels, k
        self.lin_s = Linear(in_channels, space_dimensions)
        self.lin_h = Linear(in_channels, propagate_dimensions)
        self.lin_out1 = Linear(in_channels, out_channels, bias=False)
        self.lin_out2 = Linear(2 * propagate_dimensions, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin_s, self.lin_h, self.lin_out1, self.lin_out2):
            lin.reset_parameters()

    def forward(self, x, batch=None) -> torch.Tensor:
        bipartite = not isinstance(x, torch.Tensor)
        x = _as_pair(x)
        for t in x:
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"GravNetConv: x must be a tensor or a pair of tensors, got {type(t).__name__}")
        if x[0].dim() != 2:
            raise ValueError("Static graphs not supported in 'GravNetConv'")
        for t in x:
            _check_width(self, t, self.in_channels)
        b = _as_pair(batch)
        h_l, s_l = self.lin_h(x[0]), self.lin_s(x[0])
        s_r = self.lin_s(x[1]) if bipartite else s_l
        edge_index = _ptr_knn(s_l.detach(), s_r.detach(), self.k, b[0], b[1])
        edge_weight = torch.exp(-10.0 * (s_l[edge_index[0]] - s_r[edge_index[1]]).pow(2).sum(-1))
        size = (s_l.size(0), s_r.size(0))
        if _observed(self, GravNetConv) or type(self.aggr_module) is not MultiAggregation or self.aggr != ["mean", "max"]:
            out = self.propagate(edge_index, x=(h_l, None), edge_weight=edge_weight, size=size)
        elif edge_index.size(1) == 0:
            out = h_l.new_zeros((size[1], 2 * h_l.size(1)))
        else:  # weighted mean and max of lin_h(x_j) on the fused kernel: no (E, propagate_dimensions) tensor
            adj = edge_adjacency(read_edges(edge_index, self.flow, size), size[0], size[1], self.flow)
            out = torch.cat([_fused_aggregate(h_l, adj, edge_weight, "mean"),
                             _fused_aggregate(h_l, adj, edge_weight, "max")], dim=-1)
        return self.lin_out1(x[1]) + self.lin_out2(out)

    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor) -> torch.Tensor:
        return x_j * edge_weight.unsqueeze(1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, k={self.k})"


# ---------------------------------------------------------------------- XConv


class Reshape(nn.Module):
    """x.view(*shape) (PyG's torch_geometric.nn.Reshape)."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*self.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(str(s) for s in self.shape)})"


class XConv(nn.Module):
    """PointCNN's X-Conv (PyG's XConv): per point, its K nearest neighbours' (dilated) relative positions are
    lifted by mlp1 and a learned K x K X-transform (mlp2) is applied to [lifted, x of the neighbours] before a
    depthwise-separable convolution. Every point needs K * dilation points in its graph."""

    def __init__(self, in_channels: int, out_channels: int, dim: int, kernel_size: int,
                 hidden_channels: int | None = None, dilation: int = 1, bias: bool = True, num_workers: int = 1):
        super().__init__()
        self.in_channels = in_channels
        if hidden_channels is None:
            hidden_channels = in_channels // 4
        if not hidden_channels > 0:
            raise ValueError(f"XConv: hidden_channels must be positive (default in_channels // 4), got {hidden_channels}")
        self.hidden_channels, self.out_channels, self.dim = hidden_channels, out_channels, dim
        self.kernel_size, self.dilation, self.num_workers = kernel_size, dilation, num_workers
        C_in, C_delta, C_out, D, K = in_channels, hidden_channels, out_channels, dim, kernel_size
        S, L, BN, ELU, Conv1d = nn.Sequential, nn.Linear, nn.BatchNorm1d, nn.ELU, nn.Conv1d
        self.mlp1 = S(L(dim, C_delta), ELU(), BN(C_delta), L(C_delta, C_delta), ELU(), BN(C_delta),
                      Reshape(-1, K, C_delta))
        self.mlp2 = S(L(D * K, K ** 2), ELU(), BN(K ** 2), Reshape(-1, K, K), Conv1d(K, K ** 2, K, groups=K), ELU(),
                      BN(K ** 2), Reshape(-1, K, K), Conv1d(K, K ** 2, K, groups=K), BN(K ** 2), Reshape(-1, K, K))
        C_in = C_in + C_delta
        depth_multiplier = int(math.ceil(C_out / C_in))
        self.conv = S(Conv1d(C_in, C_in * depth_multiplier, K, groups=C_in), Reshape(-1, C_in * depth_multiplier),
                      L(C_in * depth_multiplier, C_out, bias=bias))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset(self.mlp1)
        reset(self.mlp2)
        reset(self.conv)

    def forward(self, x: torch.Tensor | None, pos: torch.Tensor, batch: torch.Tensor | None = None) -> torch.Tensor:
        from ..ops.graph_builders import knn

        if not isinstance(pos, torch.Tensor):
            raise TypeError(f"XConv: pos must be a tensor, got {type(pos).__name__}")
        pos = pos.unsqueeze(-1) if pos.dim() == 1 else pos
        if pos.dim() != 2 or pos.size(1) != self.dim:
            raise ValueError(f"XConv expects pos of shape (N, {self.dim}) (dim={self.dim}), got {tuple(pos.shape)}")
        (N, D), K = pos.size(), self.kernel_size
        if x is not None:
            x = x.unsqueeze(-1) if x.dim() == 1 else x
            if x.dim() != 2 or x.size(0) != N:
                raise ValueError(f"XConv expects x of shape ({N}, {self.in_channels}), got {tuple(x.shape)}")
            _check_width(self, x, self.in_channels)
        if N == 0:
            return pos.new_zeros((0, self.out_channels))
        edge_index = knn(pos.detach(), pos.detach(), K * self.dilation, batch, batch)
        if edge_index.size(1) != N * K * self.dilation:
            raise ValueError(f"XConv: every point needs kernel_size * dilation = {K * self.dilation} points in its "
                             f"graph (got {edge_index.size(1)} neighbours for {N} points)")
        if self.dilation > 1:
            edge_index = edge_index[:, ::self.dilation]
        row, col = edge_index[0], edge_index[1]
        pos = pos[col] - pos[row]
        x_star = self.mlp1(pos)
        if x is not None:
            x_star = torch.cat([x_star, x[col].view(N, K, self.in_channels)], dim=-1)
        x_star = x_star.transpose(1, 2).contiguous()
        transform = self.mlp2(pos.view(N, K * D))
        return self.conv(torch.matmul(x_star, transform))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


__all__ = ["FeaStConv", "GMMConv", "GravNetConv", "PPFConv", "PointTransformerConv", "Reshape", "XConv", "get_angle",
           "point_pair_features"]
