"""Hierarchical pooling with PyG 2.8's names, signatures, return tuples and semantics: the top-k family
(`TopKPooling`, `SAGPooling`, `ASAPooling` on `SelectTopK` + `FilterEdges`), `EdgePooling`, clustering
(`graclus`, a kernel) and pooling over a cluster assignment (`avg_pool`, `max_pool`, `*_pool_x`,
`*_pool_neighbor_x`), and `global_sort_pool`. Reductions run on meshgraph's fused scatter kernels
(`meshgraph.ops.scatter`); the global add / mean / max pools are `meshgraph.ops.scatter`'s.

Bad input: a `ratio` that is not positive (or not a number), an int `ratio` (k) larger than every graph of the
batch, and widths that do not match the layer give a ValueError / TypeError naming the argument."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import check_index_tensor, check_tensor, count_per_index, offsets_from_counts
from ..ops.edge_utils import (add_remaining_self_loops, add_self_loops, coalesce, maybe_num_nodes, remove_self_loops,
                              to_dense_batch, to_edge_index, to_torch_coo_tensor, to_torch_csr_tensor)
from ..ops.graclus import graclus
from ..ops.scatter import global_add_pool, global_max_pool, global_mean_pool, scatter, scatter_softmax
from .conv import PyGGraphConv
from .conv_spectral import LEConv
from .mlp import _activation

__all__ = [
    "ASAPooling", "Connect", "ConnectOutput", "EdgePooling", "FilterEdges", "SAGPooling", "Select", "SelectOutput",
    "SelectTopK", "TopKPooling", "UnpoolInfo", "avg_pool", "avg_pool_neighbor_x", "avg_pool_x",
    "consecutive_cluster", "filter_adj", "global_add_pool", "global_max_pool", "global_mean_pool",
    "global_sort_pool", "graclus", "max_pool", "max_pool_neighbor_x", "max_pool_x", "pool_batch", "pool_edge",
    "pool_pos", "topk",
]


# ---------------------------------------------------------------------- argument checks


def _check_ratio(ratio, where: str, allow_none: bool = False):
    """ratio: a float in (0, 1) (fraction of each graph, rounded up), or a number >= 1 (PyG reads int(ratio) as k)."""
    if ratio is None and allow_none:
        return None
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        raise TypeError(f"{where}: ratio must be a float in (0, 1] or an int k >= 1, got {type(ratio).__name__}")
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"{where}: ratio must be positive (a float in (0, 1] or an int k >= 1), got {ratio}")
    return ratio


def _check_width(layer: str, x: torch.Tensor, width: int, name: str = "x") -> None:
    if x.dim() < 1 or x.shape[-1] != width:
        raise ValueError(f"{layer} expects {name} with {width} channels (in_channels), got shape {tuple(x.shape)}")


def _check_batch(batch, n: int, device: torch.device, name: str = "batch") -> torch.Tensor:
    check_index_tensor(batch, name, dim=1)
    if batch.shape[0] != n:
        raise ValueError(f"{name} must have one entry per node ({n}), got {batch.shape[0]}")
    if batch.device != device:
        raise ValueError(f"{name} is on {batch.device} but x is on {device}")
    return batch


def _check_edges(edge_index, name: str = "edge_index") -> torch.Tensor:
    return check_index_tensor(edge_index, name, shape=(2, None))


# ---------------------------------------------------------------------- select / connect


@dataclass(init=False)
class SelectOutput:
    """Output of a `Select`: node_index (kept nodes), num_nodes, cluster_index (cluster of each kept node),
    num_clusters and an optional weight per kept node (PyG's SelectOutput)."""

    node_index: torch.Tensor
    num_nodes: int
    cluster_index: torch.Tensor
    num_clusters: int
    weight: torch.Tensor | None = None

    def __init__(self, node_index: torch.Tensor, num_nodes: int, cluster_index: torch.Tensor, num_clusters: int,
                 weight: torch.Tensor | None = None):
        if node_index.dim() != 1:
            raise ValueError(f"Expected 'node_index' to be one-dimensional (got {node_index.dim()} dimensions)")
        if cluster_index.dim() != 1:
            raise ValueError(f"Expected 'cluster_index' to be one-dimensional (got {cluster_index.dim()} dimensions)")
        if node_index.numel() != cluster_index.numel():
            raise ValueError(f"Expected 'node_index' and 'cluster_index' to hold the same number of values (got "
                             f"{node_index.numel()} and {cluster_index.numel()} values)")
        if weight is not None and weight.dim() != 1:
            raise ValueError(f"Expected 'weight' vector to be one-dimensional (got {weight.dim()} dimensions)")
        if weight is not None and weight.numel() != node_index.numel():
            raise ValueError(f"Expected 'weight' to hold {node_index.numel()} values (got {weight.numel()} values)")
        self.node_index, self.num_nodes = node_index, num_nodes
        self.cluster_index, self.num_clusters = cluster_index, num_clusters
        self.weight = weight


class Select(nn.Module):
    """Base of node-selection operators (PyG's Select): forward returns a SelectOutput."""

    def reset_parameters(self):
        pass

    def forward(self, *args, **kwargs) -> SelectOutput:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def topk(x: torch.Tensor, ratio: float | int | None, batch: torch.Tensor, min_score: float | None = None,
         tol: float = 1e-7) -> torch.Tensor:
    """Indices of the kept nodes: with min_score, every node scoring above min(min_score, its graph's best - tol);
    else the ceil(ratio * N_g) (ratio < 1) or int(ratio) (ratio >= 1) best of each graph, graph by graph, best
    first (PyG's topk)."""
    if min_score is not None:
        scores_max = scatter(x, batch, reduce="max")[batch] - tol
        return (x > scores_max.clamp(max=min_score)).nonzero().view(-1)
    if ratio is None:
        raise ValueError("At least one of the 'ratio' and 'min_score' parameters must be specified")
    _check_ratio(ratio, "topk")
    num_nodes = scatter(batch.new_ones(x.size(0)), batch, reduce="sum")
    if ratio >= 1:
        largest = int(num_nodes.max()) if num_nodes.numel() else 0
        if int(ratio) > largest and x.numel():
            raise ValueError(f"topk: ratio (k = {int(ratio)}) is larger than every graph of the batch (the largest has "
                             f"{largest} nodes)")
        k = num_nodes.new_full((num_nodes.size(0),), int(ratio))
    else:
        k = (float(ratio) * num_nodes.to(x.dtype)).ceil().to(torch.long)
    x, x_perm = torch.sort(x.view(-1), descending=True)
    batch = batch[x_perm]
    batch, batch_perm = torch.sort(batch, descending=False, stable=True)
    arange = torch.arange(x.size(0), dtype=torch.long, device=x.device)
    ptr = offsets_from_counts(num_nodes)
    mask = arange - ptr[batch] < k[batch]
    return x_perm[batch_perm[mask]]


class SelectTopK(Select):
    """Top-k node selection by a learned projection (Graph U-Nets / SAGPool): score = act(x p / |p|) and the
    topk of each graph, or, with min_score, softmax(x p) per graph above min_score (PyG's SelectTopK)."""

    def __init__(self, in_channels: int, ratio: int | float = 0.5, min_score: float | None = None,
                 act: str | Callable = "tanh"):
        super().__init__()
        if ratio is None and min_score is None:
            raise ValueError(f"At least one of the 'ratio' and 'min_score' parameters must be specified in "
                             f"'{type(self).__name__}'")
        _check_ratio(ratio, type(self).__name__, allow_none=True)
        self.in_channels = in_channels
        self.ratio = ratio
        self.min_score = min_score
        self.act = _activation(act)
        self.weight = nn.Parameter(torch.empty(1, in_channels))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.in_channels)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None) -> SelectOutput:
        check_tensor(x, "x", dim=(1, 2))
        if batch is None:
            batch = x.new_zeros(x.size(0), dtype=torch.long)
        _check_batch(batch, x.size(0), x.device)
        x = x.view(-1, 1) if x.dim() == 1 else x
        _check_width(type(self).__name__, x, self.in_channels)
        score = (x * self.weight).sum(dim=-1)
        if self.min_score is None:
            score = self.act(score / self.weight.norm(p=2, dim=-1))
        else:
            score = scatter_softmax(score, batch)
        node_index = topk(score, self.ratio, batch, self.min_score)
        return SelectOutput(node_index=node_index, num_nodes=x.size(0),
                            cluster_index=torch.arange(node_index.size(0), device=x.device),
                            num_clusters=node_index.size(0), weight=score[node_index])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {_ratio_repr(self)})"


