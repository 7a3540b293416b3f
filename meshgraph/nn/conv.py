"""Graph convolution layers. Call shape as in PyG: `conv(x, graph)` where graph is a GraphBatch, a (2, E)
edge_index or an Adjacency (GraphConv also takes PyTorch3D's (E, 2) edges). Aggregations that are weighted
copies of source features run on the fused gather-scatter kernel; attention (GATConv) keeps memory at O(E * heads)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.gather_scatter import _resolve, aggregate, gather_scatter
from ..ops.neighbor_softmax import neighbor_softmax
from .functional import linear
from .message_passing import MessagePassing


def _num_verts(x) -> int:
    return x.shape[0]


class GraphConv(nn.Module):
    """out = W0 x + sum over neighbours j of W1 x_j (PyTorch3D's GraphConv; PyG's GraphConv with aggr="add").

    Args:
        input_dim, output_dim: feature widths.
        init: "normal" (PyTorch3D: weights N(0, 0.01), zero bias) or "zero".
        directed: as in `gather_scatter`: None uses the graph's edges as given (GraphBatch / edge_index) and
            PyTorch3D's undirected default for (E, 2) edges.
        aggr: "sum" (PyTorch3D), "mean" or "max".
    """

    def __init__(self, input_dim: int, output_dim: int, init: str = "normal", directed: bool | None = None, aggr: str = "sum"):
        super().__init__()
        self.input_dim, self.output_dim, self.directed, self.aggr = input_dim, output_dim, directed, aggr
        self.w0 = nn.Linear(input_dim, output_dim)
        self.w1 = nn.Linear(input_dim, output_dim)
        if init == "normal":
            for lin in (self.w0, self.w1):
                nn.init.normal_(lin.weight, mean=0, std=0.01)
                nn.init.zeros_(lin.bias)
        elif init == "zero":
            for lin in (self.w0, self.w1):
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)
        else:
            raise ValueError(f"init must be 'normal' or 'zero', got {init!r}")

    def forward(self, x: torch.Tensor, graph, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[0] == 0:
            return x.new_zeros((0, self.output_dim))
        # Project first, then aggregate: linear maps commute with (weighted) sums and means.
        if self.aggr in ("sum", "mean"):
            return self.w0(x) + gather_scatter(self.w1(x), graph, edge_weight, self.aggr, self.directed)
        return self.w0(x) + self.w1(gather_scatter(x, graph, edge_weight, self.aggr, self.directed))

    def extra_repr(self) -> str:
        return f"{self.input_dim}, {self.output_dim}, aggr={self.aggr!r}, directed={self.directed}"


class GCNConv(nn.Module):
    """Kipf & Welling's graph convolution: out = D^-1/2 (A + I) D^-1/2 X W + b (PyG's GCNConv).

    Args:
        in_channels, out_channels: widths.
        improved: self loops of weight 2.
        cached: compute the normalization once and reuse it (transductive settings: one fixed graph).
        add_self_loops, normalize, bias: as in PyG.
    """

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False, cached: bool = False,
                 add_self_loops: bool = True, normalize: bool = True, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.cached, self.add_self_loops, self.normalize = improved, cached, add_self_loops, normalize
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self._cache = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self._cache = None

    def _norm(self, graph, num_verts, edge_weight, device, dtype):
        adj, num_edges, _ = _resolve(graph, num_verts, None, device, self_loops=self.add_self_loops)
        n_ids = adj.edge_id.shape[0]
        w = edge_weight if edge_weight is not None else torch.ones(num_edges, device=device, dtype=dtype)
        if self.add_self_loops:
            w = torch.cat([w, torch.full((num_verts,), 2.0 if self.improved else 1.0, device=device, dtype=dtype)])
        if self.normalize:
            # degree of each destination = sum of its in-edge weights (ids -> destination through the CSR)
            dst = torch.empty(n_ids, dtype=torch.int64, device=device)
            dst[adj.edge_id] = torch.repeat_interleave(torch.arange(num_verts, device=device), adj.rowptr.diff(), output_size=n_ids)
            src = torch.empty(n_ids, dtype=torch.int64, device=device)
            src[adj.edge_id] = adj.col.long()
            deg = torch.zeros(num_verts, device=device, dtype=dtype).index_add_(0, dst, w)
            dinv = deg.pow(-0.5).masked_fill(deg == 0, 0)
            w = dinv[src] * w * dinv[dst]
        return adj, w

    def forward(self, x: torch.Tensor, graph, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        if self.cached and self._cache is not None:
            adj, w = self._cache
        else:
            adj, w = self._norm(graph, x.shape[0], edge_weight, x.device, x.dtype)
            if self.cached:
                self._cache = (adj, w.detach())
        h = linear(x, self.lin.weight)  # x may be sparse (bag-of-words features)
        out = aggregate(h, adj, w, "sum")
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


class SAGEConv(MessagePassing):
    """GraphSAGE: out = W_root x + W_neigh aggr_j x_j (mean or max; PyG's SAGEConv)."""

    def __init__(self, in_channels: int, out_channels: int, aggr: str = "mean", normalize: bool = False,
                 root_weight: bool = True, bias: bool = True):
        super().__init__(aggr)
        self.in_channels, self.out_channels, self.normalize, self.root_weight = in_channels, out_channels, normalize, root_weight
        self.lin_l = nn.Linear(in_channels, out_channels, bias=bias)
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False) if root_weight else None

    def forward(self, x: torch.Tensor, graph) -> torch.Tensor:
        if self.aggr in ("sum", "mean") and self.out_channels < self.in_channels:
            out = self.propagate(graph, x @ self.lin_l.weight.t())  # project first: fewer channels to move
            if self.lin_l.bias is not None:
                out = out + self.lin_l.bias
        else:
            out = self.lin_l(self.propagate(graph, x))
        if self.lin_r is not None:
            out = out + self.lin_r(x)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out


