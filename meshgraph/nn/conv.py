"""Graph convolution layers with PyG 2.8's constructors, forward signatures, parameter names and shapes (so PyG
state dicts load), on meshgraph's fused kernels. The edge argument is anything `MessagePassing.propagate`
takes: a (2, E) edge_index, a GraphBatch, a `torch.sparse` adj_t or a SparseTensor-like adj_t.

`GraphConv` keeps PyTorch3D's math (out = W0 x + sum_j W1 x_j, the neighbour bias added once per in-edge);
`PyGGraphConv` is PyG's GraphConv (out = lin_rel(sum_j x_j) + lin_root(x), the bias added once).

Layers whose aggregation is a weighted copy of source features (GCN, GAT's attention-weighted sum, SAGE, GIN,
PyGGraphConv) run the fused gather-scatter kernel on the adjacency cached on the edge tensor / GraphBatch;
attention (GATConv) keeps memory at O(E * heads). Layers with per-edge MLPs (EdgeConv, PointNetConv) form their
(E, F) messages by definition and reduce them with the fused segment kernel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.edge_utils import add_remaining_self_loops, add_self_loops, remove_self_loops
from ..ops.gather_scatter import _resolve, aggregate, gather_scatter
from ..ops.neighbor_softmax import neighbor_softmax
from ..ops.scatter import scatter
from ._edges import edge_adjacency, is_graph_batch, is_sparse, is_sparse_tensor_like, is_torch_sparse, read_edges
from .aggr import MultiAggregation, SumAggregation, segment_softmax
from .linear import Linear
from .message_passing import MessagePassing, fused_message


def reset(value) -> None:
    """reset_parameters() of a module, or of each of its children that has one (PyG's `reset`)."""
    if hasattr(value, "reset_parameters"):
        value.reset_parameters()
    else:
        for child in value.children() if hasattr(value, "children") else []:
            reset(child)


def _glorot(t: torch.Tensor | None) -> None:
    if t is not None:
        bound = math.sqrt(6.0 / (t.size(-2) + t.size(-1)))
        with torch.no_grad():
            t.uniform_(-bound, bound)


def _pair(in_channels):
    return (in_channels, in_channels) if isinstance(in_channels, int) else tuple(in_channels)


def _observed(layer: MessagePassing, owner: type) -> bool:
    """True when the layer's forward must go through propagate: a subclass replaced a hook method of `owner`, or
    hooks watch the messages / propagation, or the features are decomposed."""
    t = type(layer)
    return (t.message is not owner.message or t.aggregate is not MessagePassing.aggregate
            or t.update is not MessagePassing.update or layer.decomposed_layers != 1
            or any(getattr(layer, f"_{k}_forward{p}_hooks") for k in ("propagate", "message", "aggregate")
                   for p in ("", "_pre")))


# ---------------------------------------------------------------------- GraphConv (PyTorch3D)


class GraphConv(nn.Module):
    """out = W0 x + sum over neighbours j of W1 x_j (PyTorch3D's GraphConv: W1's bias counts once per in-edge).

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
            return self.w0(x) + gather_scatter(self.w1(x), graph, directed=self.directed, edge_weight=edge_weight, reduce=self.aggr)
        return self.w0(x) + self.w1(gather_scatter(x, graph, directed=self.directed, edge_weight=edge_weight, reduce=self.aggr))

    def extra_repr(self) -> str:
        return f"{self.input_dim}, {self.output_dim}, aggr={self.aggr!r}, directed={self.directed}"


# ---------------------------------------------------------------------- GCN


def gcn_norm(edge_index, edge_weight: torch.Tensor | None = None, num_nodes: int | None = None, improved: bool = False,
             add_self_loops: bool = True, flow: str = "source_to_target", dtype: torch.dtype | None = None):
    """Symmetric GCN normalization D^-1/2 (A + I) D^-1/2 of an edge list (PyG's `gcn_norm`).

    For a (2, E) edge_index: returns (edge_index, edge_weight) with one self loop per node (existing loops keep
    their weight; new loops get 2 if improved else 1 -- when edge_weight is None every edge, loops included,
    weighs 1, as in PyG). For a torch.sparse COO / CSR adj_t: returns (adj_t, None), loops added on the
    diagonal (summed with existing ones)."""
    fill = 2.0 if improved else 1.0
    if is_torch_sparse(edge_index):
        if edge_index.size(0) != edge_index.size(1):
            raise ValueError("gcn_norm needs a square adjacency")
        if edge_index.layout == torch.sparse_csc:
            raise NotImplementedError("Sparse CSC matrices are not yet supported in 'gcn_norm'")
        N = edge_index.size(0)
        e = read_edges(edge_index)
        dst, src, value = e.index_i, e.index_j, e.value
        if add_self_loops:
            loops = torch.arange(N, device=dst.device)
            dst, src = torch.cat([dst, loops]), torch.cat([src, loops])
            value = torch.cat([value, value.new_full((N,), fill)])
        adj = torch.sparse_coo_tensor(torch.stack([dst, src]), value, (N, N)).coalesce()
        dst, src = adj.indices()
        value = adj.values()
        deg = scatter(value, dst, dim_size=N, reduce="sum")
        dinv = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
        adj = torch.sparse_coo_tensor(adj.indices(), dinv[dst] * value * dinv[src], (N, N), is_coalesced=True)
        return (adj.to_sparse_csr() if edge_index.layout == torch.sparse_csr else adj), None
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
    if add_self_loops:
        edge_index, edge_weight = add_remaining_self_loops(edge_index, edge_weight, fill, num_nodes)
    if edge_weight is None:
        edge_weight = torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
    row, col = edge_index[0], edge_index[1]
    deg = scatter(edge_weight, col if flow == "source_to_target" else row, dim_size=num_nodes, reduce="sum")
    dinv = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
    return edge_index, dinv[row] * edge_weight * dinv[col]


class _GCNCache:
    """A propagation operator on the fused kernel: out = A_w h + diag * h, where A_w is the adjacency `adj` with
    per-edge weights `weight` (input edge order; None: 1) and `diag` (N,) a per-node self-loop term (None: 0).
    What GCNConv and the spectral layers keep with cached=True."""

    __slots__ = ("adj", "weight", "diag")

    def __init__(self, adj, weight, diag):
        self.adj, self.weight, self.diag = adj, weight, diag

    def detached(self) -> "_GCNCache":
        return _GCNCache(self.adj, None if self.weight is None else self.weight.detach(),
                         None if self.diag is None else self.diag.detach())

    def propagate(self, h: torch.Tensor, node_dim: int = 0) -> torch.Tensor:
        """One hop on h, whose node axis is node_dim (PyG's batched (B, N, F) static graphs: node_dim=-2)."""
        nd = node_dim % h.dim()
        if nd:
            h = h.movedim(nd, 0)
        out = aggregate(h, self.adj, self.weight, "sum")  # empty graphs included: the output stays attached to h
        if self.diag is not None:
            out = out + self.diag.view(-1, *([1] * (h.dim() - 1))) * h
        return out.movedim(0, nd) if nd else out


def gcn_operator(ref: torch.Tensor, edge_index, edge_weight: torch.Tensor | None, num_nodes: int,
                 flow: str = "source_to_target", normalize: bool = True, add_self_loops: bool = True,
                 improved: bool = False) -> _GCNCache:
    """The propagation of PyG's `gcn_norm` + weighted sum as a `_GCNCache` on the fused kernel: the adjacency
    cached on the edge input, (E,) normalized weights (the input's own loops masked to 0) and the self-loop term
    as a per-node scale, so the looped edge list is never built. `ref` gives dtype and device. Loop rules as PyG:
    a SparseTensor's diagonal is replaced by the fill value, a torch.sparse matrix gets it added, an edge_index
    keeps its loops' weights (all weights 1 when edge_weight is None)."""
    N = num_nodes
    edges = read_edges(edge_index, flow)
    adj = edge_adjacency(edges, N, N, flow)
    w = edges.value if edges.sparse else edge_weight
    if w is not None and w.dtype != ref.dtype:
        w = w.to(ref.dtype)
    diag = None
    if normalize:
        j, i = edges.index_j, edges.index_i
        if w is None:
            w = ref.new_ones(j.numel())
        loop_w = None
        if add_self_loops:
            is_loop = j == i
            fill = 2.0 if improved else 1.0
            if is_sparse_tensor_like(edges.source):  # PyG's fill_diag: loops replaced by fill
                loop_w = ref.new_full((N,), fill)
            elif edges.sparse:  # PyG adds the diagonal to a torch.sparse matrix: existing loops are summed
                loop_w = ref.new_full((N,), fill).index_add_(0, i, torch.where(is_loop, w, 0.0))
            elif edge_weight is None:  # PyG: without edge weights every edge, loops included, weighs 1
                loop_w = ref.new_ones(N)
            else:  # add_remaining_self_loops: a node keeps its loop's weight
                loop_w = ref.new_full((N,), fill)
                loop_w[j[is_loop]] = w[is_loop]
            w = torch.where(is_loop, 0.0, w)
        deg = ref.new_zeros(N).index_add_(0, i, w)
        if loop_w is not None:
            deg = deg + loop_w
        dinv = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
        w = dinv[j] * w * dinv[i]
        if loop_w is not None:
            diag = loop_w * dinv * dinv
    return _GCNCache(adj, w, diag)


class GCNConv(MessagePassing):
    """Kipf & Welling's graph convolution, out = D^-1/2 (A + I) D^-1/2 X W + b (PyG's GCNConv).

    Args:
        in_channels (-1: lazy), out_channels: widths.
        improved: new self loops weigh 2 (only where edge weights are given, as in PyG).
        cached: compute the normalization once and reuse it (one fixed graph).
        add_self_loops: default `normalize`; a loop for every node that has none (existing loops are kept).
        normalize: symmetric normalization on the fly; bias: learn an additive bias.
        **kwargs: MessagePassing's (aggr="add", flow, node_dim, ...).

    The fused path never materializes the looped edge list: it aggregates the edges (their own loops masked)
    on the cached adjacency and adds the self-loop term as a per-node scale.
    """

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False, cached: bool = False,
                 add_self_loops: bool | None = None, normalize: bool = True, bias: bool = True, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if add_self_loops is None:
            add_self_loops = normalize
        if add_self_loops and not normalize:
            raise ValueError(f"'{type(self).__name__}' does not support adding self-loops to the graph when no "
                             f"on-the-fly normalization is applied")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.cached, self.add_self_loops, self.normalize = improved, cached, add_self_loops, normalize
        self._cached_edge_index = None
        self._cached_adj_t = None
        self.lin = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        self._cached_edge_index = None
        self._cached_adj_t = None

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(x, (tuple, list)):
            raise ValueError(f"'{type(self).__name__}' received a tuple of node features as input while this layer "
                             f"does not support bipartite message passing. Please try other layers such as "
                             f"'SAGEConv' or 'GraphConv' instead")
        h = self.lin(x)
        fused = (not _observed(self, GCNConv) and isinstance(self.aggr_module, SumAggregation) and h.dim() == 2
                 and h.layout == torch.strided)
        if fused:
            out = self._fused(h, edge_index, edge_weight)
        else:
            out = self._propagated(x, h, edge_index, edge_weight)
        return out + self.bias if self.bias is not None else out

    def _fused(self, h, edge_index, edge_weight):
        cache = self._cached_edge_index
        if not isinstance(cache, _GCNCache):
            cache = gcn_operator(h, edge_index, edge_weight, h.shape[0], self.flow, self.normalize,
                                 self.add_self_loops, self.improved)
            if self.cached:
                self._cached_edge_index = cache.detached()
        return cache.propagate(h)

    def _propagated(self, x, h, edge_index, edge_weight):
        if self.normalize:
            cache = self._cached_edge_index if not is_sparse(edge_index) else self._cached_adj_t
            if cache is not None and not isinstance(cache, _GCNCache):
                edge_index, edge_weight = cache
            else:
                if is_sparse(edge_index):
                    if is_sparse_tensor_like(edge_index):
                        e = read_edges(edge_index)
                        edge_index = torch.sparse_coo_tensor(torch.stack([e.index_i, e.index_j]),
                                                             e.value if e.value is not None else h.new_ones(e.index_i.numel()),
                                                             (e.size[1], e.size[0]))
                    edge_index, edge_weight = gcn_norm(edge_index, None, x.size(self.node_dim), self.improved,
                                                       self.add_self_loops, self.flow, x.dtype)
                else:
                    edge_index = edge_index.edge_index if is_graph_batch(edge_index) else edge_index
                    edge_index, edge_weight = gcn_norm(edge_index, edge_weight, x.size(self.node_dim), self.improved,
                                                       self.add_self_loops, self.flow, x.dtype)
                if self.cached:
                    if is_sparse(edge_index):
                        self._cached_adj_t = (edge_index, edge_weight)
                    else:
                        self._cached_edge_index = (edge_index, edge_weight)
        return self.propagate(edge_index, x=h, edge_weight=edge_weight)

    @fused_message("edge_weight")
    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j


# ---------------------------------------------------------------------- GAT


def attention_edge_list(layer: MessagePassing, edge_index, edge_attr, x_src: torch.Tensor, x_dst, size):
    """The propagate path of the GAT-style layers (GATConv, GATv2Conv): the edge argument as a (2, E) edge_index
    (a sparse input read in its value order, `size` taken from it; a GraphBatch's edge_index), with PyG's
    remove_self_loops + add_self_loops (fill_value for the loops' edge_attr) when layer.add_self_loops.
    Returns (edge_index, edge_attr, size)."""
    if is_sparse(edge_index):
        if is_sparse_tensor_like(edge_index) and layer.add_self_loops and layer.edge_dim is not None:
            raise NotImplementedError("The usage of 'edge_attr' and 'add_self_loops' simultaneously is currently "
                                      "not yet supported for 'edge_index' in a 'SparseTensor' form")
        e = read_edges(edge_index, layer.flow)
        size = tuple(e.size)
        edge_index = torch.stack([e.index_j, e.index_i])
    elif is_graph_batch(edge_index):
        edge_index = edge_index.edge_index
    if layer.add_self_loops:
        num_nodes = x_src.size(0) if x_dst is None else min(x_src.size(0), x_dst.size(0))
        num_nodes = min(size) if size is not None else num_nodes
        edge_index, edge_attr = remove_self_loops(edge_index, edge_attr)
        edge_index, edge_attr = add_self_loops(edge_index, edge_attr, fill_value=layer.fill_value, num_nodes=num_nodes)
    return edge_index, edge_attr, size


class GATConv(MessagePassing):
    """Graph attention (Velickovic et al. 2018), PyG's GATConv: per-edge scores (E, heads), softmax over each
    node's in-edges, dropout on the coefficients, then one multi-head weighted gather-scatter (memory O(E * heads),
    never E * heads * C).

    Args: PyG's (in_channels: int or (src, dst) pair, -1 lazy; out_channels per head; heads; concat;
    negative_slope; dropout on the attention coefficients; add_self_loops: existing loops are replaced by one loop
    per node; edge_dim; fill_value of the new loops' edge features; bias; residual; **kwargs for MessagePassing),
    plus meshgraph's keyword feature_dropout (taken from kwargs, default 0): dropout on the transformed features
    before aggregation (the GAT authors' implementation).

    forward(x, edge_index, edge_attr=None, size=None, return_attention_weights=None): with
    return_attention_weights=True returns (out, (edge_index, alpha)) for the edges used (loops included); for a
    torch.sparse input (out, (adj, alpha)) with alpha as the adjacency's values.
    """

    def __init__(self, in_channels, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True,
                 edge_dim: int | None = None, fill_value="mean", bias: bool = True,
                 residual: bool = False, **kwargs):
        feature_dropout = kwargs.pop("feature_dropout", 0.0)
        kwargs.setdefault("aggr", "add")
        super().__init__(node_dim=0, **kwargs)
        self.in_channels, self.out_channels, self.heads, self.concat = in_channels, out_channels, heads, concat
        self.negative_slope, self.dropout, self.add_self_loops = negative_slope, dropout, add_self_loops
        self.edge_dim, self.fill_value, self.residual, self.feature_dropout = edge_dim, fill_value, residual, feature_dropout
        self.lin = self.lin_src = self.lin_dst = None
        if isinstance(in_channels, int):
            self.lin = Linear(in_channels, heads * out_channels, bias=False, weight_initializer="glorot")
        else:
            self.lin_src = Linear(in_channels[0], heads * out_channels, False, weight_initializer="glorot")
            self.lin_dst = Linear(in_channels[1], heads * out_channels, False, weight_initializer="glorot")
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        if edge_dim is not None:
            self.lin_edge = Linear(edge_dim, heads * out_channels, bias=False, weight_initializer="glorot")
            self.att_edge = nn.Parameter(torch.empty(1, heads, out_channels))
        else:
            self.lin_edge = None
            self.register_parameter("att_edge", None)
        total = out_channels * (heads if concat else 1)
        if residual:
            self.res = Linear(in_channels if isinstance(in_channels, int) else in_channels[1], total, bias=False,
                              weight_initializer="glorot")
        else:
            self.register_parameter("res", None)
        self.bias = nn.Parameter(torch.empty(total)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin, self.lin_src, self.lin_dst, self.lin_edge, self.res):
            if lin is not None:
                lin.reset_parameters()
        _glorot(self.att_src)
        _glorot(self.att_dst)
        _glorot(self.att_edge)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _project(self, x):
        H, C = self.heads, self.out_channels
        res = None
        if isinstance(x, torch.Tensor):
            if x.dim() != 2:
                raise ValueError("Static graphs not supported in 'GATConv'")
            if self.res is not None:
                res = self.res(x)
            if self.lin is not None:
                x_src = x_dst = self.lin(x).view(-1, H, C)
            else:
                x_src, x_dst = self.lin_src(x).view(-1, H, C), self.lin_dst(x).view(-1, H, C)
        else:
            x_src, x_dst = x
            if x_src.dim() != 2:
                raise ValueError("Static graphs not supported in 'GATConv'")
            if x_dst is not None and self.res is not None:
                res = self.res(x_dst)
            lin_s, lin_d = (self.lin, self.lin) if self.lin is not None else (self.lin_src, self.lin_dst)
            x_src = lin_s(x_src).view(-1, H, C)
            x_dst = lin_d(x_dst).view(-1, H, C) if x_dst is not None else None
        return x_src, x_dst, res

    def _edge_scores(self, edge_attr):
        ea = edge_attr.view(-1, 1) if edge_attr.dim() == 1 else edge_attr
        return (self.lin_edge(ea).view(-1, self.heads, self.out_channels) * self.att_edge).sum(-1)

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, size=None,
                return_attention_weights: bool | None = None):
        x_src, x_dst, res = self._project(x)
        alpha_src = (x_src * self.att_src).sum(-1)
        alpha_dst = None if x_dst is None else (x_dst * self.att_dst).sum(-1)
        square = isinstance(x, torch.Tensor) and (size is None or size[0] == size[1])
        fused = (square and not is_sparse(edge_index) and self.flow == "source_to_target"
                 and type(self).edge_update is GATConv.edge_update and not _observed(self, GATConv)
                 and not self._edge_update_forward_pre_hooks and not self._edge_update_forward_hooks)
        if fused:
            out, used, alpha = self._fused(x_src, alpha_src, alpha_dst, edge_index, edge_attr,
                                           bool(return_attention_weights))
        else:
            out, used, alpha = self._propagated(x_src, x_dst, alpha_src, alpha_dst, edge_index, edge_attr, size)
        out = out.reshape(-1, self.heads * self.out_channels) if self.concat else out.mean(dim=1)
        if res is not None:
            out = out + res
        if self.bias is not None:
            out = out + self.bias
        if return_attention_weights:
            return out, (used, alpha)
        return out

    def _fused(self, x_src, alpha_src, alpha_dst, edge_index, edge_attr, want_weights: bool = True):
        """Scores, softmax and aggregation on the fused ops. The edge list and weights returned are built only when
        wanted (dropping the replaced self loops is a data-dependent mask: a device sync)."""
        N, H = x_src.shape[0], self.heads
        edges = read_edges(edge_index, self.flow)
        j, i = edges.index_j.long(), edges.index_i.long()
        if is_graph_batch(edges.source):
            adj = edges.source.adjacency(directed=True, self_loops=self.add_self_loops)
        else:
            adj = _resolve(edges.edge_index, N, None, x_src.device, self_loops=self.add_self_loops)[0]
        keep = None
        if self.add_self_loops:
            loops = torch.arange(N, device=j.device)
            not_loop = j != i
            keep = torch.cat([not_loop, not_loop.new_ones(N)])
            if edge_attr is not None and self.lin_edge is not None:
                _, with_loops = add_self_loops(torch.stack([j, i])[:, not_loop], edge_attr[not_loop], self.fill_value, N)
                edge_attr = torch.cat([edge_attr, with_loops[with_loops.shape[0] - N:]])
            j, i = torch.cat([j, loops]), torch.cat([i, loops])
        scores = alpha_src[j] + alpha_dst[i]
        if edge_attr is not None and self.lin_edge is not None and j.numel():
            scores = scores + self._edge_scores(edge_attr)
        scores = F.leaky_relu(scores, self.negative_slope)
        if keep is not None:
            scores = scores.masked_fill(~keep[:, None], float("-inf"))
        alpha = neighbor_softmax(scores, adj) if j.numel() else scores
        alpha = F.dropout(alpha, p=self.dropout, training=self.training)
        values = F.dropout(x_src, p=self.feature_dropout, training=self.training) if self.feature_dropout else x_src
        out = aggregate(values, adj, alpha, "sum") if N and j.numel() else values.new_zeros((N, H, self.out_channels))
        if not want_weights:
            return out, None, None
        used = torch.stack([j, i])
        if keep is not None:
            used, alpha = used[:, keep], alpha[keep]
        return out, used, alpha

    def _propagated(self, x_src, x_dst, alpha_src, alpha_dst, edge_index, edge_attr, size):
        sparse = is_sparse(edge_index)
        edge_index, edge_attr, size = attention_edge_list(self, edge_index, edge_attr, x_src, x_dst, size)
        alpha = self.edge_updater(edge_index, alpha=(alpha_src, alpha_dst), edge_attr=edge_attr, size=size)
        values = F.dropout(x_src, p=self.feature_dropout, training=self.training) if self.feature_dropout else x_src
        out = self.propagate(edge_index, x=(values, x_dst), alpha=alpha, size=size)
        used = edge_index
        if sparse:  # the looped adjacency with alpha as values (hybrid (N_dst, N_src, heads)), alpha in its order
            used = torch.sparse_coo_tensor(torch.stack([edge_index[1], edge_index[0]]), alpha,
                                           (size[1], size[0], alpha.shape[1])).coalesce()
            alpha = used.values()
        return out, used, alpha

    def edge_update(self, alpha_j: torch.Tensor, alpha_i: torch.Tensor | None, edge_attr: torch.Tensor | None,
                    index: torch.Tensor, ptr: torch.Tensor | None, dim_size: int | None) -> torch.Tensor:
        alpha = alpha_j if alpha_i is None else alpha_j + alpha_i
        if index.numel() == 0:
            return alpha
        if edge_attr is not None and self.lin_edge is not None:
            alpha = alpha + self._edge_scores(edge_attr)
        alpha = F.leaky_relu(alpha, self.negative_slope)
        alpha = segment_softmax(alpha, index, ptr, dim_size)
        return F.dropout(alpha, p=self.dropout, training=self.training)

    @fused_message("alpha")
    def message(self, x_j: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return alpha.unsqueeze(-1) * x_j

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, heads={self.heads})"


# ---------------------------------------------------------------------- SAGE, GIN, PyG's GraphConv


def _init_eps(layer: nn.Module, eps: float, train_eps: bool) -> None:
    """GIN's eps: a parameter with train_eps, else a buffer (state-dict key "eps" either way)."""
    layer.initial_eps = eps
    if train_eps:
        layer.eps = torch.nn.Parameter(torch.empty(1))
    else:
        layer.register_buffer("eps", torch.empty(1))


class SAGEConv(MessagePassing):
    """GraphSAGE (PyG's SAGEConv): out = lin_l(aggr_j x_j) + lin_r(x_i), optionally L2-normalized.

    Args: in_channels (int or (src, dst) pair; -1 lazy), out_channels, aggr (str, list -> MultiAggregation with
    aggr_kwargs, or an Aggregation), normalize, root_weight, project (lin + ReLU on the sources first), bias.
    For sum / mean with fewer output than input channels the sources are projected before aggregating.
    """

    def __init__(self, in_channels, out_channels: int, aggr="mean", normalize: bool = False, root_weight: bool = True,
                 project: bool = False, bias: bool = True, **kwargs):
        self.in_channels, self.out_channels = in_channels, out_channels
        self.normalize, self.root_weight, self.project = normalize, root_weight, project
        in_pair = _pair(in_channels)
        if aggr == "lstm":
            kwargs.setdefault("aggr_kwargs", {})
            kwargs["aggr_kwargs"].setdefault("in_channels", in_pair[0])
            kwargs["aggr_kwargs"].setdefault("out_channels", in_pair[0])
        super().__init__(aggr, **kwargs)
        if self.project:
            if in_pair[0] <= 0:
                raise ValueError(f"'{type(self).__name__}' does not support lazy initialization with `project=True`")
            self.lin = Linear(in_pair[0], in_pair[0], bias=True)
        if isinstance(self.aggr_module, MultiAggregation):
            aggr_out = self.aggr_module.get_out_channels(in_pair[0])
        else:
            aggr_out = in_pair[0]
        self.lin_l = Linear(aggr_out, out_channels, bias=bias)
        if self.root_weight:
            self.lin_r = Linear(in_pair[1], out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.project:
            self.lin.reset_parameters()
        self.lin_l.reset_parameters()
        if self.root_weight:
            self.lin_r.reset_parameters()

    def forward(self, x, edge_index, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        if self.project and hasattr(self, "lin"):
            x = (self.lin(x[0]).relu(), x[1])
        lin_l = self.lin_l
        if (self.aggr in ("mean", "sum", "add") and not lin_l.is_lazy and lin_l.out_channels < lin_l.in_channels
                and not _observed(self, SAGEConv) and x[0].dim() == 2):
            # Linear maps commute with sums and means: move fewer channels through the kernel.
            out = self.propagate(edge_index, x=(x[0] @ lin_l.weight.t(), x[1]), size=size)
            if lin_l.bias is not None:
                out = out + lin_l.bias
        else:
            out = lin_l(self.propagate(edge_index, x=x, size=size))
        if self.root_weight and x[1] is not None:
            out = out + self.lin_r(x[1])
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"


class GINConv(MessagePassing):
    """Graph isomorphism network layer (PyG's GINConv): out = nn((1 + eps) x_i + sum_j x_j). `eps` is a
    parameter with train_eps, else a buffer (state-dict key "eps" either way). reset_parameters resets `nn`."""

    def __init__(self, nn: torch.nn.Module, eps: float = 0.0, train_eps: bool = False, **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.nn = nn
        _init_eps(self, eps, train_eps)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)
        self.eps.data.fill_(self.initial_eps)

    def forward(self, x, edge_index, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        out = self.propagate(edge_index, x=x, size=size)
        if x[1] is not None:
            out = out + (1 + self.eps) * x[1]
        return self.nn(out)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"


class GINEConv(MessagePassing):
    """GIN with edge features (PyG's GINEConv): out = nn((1 + eps) x_i + sum_j relu(x_j + lin(e_ji))); `lin`
    (edge_dim -> the input width of nn) only when edge_dim is given."""

    def __init__(self, nn: torch.nn.Module, eps: float = 0.0, train_eps: bool = False, edge_dim: int | None = None,
                 **kwargs):
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.nn = nn
        _init_eps(self, eps, train_eps)
        if edge_dim is not None:
            first = self.nn[0] if isinstance(self.nn, torch.nn.Sequential) else self.nn
            if hasattr(first, "in_features"):
                in_channels = first.in_features
            elif hasattr(first, "in_channels"):
                in_channels = first.in_channels
            else:
                raise ValueError("Could not infer input channels from `nn`.")
            self.lin = Linear(edge_dim, in_channels)
        else:
            self.lin = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset(self.nn)
        self.eps.data.fill_(self.initial_eps)
        if self.lin is not None:
            self.lin.reset_parameters()

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        out = self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size)
        if x[1] is not None:
            out = out + (1 + self.eps) * x[1]
        return self.nn(out)

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        if self.lin is None and x_j.size(-1) != edge_attr.size(-1):
            raise ValueError("Node and edge feature dimensionalities do not match. Consider setting the 'edge_dim' "
                             "attribute of 'GINEConv'")
        if self.lin is not None:
            edge_attr = self.lin(edge_attr)
        return (x_j + edge_attr).relu()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"


class PyGGraphConv(MessagePassing):
    """PyG's GraphConv (Morris et al. 2019): out = lin_rel(aggr_j e_ji x_j) + lin_root(x_i), the bias (on
    lin_rel) added once. Exported as `meshgraph.compat.pyg.nn.GraphConv`; meshgraph's own `GraphConv` keeps
    PyTorch3D's math.

    Args: in_channels (int or (src, dst) pair; -1 lazy), out_channels, aggr ("add", "mean", "max", ...), bias.
    forward(x, edge_index, edge_weight=None, size=None).
    """

    def __init__(self, in_channels, out_channels: int, aggr: str = "add", bias: bool = True, **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.in_channels, self.out_channels = in_channels, out_channels
        in_pair = _pair(in_channels)
        self.lin_rel = Linear(in_pair[0], out_channels, bias=bias)
        self.lin_root = Linear(in_pair[1], out_channels, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin_rel.reset_parameters()
        self.lin_root.reset_parameters()

    def forward(self, x, edge_index, edge_weight: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        lin = self.lin_rel
        if (self.aggr in ("add", "sum", "mean") and not lin.is_lazy and lin.out_channels < lin.in_channels
                and not _observed(self, PyGGraphConv) and x[0].dim() == 2):
            out = self.propagate(edge_index, x=(x[0] @ lin.weight.t(), x[1]), edge_weight=edge_weight, size=size)
            if lin.bias is not None:
                out = out + lin.bias
        else:
            out = lin(self.propagate(edge_index, x=x, edge_weight=edge_weight, size=size))
        if x[1] is not None:
            out = out + self.lin_root(x[1])
        return out

    @fused_message("edge_weight")
    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def __repr__(self) -> str:
        name = "GraphConv" if type(self) is PyGGraphConv else type(self).__name__  # PyG's name for PyG's layer
        return f"{name}({self.in_channels}, {self.out_channels})"


# ---------------------------------------------------------------------- per-edge MLPs


class EdgeConv(MessagePassing):
    """DGCNN's edge convolution (PyG's EdgeConv): out_i = aggr_j nn([x_i, x_j - x_i]). The per-edge MLP needs the
    (E, 2F) input by definition; the reduction runs on the fused segment kernel."""

    def __init__(self, nn: torch.nn.Module, aggr: str = "max", **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        self.nn = nn
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)

    def forward(self, x, edge_index) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        return self.propagate(edge_index, x=x)

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor) -> torch.Tensor:
        return self.nn(torch.cat([x_i, x_j - x_i], dim=-1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"


class DynamicEdgeConv(MessagePassing):
    """EdgeConv on the k-nearest-neighbour graph of the features, rebuilt every call (PyG's DynamicEdgeConv).
    forward(x or (x_src, x_dst), batch=None or (batch_src, batch_dst))."""

    def __init__(self, nn: torch.nn.Module, k: int, aggr: str = "max", num_workers: int = 1, **kwargs):
        super().__init__(aggr=aggr, flow="source_to_target", **kwargs)
        self.nn, self.k, self.num_workers = nn, k, num_workers
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset(self.nn)

    def forward(self, x, batch=None) -> torch.Tensor:
        from ..ops.graph_builders import knn

        if isinstance(x, torch.Tensor):
            x = (x, x)
        if x[0].dim() != 2:
            raise ValueError("Static graphs not supported in DynamicEdgeConv")
        b = (batch, batch) if isinstance(batch, torch.Tensor) else (batch if batch is not None else (None, None))
        edge_index = knn(x[0], x[1], self.k, b[0], b[1]).flip([0])
        return self.propagate(edge_index, x=x, size=(x[0].shape[0], x[1].shape[0]))

    def message(self, x_i: torch.Tensor, x_j: torch.Tensor) -> torch.Tensor:
        return self.nn(torch.cat([x_i, x_j - x_i], dim=-1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn}, k={self.k})"


class LocalGlobalConv(MessagePassing):
    """The shared constructor of PointNet-style layers (PointNetConv, PPFConv): local_nn on each message,
    max aggregation by default, global_nn on the result, optional self loops. Not a PyG class: the layers subclass
    it for their shared state only."""

    def __init__(self, local_nn: torch.nn.Module | None = None, global_nn: torch.nn.Module | None = None,
                 add_self_loops: bool = True, **kwargs):
        kwargs.setdefault("aggr", "max")
        super().__init__(**kwargs)
        self.local_nn, self.global_nn, self.add_self_loops = local_nn, global_nn, add_self_loops
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.local_nn is not None:
            reset(self.local_nn)
        if self.global_nn is not None:
            reset(self.global_nn)


class PointNetConv(LocalGlobalConv):
    """PointNet++ set abstraction as a graph layer (PyG's PointNetConv):
    out_i = global_nn(max_j local_nn([x_j, pos_j - pos_i])).

    forward(x (or (x_src, x_dst), None allowed), pos (or (pos_src, pos_dst)), edge_index). add_self_loops
    replaces existing loops by one per node (the first min(N_src, N_dst) nodes).
    """

    def forward(self, x, pos, edge_index) -> torch.Tensor:
        if not isinstance(x, tuple):
            x = (x, None)
        if isinstance(pos, torch.Tensor):
            pos = (pos, pos)
        if self.add_self_loops:
            num_nodes = min(pos[0].size(0), pos[1].size(0))
            if is_sparse(edge_index):
                e = read_edges(edge_index, self.flow)
                edge_index = torch.stack([e.index_j, e.index_i])
            elif is_graph_batch(edge_index):
                edge_index = edge_index.edge_index
            edge_index, _ = remove_self_loops(edge_index)
            edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
        out = self.propagate(edge_index, x=x, pos=pos, size=(pos[0].size(0), pos[1].size(0)))
        return self.global_nn(out) if self.global_nn is not None else out

    def message(self, x_j: torch.Tensor | None, pos_i: torch.Tensor, pos_j: torch.Tensor) -> torch.Tensor:
        msg = pos_j - pos_i
        if x_j is not None:
            msg = torch.cat([x_j, msg], dim=1)
        return self.local_nn(msg) if self.local_nn is not None else msg

    def __repr__(self) -> str:
        return f"{type(self).__name__}(local_nn={self.local_nn}, global_nn={self.global_nn})"


__all__ = ["DynamicEdgeConv", "EdgeConv", "GATConv", "GCNConv", "GINConv", "GINEConv", "GraphConv", "PointNetConv",
           "PyGGraphConv", "SAGEConv", "gcn_norm", "reset"]