@dataclass(init=False)
class ConnectOutput:
    """Output of a `Connect`: the pooled edge_index, edge_attr and batch (PyG's ConnectOutput)."""

    edge_index: torch.Tensor
    edge_attr: torch.Tensor | None = None
    batch: torch.Tensor | None = None

    def __init__(self, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                 batch: torch.Tensor | None = None):
        if edge_index.dim() != 2:
            raise ValueError(f"Expected 'edge_index' to be two-dimensional (got {edge_index.dim()} dimensions)")
        if edge_index.size(0) != 2:
            raise ValueError(f"Expected 'edge_index' to have size '2' in the first dimension (got "
                             f"'{edge_index.size(0)}')")
        if edge_attr is not None and edge_attr.size(0) != edge_index.size(1):
            raise ValueError(f"Expected 'edge_index' and 'edge_attr' to hold the same number of edges (got "
                             f"{edge_index.size(1)} and {edge_attr.size(0)} edges)")
        self.edge_index, self.edge_attr, self.batch = edge_index, edge_attr, batch


class Connect(nn.Module):
    """Base of the operators that build the pooled graph's edges (PyG's Connect)."""

    def reset_parameters(self):
        pass

    def forward(self, select_output: SelectOutput, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                batch: torch.Tensor | None = None) -> ConnectOutput:
        raise NotImplementedError

    @staticmethod
    def get_pooled_batch(select_output: SelectOutput, batch: torch.Tensor | None) -> torch.Tensor | None:
        if batch is None:
            return batch
        out = torch.arange(select_output.num_clusters, device=batch.device)
        return out.scatter_(0, select_output.cluster_index, batch[select_output.node_index])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def filter_adj(edge_index: torch.Tensor, edge_attr: torch.Tensor | None, node_index: torch.Tensor,
               cluster_index: torch.Tensor | None = None, num_nodes: int | None = None):
    """The edges between kept nodes, relabelled to their clusters (node_index[i] -> cluster_index[i], default i),
    in their input order; edge_attr filtered alike. Returns (edge_index, edge_attr)."""
    _check_edges(edge_index)
    num_nodes = maybe_num_nodes(edge_index, num_nodes)
    if cluster_index is None:
        cluster_index = torch.arange(node_index.size(0), device=node_index.device)
    mask = node_index.new_full((num_nodes,), -1)
    mask[node_index] = cluster_index
    row, col = mask[edge_index[0]], mask[edge_index[1]]
    keep = (row >= 0) & (col >= 0)
    row, col = row[keep], col[keep]
    if edge_attr is not None:
        edge_attr = edge_attr[keep]
    return torch.stack([row, col], dim=0), edge_attr