class GINConv(MessagePassing):
    """Graph isomorphism network layer: out = nn((1 + eps) x + sum_j x_j)."""

    def __init__(self, nn_module: nn.Module, eps: float = 0.0, train_eps: bool = False, aggr: str = "sum"):
        super().__init__(aggr)
        self.nn = nn_module
        self.initial_eps = eps
        self.eps = nn.Parameter(torch.tensor([eps])) if train_eps else None
        if not train_eps:
            self.register_buffer("eps_buffer", torch.tensor([eps]))

    def forward(self, x: torch.Tensor, graph) -> torch.Tensor:
        eps = self.eps if self.eps is not None else self.eps_buffer
        return self.nn((1 + eps) * x + self.propagate(graph, x))


class GATConv(nn.Module):
    """Graph attention (Velickovic et al. 2018), multi-head, fused: per-vertex attention logits, per-edge
    scores (E, H), `neighbor_softmax` over each vertex's in-edges, dropout on the coefficients, then one
    multi-head weighted gather-scatter. Memory grows with E * heads, never E * heads * C.

    Args mirror PyG's GATConv: in_channels, out_channels (per head), heads, concat, negative_slope, dropout
    (on the attention coefficients), add_self_loops, bias. feature_dropout: dropout on the transformed features
    W x before they are aggregated, which the GAT authors' reference implementation also applies.
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True, bias: bool = True,
                 feature_dropout: float = 0.0):
        super().__init__()
        self.feature_dropout = feature_dropout
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.negative_slope, self.dropout, self.add_self_loops = negative_slope, dropout, add_self_loops
        self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        self.bias = nn.Parameter(torch.zeros(heads * out_channels if concat else out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)
        for a in (self.att_src, self.att_dst):
            bound = math.sqrt(6.0 / (a.shape[-2] + a.shape[-1]))
            nn.init.uniform_(a, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, graph, return_attention_weights: bool = False):
        V, H, C = x.shape[0], self.heads, self.out_channels
        adj, num_edges, _ = _resolve(graph, V, None, x.device, self_loops=self.add_self_loops)
        h = linear(x, self.lin.weight).view(V, H, C)  # x may be sparse
        a_src = (h * self.att_src).sum(-1)  # (V, H)
        a_dst = (h * self.att_dst).sum(-1)
        n_ids = adj.edge_id.shape[0]
        src = torch.empty(n_ids, dtype=torch.int64, device=x.device)
        dst = torch.empty(n_ids, dtype=torch.int64, device=x.device)
        src[adj.edge_id] = adj.col.long()
        dst[adj.edge_id] = torch.repeat_interleave(torch.arange(V, device=x.device), adj.rowptr.diff(), output_size=n_ids)
        scores = F.leaky_relu(a_src[src] + a_dst[dst], self.negative_slope)  # (E', H): E * heads memory
        alpha = neighbor_softmax(scores, adj)
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        values = F.dropout(h, p=self.feature_dropout, training=self.training) if self.feature_dropout else h
        out = aggregate(values, adj, alpha, "sum")  # (V, H, C), multi-head weighted gather-scatter
        out = out.reshape(V, H * C) if self.concat else out.mean(1)
        if self.bias is not None:
            out = out + self.bias
        return (out, alpha) if return_attention_weights else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"


class EdgeConv(MessagePassing):
    """DGCNN's edge convolution: out_i = max_j nn([x_i, x_j - x_i]). The per-edge MLP needs the (E, 2F) input
    by definition; the reduction runs on the fused segment kernel."""

    def __init__(self, nn_module: nn.Module, aggr: str = "max"):
        super().__init__(aggr)
        self.nn = nn_module

    def forward(self, x: torch.Tensor, graph) -> torch.Tensor:
        return self.propagate(graph, x)

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor) -> torch.Tensor:
        return self.nn(torch.cat([x_i, x_j - x_i], dim=-1))


class PointNetConv(MessagePassing):
    """PointNet++ set abstraction as a graph layer: out_i = global_nn(max_j local_nn([x_j, pos_j - pos_i]))."""

    def __init__(self, local_nn: nn.Module | None = None, global_nn: nn.Module | None = None, add_self_loops: bool = True,
                 aggr: str = "max"):
        super().__init__(aggr, self_loops=add_self_loops)
        self.local_nn, self.global_nn = local_nn, global_nn

    def forward(self, x: torch.Tensor | None, pos: torch.Tensor, graph) -> torch.Tensor:
        feats = pos if x is None else x
        out = self.propagate(graph, feats, pos=pos, has_x=x is not None)
        return self.global_nn(out) if self.global_nn is not None else out

    def message(self, x_j: torch.Tensor, pos_i: torch.Tensor, pos_j: torch.Tensor, has_x: bool = True) -> torch.Tensor:
        rel = pos_j - pos_i
        msg = torch.cat([x_j, rel], dim=-1) if has_x else rel
        return self.local_nn(msg) if self.local_nn is not None else msg
