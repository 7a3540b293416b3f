"""Dense-adjacency layers and pooling (PyG 2.8's `nn.dense`): DenseGCNConv, DenseSAGEConv, DenseGINConv,
DenseGraphConv, dense_diff_pool, dense_mincut_pool and DMoNPooling.

Inputs are batched: x (B, N, F) (or (N, F)), adj (B, N, N) (or (N, N)), mask (B, N) bool of the real nodes, as
`meshgraph.ops.edge_utils.to_dense_batch` / `to_dense_adj` produce them. Same parameters (names, shapes,
initialisation), outputs and return tuples as PyG; a wrong width or a mismatched adj / mask shape is a
ValueError naming the argument and the layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._utils import check_tensor
from .conv import reset
from .linear import Linear
from .mlp import MLP

__all__ = ["DMoNPooling", "DenseGCNConv", "DenseGINConv", "DenseGraphConv", "DenseSAGEConv", "dense_diff_pool",
           "dense_mincut_pool"]

EPS = 1e-15


def _batched(x: torch.Tensor, adj: torch.Tensor, where: str, width: int | None = None, mask=None,
             s: torch.Tensor | None = None):
    """x, adj (and s) with a batch dim; checks that they agree with each other and with mask."""
    check_tensor(x, "x", dim=(2, 3))
    check_tensor(adj, "adj", dim=(2, 3))
    x = x.unsqueeze(0) if x.dim() == 2 else x
    adj = adj.unsqueeze(0) if adj.dim() == 2 else adj
    B, N = x.shape[0], x.shape[1]
    if width is not None and x.shape[-1] != width:
        raise ValueError(f"{where} expects x with {width} channels (in_channels), got shape {tuple(x.shape)}")
    if adj.shape[-1] != adj.shape[-2] or adj.shape[-1] != N or adj.shape[0] not in (1, B):
        raise ValueError(f"{where}: adj must be (B, N, N) matching x (B={B}, N={N}), got shape {tuple(adj.shape)}")
    if mask is not None:
        check_tensor(mask, "mask")
        if mask.numel() not in (B * N, adj.shape[0] * N):  # (N,) broadcasts with an unbatched adj, as in PyG
            raise ValueError(f"{where}: mask must be (B, N) = ({B}, {N}), got shape {tuple(mask.shape)}")
    if s is not None:
        check_tensor(s, "s", dim=(2, 3))
        s = s.unsqueeze(0) if s.dim() == 2 else s
        if s.shape[:2] != x.shape[:2]:
            raise ValueError(f"{where}: s must be (B, N, C) matching x (B={B}, N={N}), got shape {tuple(s.shape)}")
    return x, adj, s


def _masked(out: torch.Tensor, mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    return out if mask is None else out * mask.view(-1, out.shape[1], 1).to(dtype)


class DenseGCNConv(nn.Module):
    """GCN on a dense adjacency: D^-1/2 (A + I) D^-1/2 X W (+ bias); the diagonal is set to 1 (2 if improved)
    when add_loop; degrees are clamped to >= 1 (PyG's DenseGCNConv)."""

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False, bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels, self.improved = in_channels, out_channels, improved
        self.lin = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin.reset_parameters()
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor | None = None,
                add_loop: bool = True) -> torch.Tensor:
        x, adj, _ = _batched(x, adj, type(self).__name__, self.in_channels, mask)
        N = adj.shape[-1]
        if add_loop:
            adj = adj.clone()
            diag = torch.arange(N, device=adj.device)
            adj[:, diag, diag] = 2 if self.improved else 1
        d = adj.sum(dim=-1).clamp(min=1).pow(-0.5)
        out = torch.matmul(d.unsqueeze(-1) * adj * d.unsqueeze(-2), self.lin(x))
        if self.bias is not None:
            out = out + self.bias
        return _masked(out, mask, x.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


class _RelRoot(nn.Module):
    """lin_rel (on the aggregated neighbours) and lin_root (on the node itself), torch.nn.Linear each."""

    def __init__(self, in_channels: int, out_channels: int, rel_bias: bool, root_bias: bool):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin_rel = nn.Linear(in_channels, out_channels, bias=rel_bias)
        self.lin_root = nn.Linear(in_channels, out_channels, bias=root_bias)
        self.reset_parameters()

    def reset_parameters(self):
        self.lin_rel.reset_parameters()
        self.lin_root.reset_parameters()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


class DenseSAGEConv(_RelRoot):
    """GraphSAGE (mean) on a dense adjacency: lin_rel(A X / deg) + lin_root(X), optionally L2-normalised
    (PyG's DenseSAGEConv)."""

    def __init__(self, in_channels: int, out_channels: int, normalize: bool = False, bias: bool = True):
        self.normalize = normalize
        super().__init__(in_channels, out_channels, rel_bias=False, root_bias=bias)

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x, adj, _ = _batched(x, adj, type(self).__name__, self.in_channels, mask)
        agg = torch.matmul(adj, x) / adj.sum(dim=-1, keepdim=True).clamp(min=1)
        out = self.lin_rel(agg) + self.lin_root(x)
        if self.normalize:
            out = F.normalize(out, p=2.0, dim=-1)
        return _masked(out, mask, x.dtype)


class DenseGINConv(nn.Module):
    """GIN on a dense adjacency: nn((1 + eps) X + A X) (the root term only when add_loop), PyG's DenseGINConv."""

    def __init__(self, nn: nn.Module, eps: float = 0.0, train_eps: bool = False):
        super().__init__()
        self.nn = nn
        self.initial_eps = eps
        if train_eps:
            self.eps = torch.nn.Parameter(torch.empty(1))
        else:
            self.register_buffer("eps", torch.empty(1))
        self.reset_parameters()

    def reset_parameters(self):
        reset(self.nn)
        self.eps.data.fill_(self.initial_eps)

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor | None = None,
                add_loop: bool = True) -> torch.Tensor:
        x, adj, _ = _batched(x, adj, type(self).__name__, None, mask)
        out = torch.matmul(adj, x)
        if add_loop:
            out = (1 + self.eps) * x + out
        return _masked(self.nn(out), mask, x.dtype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(nn={self.nn})"


class DenseGraphConv(_RelRoot):
    """GraphConv (Morris et al.) on a dense adjacency: lin_rel(aggr of neighbours) + lin_root(X), aggr "add"
    (A X), "mean" (A X / deg) or "max" (over the nodes j with A[j, i] != 0, as PyG; 0 when there is none)."""

    def __init__(self, in_channels: int, out_channels: int, aggr: str = "add", bias: bool = True):
        if aggr not in ("add", "mean", "max"):
            raise ValueError(f"DenseGraphConv: aggr must be 'add', 'mean' or 'max', got {aggr!r}")
        self.aggr = aggr
        super().__init__(in_channels, out_channels, rel_bias=bias, root_bias=False)

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x, adj, _ = _batched(x, adj, type(self).__name__, self.in_channels, mask)
        if self.aggr == "max":
            # out[b, i] = max over j with adj[b, j, i] != 0 of x[b, j]; rows of i in chunks bound the (B, N, n, C)
            # temporary.
            B, N, C = x.shape
            adj = adj.expand(B, N, N)
            parts = []
            step = max(1, (1 << 22) // max(1, B * N * C))
            for i0 in range(0, N, step):
                has = (adj[:, :, i0:i0 + step] != 0).unsqueeze(-1)  # (B, N_j, n, 1)
                vals = torch.where(has, x.unsqueeze(2), x.new_full((), float("-inf")))
                parts.append(vals.amax(dim=1))
            out = torch.cat(parts, dim=1) if parts else x.new_zeros(B, 0, C)
            out = out.masked_fill(out == float("-inf"), 0.0)
        else:
            out = torch.matmul(adj, x)
            if self.aggr == "mean":
                out = out / adj.sum(dim=-1, keepdim=True).clamp(min=1)
        out = self.lin_rel(out) + self.lin_root(x)
        return _masked(out, mask, x.dtype)


def _rank3_trace(x: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)


def _orthogonality(s: torch.Tensor) -> torch.Tensor:
    """mean over graphs of || S^T S / ||S^T S||_F - I / ||I||_F ||_F."""
    ss = torch.matmul(s.transpose(1, 2), s)
    eye = torch.eye(s.shape[-1], dtype=ss.dtype, device=ss.device)
    return torch.norm(ss / torch.norm(ss, dim=(-1, -2), keepdim=True) - eye / torch.norm(eye), dim=(-1, -2)).mean()


def _normalised_pooled_adj(out_adj: torch.Tensor) -> torch.Tensor:
    """Pooled adjacency with a zero diagonal, symmetrically normalised by its degrees."""
    C = out_adj.shape[-1]
    diag = torch.arange(C, device=out_adj.device)
    out_adj[:, diag, diag] = 0
    d = torch.sqrt(out_adj.sum(dim=-1))[:, None] + EPS
    return out_adj / d / d.transpose(1, 2)


def _soft_assign(x: torch.Tensor, adj: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor | None):
    """S = softmax(logits) (rows of padded nodes zeroed with x's) -> (S, S^T, S^T X, S^T A S)."""
    s = torch.softmax(logits, dim=-1)
    if mask is not None:
        m = mask.view(x.shape[0], x.shape[1], 1).to(x.dtype)
        x, s = x * m, s * m
    st = s.transpose(1, 2)
    return s, st, torch.matmul(st, x), torch.matmul(torch.matmul(st, adj), s)


def dense_diff_pool(x: torch.Tensor, adj: torch.Tensor, s: torch.Tensor, mask: torch.Tensor | None = None,
                    normalize: bool = True):
    """DiffPool (Ying et al. 2018): S = softmax(s); returns (S^T X, S^T A S, link loss ||A - S S^T||_F (divided
    by adj.numel() when normalize), entropy loss), PyG's dense_diff_pool."""
    x, adj, s = _batched(x, adj, "dense_diff_pool", None, mask, s)
    s, st, out, out_adj = _soft_assign(x, adj, s, mask)
    link_loss = torch.norm(adj - torch.matmul(s, st), p=2)
    if normalize is True:
        link_loss = link_loss / adj.numel()
    ent_loss = (-s * torch.log(s + EPS)).sum(dim=-1).mean()
    return out, out_adj, link_loss, ent_loss


def dense_mincut_pool(x: torch.Tensor, adj: torch.Tensor, s: torch.Tensor, mask: torch.Tensor | None = None,
                      temp: float = 1.0):
    """MinCutPool (Bianchi et al. 2020): S = softmax(s / temp); returns (S^T X, normalised S^T A S with a zero
    diagonal, mincut loss, orthogonality loss), PyG's dense_mincut_pool."""
    x, adj, s = _batched(x, adj, "dense_mincut_pool", None, mask, s)
    s, st, out, out_adj = _soft_assign(x, adj, s / temp if temp != 1.0 else s, mask)
    num = _rank3_trace(out_adj)
    deg = adj.sum(dim=-1)  # (B, N): S^T D S without building D
    den = _rank3_trace(torch.matmul(st * deg.unsqueeze(1), s))
    mincut_loss = torch.mean(-(num / den))
    return out, _normalised_pooled_adj(out_adj), mincut_loss, _orthogonality(s)


class DMoNPooling(nn.Module):
    """Deep Modularity Networks pooling (Tsitsulin et al. 2023): S = softmax(MLP(x)) over k clusters; returns
    (S, selu(S^T X), normalised S^T A S, spectral loss, orthogonality loss, cluster loss), PyG's DMoNPooling."""

    def __init__(self, channels: int | list[int], k: int, dropout: float = 0.0):
        super().__init__()
        if isinstance(channels, int):
            channels = [channels]
        self.mlp = MLP(list(channels) + [k], act=None, norm=None)
        self.dropout = dropout
        self.reset_parameters()

    def reset_parameters(self):
        self.mlp.reset_parameters()

    def forward(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor | None = None):
        x, adj, _ = _batched(x, adj, type(self).__name__, self.mlp.in_channels, mask)
        s = self.mlp(x)
        s = F.dropout(s, self.dropout, training=self.training)
        s = torch.softmax(s, dim=-1)
        B, N = x.shape[:2]
        C = s.shape[-1]
        if mask is None:
            mask = torch.ones(B, N, dtype=torch.bool, device=x.device)
        m = mask.view(B, N, 1).to(x.dtype)
        x, s = x * m, s * m
        st = s.transpose(1, 2)
        out = F.selu(torch.matmul(st, x))
        out_adj = torch.matmul(torch.matmul(st, adj), s)
        degrees = adj.sum(dim=-1).unsqueeze(-1) * m  # (B, N, 1)
        edges = degrees.sum(dim=(1, 2)) / 2  # (B,)
        ca = torch.matmul(st, degrees)  # (B, C, 1)
        normalizer = torch.matmul(ca, degrees.transpose(1, 2) @ s) / 2 / edges.view(-1, 1, 1)
        spectral_loss = (-_rank3_trace(out_adj - normalizer) / 2 / edges).mean()
        eye_norm = torch.sqrt(torch.tensor(float(C), dtype=s.dtype, device=s.device))
        # (B,) / (B, 1) broadcasts to (B, B) before the mean, exactly as PyG computes it
        cluster_loss = torch.norm(s.sum(dim=1), dim=1) / m.sum(dim=1) * eye_norm - 1
        return s, out, _normalised_pooled_adj(out_adj), spectral_loss, _orthogonality(s), cluster_loss.mean()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.mlp.in_channels}, num_clusters={self.mlp.out_channels})"