class FilterEdges(Connect):
    """Keeps the edges whose both ends were selected (one node per cluster), PyG's FilterEdges."""

    def forward(self, select_output: SelectOutput, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                batch: torch.Tensor | None = None) -> ConnectOutput:
        if select_output.num_clusters != select_output.cluster_index.size(0):
            raise ValueError(f"'{type(self).__name__}' requires each cluster to contain only one node")
        edge_index, edge_attr = filter_adj(edge_index, edge_attr, select_output.node_index,
                                           select_output.cluster_index, num_nodes=select_output.num_nodes)
        return ConnectOutput(edge_index, edge_attr, self.get_pooled_batch(select_output, batch))


# ---------------------------------------------------------------------- top-k pooling layers


def _check_edge_attr(edge_attr, E: int) -> None:
    if edge_attr is not None:
        check_tensor(edge_attr, "edge_attr", min_dim=1)
        if edge_attr.shape[0] != E:
            raise ValueError(f"edge_attr must have one row per edge ({E}), got {edge_attr.shape[0]}")


def _topk_inputs(layer: nn.Module, x, edge_index, edge_attr, batch):
    check_tensor(x, "x", dim=(1, 2))
    _check_edges(edge_index)
    _check_edge_attr(edge_attr, edge_index.shape[1])
    if batch is None:
        batch = edge_index.new_zeros(x.size(0))
    return _check_batch(batch, x.size(0), x.device)


def _select_and_connect(layer: nn.Module, x, attn, edge_index, edge_attr, batch):
    """The top-k layers' common tail: select on attn, scale the kept rows of x by their score (times the
    multiplier), keep the edges between them. Returns PyG's (x, edge_index, edge_attr, batch, perm, score)."""
    select_out = layer.select(attn, batch)
    perm, score = select_out.node_index, select_out.weight
    x = x[perm] * score.view(-1, 1)
    x = layer.multiplier * x if layer.multiplier != 1 else x
    connect_out = layer.connect(select_out, edge_index, edge_attr, batch)
    return x, connect_out.edge_index, connect_out.edge_attr, connect_out.batch, perm, score


def _ratio_repr(layer: nn.Module) -> str:
    return f"ratio={layer.ratio}" if layer.min_score is None else f"min_score={layer.min_score}"


class TopKPooling(nn.Module):
    """Graph U-Net top-k pooling: keeps the ratio (or k) best-scoring nodes of each graph, scales them by their
    score and keeps the edges between them (PyG's TopKPooling).

    forward(x, edge_index, edge_attr=None, batch=None, attn=None) -> (x, edge_index, edge_attr, batch, perm,
    score)."""

    def __init__(self, in_channels: int, ratio: int | float = 0.5, min_score: float | None = None,
                 multiplier: float = 1.0, nonlinearity: str | Callable = "tanh"):
        super().__init__()
        self.in_channels = in_channels
        self.ratio = ratio
        self.min_score = min_score
        self.multiplier = multiplier
        self.select = SelectTopK(in_channels, ratio, min_score, nonlinearity)
        self.connect = FilterEdges()
        self.reset_parameters()

    def reset_parameters(self):
        self.select.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                batch: torch.Tensor | None = None, attn: torch.Tensor | None = None):
        batch = _topk_inputs(self, x, edge_index, edge_attr, batch)
        return _select_and_connect(self, x, x if attn is None else attn, edge_index, edge_attr, batch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {_ratio_repr(self)}, multiplier={self.multiplier})"


class SAGPooling(nn.Module):
    """Self-attention graph pooling: node scores from a GNN (default PyG's GraphConv, `GNN(in_channels, 1,
    **kwargs)`), then top-k selection as TopKPooling (PyG's SAGPooling; same forward and return tuple)."""

    def __init__(self, in_channels: int, ratio: float | int = 0.5, GNN: type = PyGGraphConv,
                 min_score: float | None = None, multiplier: float = 1.0, nonlinearity: str | Callable = "tanh",
                 **kwargs):
        super().__init__()
        self.in_channels = in_channels
        self.ratio = ratio
        self.min_score = min_score
        self.multiplier = multiplier
        self.gnn = GNN(in_channels, 1, **kwargs)
        self.select = SelectTopK(1, ratio, min_score, nonlinearity)
        self.connect = FilterEdges()
        self.reset_parameters()

    def reset_parameters(self):
        self.gnn.reset_parameters()
        self.select.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                batch: torch.Tensor | None = None, attn: torch.Tensor | None = None):
        batch = _topk_inputs(self, x, edge_index, edge_attr, batch)
        attn = x if attn is None else attn
        attn = self.gnn(attn.view(-1, 1) if attn.dim() == 1 else attn, edge_index)
        return _select_and_connect(self, x, attn, edge_index, edge_attr, batch)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({type(self.gnn).__name__}, {self.in_channels}, {_ratio_repr(self)}, "
                f"multiplier={self.multiplier})")


class ASAPooling(nn.Module):
    """Adaptive structure-aware pooling (Ranjan et al. 2020), PyG's ASAPooling: attention clusters over each
    node's neighbourhood, LEConv fitness, top-k clusters, and the pooled adjacency S^T A S.

    forward(x, edge_index, edge_weight=None, batch=None) -> (x, edge_index, edge_weight, batch, perm)."""

    def __init__(self, in_channels: int, ratio: float | int = 0.5, GNN: Callable | None = None, dropout: float = 0.0,
                 negative_slope: float = 0.2, add_self_loops: bool = False, **kwargs):
        super().__init__()
        _check_ratio(ratio, type(self).__name__)
        self.in_channels = in_channels
        self.ratio = ratio
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.GNN = GNN
        self.add_self_loops = add_self_loops
        self.lin = nn.Linear(in_channels, in_channels)
        self.att = nn.Linear(2 * in_channels, 1)
        self.gnn_score = LEConv(self.in_channels, 1)
        self.gnn_intra_cluster = GNN(self.in_channels, self.in_channels, **kwargs) if GNN is not None else None
        self.select = SelectTopK(1, ratio)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin.reset_parameters()
        self.att.reset_parameters()
        self.gnn_score.reset_parameters()
        if self.gnn_intra_cluster is not None:
            self.gnn_intra_cluster.reset_parameters()
        self.select.reset_parameters()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None,
                batch: torch.Tensor | None = None):
        check_tensor(x, "x", dim=(1, 2))
        _check_edges(edge_index)
        N = x.size(0)
        x = x.unsqueeze(-1) if x.dim() == 1 else x
        _check_width(type(self).__name__, x, self.in_channels)
        if edge_weight is not None:
            check_tensor(edge_weight, "edge_weight", shape=(edge_index.shape[1],))
        edge_index, edge_weight = add_remaining_self_loops(edge_index, edge_weight, fill_value=1.0, num_nodes=N)
        if batch is None:
            batch = edge_index.new_zeros(N)
        _check_batch(batch, N, x.device)
        x_pool = x
        if self.gnn_intra_cluster is not None:
            x_pool = self.gnn_intra_cluster(x=x, edge_index=edge_index, edge_weight=edge_weight)
        x_pool_j = x_pool[edge_index[0]]
        x_q = scatter(x_pool_j, edge_index[1], N, reduce="max")
        x_q = self.lin(x_q)[edge_index[1]]
        score = self.att(torch.cat([x_q, x_pool_j], dim=-1)).view(-1)
        score = F.leaky_relu(score, self.negative_slope)
        score = scatter_softmax(score, edge_index[1], N)
        score = F.dropout(score, p=self.dropout, training=self.training)
        x = scatter(x[edge_index[0]] * score.view(-1, 1), edge_index[1], N, reduce="sum")
        fitness = self.gnn_score(x, edge_index).sigmoid().view(-1)
        perm = self.select(fitness, batch).node_index
        x = x[perm] * fitness[perm].view(-1, 1)
        batch = batch[perm]
        # Pooled adjacency S^T A S (S: the (N, k) cluster assignment of the kept clusters), on torch.sparse.
        A = to_torch_csr_tensor(edge_index, edge_weight, size=(N, N))
        S = to_torch_coo_tensor(edge_index, score, size=(N, N)).index_select(1, perm).to_sparse_csr()
        A = S.t().to_sparse_csr() @ (A @ S)
        if edge_weight is None:
            edge_index, _ = to_edge_index(A)
        else:
            edge_index, edge_weight = to_edge_index(A)
        if self.add_self_loops:
            edge_index, edge_weight = add_remaining_self_loops(edge_index, edge_weight, num_nodes=A.size(0))
        else:
            edge_index, edge_weight = remove_self_loops(edge_index, edge_weight)
        return x, edge_index, edge_weight, batch, perm

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, ratio={self.ratio})"


# ---------------------------------------------------------------------- edge pooling


class UnpoolInfo(NamedTuple):
    edge_index: torch.Tensor
    cluster: torch.Tensor
    batch: torch.Tensor
    new_edge_score: torch.Tensor


class EdgePooling(nn.Module):
    """Edge contraction pooling (Diehl 2019), PyG's EdgePooling: edges scored by lin([x_src, x_dst]) (softmax over
    each target's incoming edges, + add_to_edge_score), then greedily contracted best first; merged node features
    are summed and scaled by the edge score.

    forward(x, edge_index, batch) -> (x, edge_index, batch, unpool_info); unpool(x, unpool_info) undoes it."""

    def __init__(self, in_channels: int, edge_score_method: Callable | None = None, dropout: float = 0.0,
                 add_to_edge_score: float = 0.5):
        super().__init__()
        self.in_channels = in_channels
        if edge_score_method is None:
            edge_score_method = self.compute_edge_score_softmax
        self.compute_edge_score = edge_score_method
        self.add_to_edge_score = add_to_edge_score
        self.dropout = dropout
        self.lin = nn.Linear(2 * in_channels, 1)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin.reset_parameters()

    @staticmethod
    def compute_edge_score_softmax(raw_edge_score: torch.Tensor, edge_index: torch.Tensor,
                                   num_nodes: int) -> torch.Tensor:
        return scatter_softmax(raw_edge_score, edge_index[1], num_nodes)

    @staticmethod
    def compute_edge_score_tanh(raw_edge_score: torch.Tensor, edge_index: torch.Tensor | None = None,
                                num_nodes: int | None = None) -> torch.Tensor:
        return torch.tanh(raw_edge_score)

    @staticmethod
    def compute_edge_score_sigmoid(raw_edge_score: torch.Tensor, edge_index: torch.Tensor | None = None,
                                   num_nodes: int | None = None) -> torch.Tensor:
        return torch.sigmoid(raw_edge_score)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor):
        check_tensor(x, "x", dim=2)
        _check_width(type(self).__name__, x, self.in_channels)
        _check_edges(edge_index)
        _check_batch(batch, x.size(0), x.device)
        e = torch.cat([x[edge_index[0]], x[edge_index[1]]], dim=-1)
        e = self.lin(e).view(-1)
        e = F.dropout(e, p=self.dropout, training=self.training)
        e = self.compute_edge_score(e, edge_index, x.size(0))
        e = e + self.add_to_edge_score
        return self._merge_edges(x, edge_index, batch, e)

    def _merge_edges(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor, edge_score: torch.Tensor):
        # Greedy contraction, best edge first (sequential by nature: each merge removes both ends). Plain Python
        # lists: the same visit order as PyG's loop without per-element tensor reads.
        order = torch.argsort(edge_score, descending=True).tolist()
        src, dst = edge_index.cpu().tolist()
        free = [True] * x.size(0)
        cluster_of = [0] * x.size(0)
        kept: list[int] = []
        i = 0
        for e in order:
            s, t = src[e], dst[e]
            if not free[s] or not free[t]:
                continue
            kept.append(e)
            cluster_of[s] = i
            free[s] = False
            if s != t:
                cluster_of[t] = i
                free[t] = False
            i += 1
        for n, f in enumerate(free):  # unmerged nodes: their own clusters, in node order
            if f:
                cluster_of[n] = i
                i += 1
        cluster = torch.tensor(cluster_of, dtype=batch.dtype, device=x.device)
        new_x = scatter(x, cluster, i, reduce="sum")
        new_edge_score = edge_score[torch.tensor(kept, dtype=torch.long, device=edge_score.device)]
        if i > len(kept):
            new_edge_score = torch.cat([new_edge_score, x.new_ones((i - len(kept),))])
        new_x = new_x * new_edge_score.view(-1, 1)
        new_edge_index = coalesce(cluster[edge_index], num_nodes=i)
        new_batch = x.new_empty(i, dtype=torch.long).scatter_(0, cluster.long(), batch.long())
        info = UnpoolInfo(edge_index=edge_index, cluster=cluster, batch=batch, new_edge_score=new_edge_score)
        return new_x, new_edge_index, new_batch, info

    def unpool(self, x: torch.Tensor, unpool_info: UnpoolInfo):
        new_x = (x / unpool_info.new_edge_score.view(-1, 1))[unpool_info.cluster]
        return new_x, unpool_info.edge_index, unpool_info.batch

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels})"


# ---------------------------------------------------------------------- pooling over a cluster assignment


def consecutive_cluster(src: torch.Tensor):
    """(inv, perm): src relabelled to 0..C-1 in sorted order of the ids, and one node of each cluster (the last)."""
    unique, inv = torch.unique(src, sorted=True, return_inverse=True)
    perm = torch.arange(inv.size(0), dtype=inv.dtype, device=inv.device)
    return inv, inv.new_empty(unique.size(0)).scatter_(0, inv, perm)


def pool_edge(cluster: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
              reduce: str | None = "sum"):
    """Edges mapped onto clusters, self-loops removed, coalesced (edge_attr reduced with `reduce`)."""
    num_nodes = cluster.size(0)
    edge_index = cluster[edge_index.view(-1)].view(2, -1)
    edge_index, edge_attr = remove_self_loops(edge_index, edge_attr)
    if edge_index.numel() > 0:
        edge_index, edge_attr = coalesce(edge_index, edge_attr, num_nodes, reduce=reduce)
    return edge_index, edge_attr


def pool_batch(perm: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    return batch[perm]


def pool_pos(cluster: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    return scatter(pos, cluster, reduce="mean")


def _check_cluster(cluster, x: torch.Tensor | None, name: str = "cluster") -> torch.Tensor:
    check_index_tensor(cluster, name, dim=1)
    if x is not None and cluster.shape[0] != x.shape[0]:
        raise ValueError(f"{name} must have one entry per node ({x.shape[0]}), got {cluster.shape[0]}")
    if cluster.numel() and int(cluster.min()) < 0:
        raise ValueError(f"{name} must hold non-negative cluster ids")
    return cluster


def _pool_x(reduce: str, cluster, x, batch, batch_size, size):
    check_tensor(x, "x", min_dim=1)
    _check_cluster(cluster, x)
    if size is not None:
        if batch_size is None:
            batch_size = int(batch.max().item()) + 1
        return scatter(x, cluster, batch_size * size, reduce=reduce), None
    cluster, perm = consecutive_cluster(cluster)
    return scatter(x, cluster, reduce=reduce), pool_batch(perm, batch)


def avg_pool_x(cluster: torch.Tensor, x: torch.Tensor, batch: torch.Tensor, batch_size: int | None = None,
               size: int | None = None):
    """Mean of x per cluster -> (x, batch). With `size` (clusters per graph), cluster ids are used as they are
    (batch_size * size outputs) and the batch is None; otherwise they are relabelled consecutively."""
    return _pool_x("mean", cluster, x, batch, batch_size, size)


def max_pool_x(cluster: torch.Tensor, x: torch.Tensor, batch: torch.Tensor, batch_size: int | None = None,
               size: int | None = None):
    """Max of x per cluster -> (x, batch), as avg_pool_x."""
    return _pool_x("max", cluster, x, batch, batch_size, size)


def _pool_data(reduce: str, cluster, data, transform):
    from ..records import Batch

    _check_cluster(cluster, None)
    cluster, perm = consecutive_cluster(cluster)
    x = None if data.x is None else scatter(data.x, cluster, reduce=reduce)
    index, attr = pool_edge(cluster, data.edge_index, data.edge_attr)
    batch = None if data.batch is None else pool_batch(perm, data.batch)
    pos = None if data.pos is None else pool_pos(cluster, data.pos)
    data = Batch(batch=batch, x=x, edge_index=index, edge_attr=attr, pos=pos)
    return transform(data) if transform is not None else data


def avg_pool(cluster: torch.Tensor, data, transform: Callable | None = None):
    """Pools a Data/Batch by cluster: x averaged, pos averaged, edges mapped to clusters (coalesced, no
    self-loops, edge_attr summed), batch of each cluster; returns a Batch (then `transform` if given)."""
    return _pool_data("mean", cluster, data, transform)


def max_pool(cluster: torch.Tensor, data, transform: Callable | None = None):
    """As avg_pool with x max-pooled (pos is still averaged, as in PyG)."""
    return _pool_data("max", cluster, data, transform)


def _pool_neighbor_x(reduce: str, data, flow: str | None):
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    x, edge_index = data.x, data.edge_index
    edge_index, _ = add_self_loops(edge_index, num_nodes=data.num_nodes)
    row, col = edge_index
    row, col = (row, col) if flow == "source_to_target" else (col, row)
    data.x = scatter(x[row], col, data.num_nodes, reduce=reduce)
    return data


def avg_pool_neighbor_x(data, flow: str | None = "source_to_target"):
    """data.x replaced by the mean over each node and its neighbours (in place; returns data)."""
    return _pool_neighbor_x("mean", data, flow)


def max_pool_neighbor_x(data, flow: str | None = "source_to_target"):
    """data.x replaced by the max over each node and its neighbours (in place; returns data)."""
    return _pool_neighbor_x("max", data, flow)


# ---------------------------------------------------------------------- global sort pooling


def global_sort_pool(x: torch.Tensor, index: torch.Tensor | None, k: int) -> torch.Tensor:
    """SortPool (Zhang et al. 2018; PyG 2.8's deprecated nn.glob.global_sort_pool = SortAggregation(k)): the rows of
    each graph sorted by their last channel (descending), the first k kept (zero-padded), flattened to
    (B, k * F)."""
    check_tensor(x, "x", dim=2)
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise ValueError(f"global_sort_pool: k must be a positive int, got {k!r}")
    if index is not None:
        _check_batch(index, x.size(0), x.device, "index")
    fill_value = x.detach().min() - 1 if x.numel() else x.new_zeros(())
    batch_x, _ = to_dense_batch(x, index, fill_value=float(fill_value))
    B, N, D = batch_x.size()
    _, perm = batch_x[:, :, -1].sort(dim=-1, descending=True)
    perm = perm + (torch.arange(B, dtype=torch.long, device=perm.device) * N).view(-1, 1)
    batch_x = batch_x.view(B * N, D)[perm].view(B, N, D)
    if N >= k:
        batch_x = batch_x[:, :k].contiguous()
    else:
        batch_x = torch.cat([batch_x, batch_x.new_full((B, k - N, D), float(fill_value))], dim=1)
    batch_x[batch_x == fill_value] = 0
    return batch_x.view(B, k * D)
