"""Ready models with PyG 2.8's constructors, forwards and state-dict layout (`torch_geometric.nn.models`), on
meshgraph's layers:

- `BasicGNN` and its stacks `GCN`, `GraphSAGE`, `GIN`, `GAT` (`v2=True`: GATv2Conv), `PNA` and
  `EdgeCNN`: `num_layers` convs with norm / activation / dropout between them and optional jumping knowledge
  (`jk`: "last", "cat", "max", "lstm") followed by a linear head. State-dict keys: `convs.<i>.*`, `norms.<i>.*`,
  `jk.lstm.*` / `jk.att.*`, `lin.*` (PyG's); `PNA` (PNAConv layers, edge features supported).
- `JumpingKnowledge` (cat / max / lstm attention over the layers' outputs);
- `InnerProductDecoder`, `GAE`, `VGAE`, `ARGA`, `ARGVA` (graph auto-encoders; negatives from
  `meshgraph.utils_graph.negative_sampling`);
- `LabelPropagation` (propagation on the fused gather-scatter kernel over the GCN-normalized adjacency).

- `Node2Vec` (skip-gram over biased random walks from meshgraph's random_walk op; no pyg-lib needed).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable

import torch
from torch import nn

from .._utils import count_per_index, offsets_from_counts
from ..ops.edge_utils import maybe_num_nodes, sort_edge_index
from ..ops.random_walk import random_walk
from ..utils_graph import negative_sampling, one_hot
from .conv import EdgeConv, GATConv, GCNConv, GINConv, SAGEConv, gcn_norm, reset
from .conv_attention import GATv2Conv
from .conv_edge import PNAConv
from .message_passing import MessagePassing, fused_message
from .mlp import MLP, _activation
from .norm import normalization_resolver

EPS = 1e-15
MAX_LOGSTD = 10


# ---------------------------------------------------------------------- jumping knowledge


class JumpingKnowledge(nn.Module):
    """Combine the per-layer node embeddings xs (a list of (N, C)): "cat" (N, L * C), "max" (element-wise
    maximum) or "lstm" (a bidirectional LSTM scores each layer, softmax over layers, weighted sum; needs channels
    and num_layers). PyG's JumpingKnowledge (Xu et al. 2018)."""

    def __init__(self, mode: str, channels: int | None = None, num_layers: int | None = None) -> None:
        super().__init__()
        self.mode = mode.lower()
        if self.mode not in ("cat", "max", "lstm"):
            raise ValueError(f"mode must be 'cat', 'max' or 'lstm', got {mode!r}")
        if self.mode == "lstm":
            if channels is None:
                raise ValueError("channels cannot be None for lstm")
            if num_layers is None:
                raise ValueError("num_layers cannot be None for lstm")
            hidden = num_layers * channels // 2
            self.lstm = nn.LSTM(channels, hidden, bidirectional=True, batch_first=True)
            self.att = nn.Linear(2 * hidden, 1)
            self.channels, self.num_layers = channels, num_layers
        else:
            self.lstm = self.att = self.channels = self.num_layers = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.lstm is not None:
            self.lstm.reset_parameters()
        if self.att is not None:
            self.att.reset_parameters()

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        if self.mode == "cat":
            return torch.cat(xs, dim=-1)
        if self.mode == "max":
            return torch.stack(xs, dim=-1).max(dim=-1)[0]
        x = torch.stack(xs, dim=1)  # (N, L, C)
        alpha, _ = self.lstm(x)
        alpha = torch.softmax(self.att(alpha).squeeze(-1), dim=-1)
        return (x * alpha.unsqueeze(-1)).sum(dim=1)

    def __repr__(self) -> str:
        if self.mode == "lstm":
            return f"{type(self).__name__}({self.mode}, channels={self.channels}, layers={self.num_layers})"
        return f"{type(self).__name__}({self.mode})"


class HeteroJumpingKnowledge(nn.Module):
    """One JumpingKnowledge per node type: forward({type: [x per layer]}) -> {type: combined}."""

    def __init__(self, types: list[str], mode: str, channels: int | None = None, num_layers: int | None = None):
        super().__init__()
        self.mode = mode.lower()
        self.jk_dict = nn.ModuleDict({key: JumpingKnowledge(mode, channels, num_layers) for key in types})

    def reset_parameters(self) -> None:
        for jk in self.jk_dict.values():
            jk.reset_parameters()

    def forward(self, xs_dict: dict[str, list[torch.Tensor]]) -> dict[str, torch.Tensor]:
        return {key: jk(xs_dict[key]) for key, jk in self.jk_dict.items()}

    def __repr__(self) -> str:
        if self.mode == "lstm":
            jk = next(iter(self.jk_dict.values()))
            return (f"{type(self).__name__}(num_types={len(self.jk_dict)}, mode={self.mode}, "
                    f"channels={jk.channels}, layers={jk.num_layers})")
        return f"{type(self).__name__}(num_types={len(self.jk_dict)}, mode={self.mode})"


# ---------------------------------------------------------------------- basic GNNs


def _trim(layer: int, num_nodes_per_hop, num_edges_per_hop, x, edge_index, value):
    """PyG's trim_to_layer for (2, E) edge lists sorted by hop: before layer `layer`, drop the nodes and edges of
    the last `layer` hops (they no longer reach the seed nodes)."""
    if (num_nodes_per_hop is None) != (num_edges_per_hop is None):
        missing = "num_sampled_nodes_per_hop" if num_nodes_per_hop is None else "num_sampled_edges_per_hop"
        raise ValueError(f"'{missing}' needs to be given")
    if num_nodes_per_hop is None or layer <= 0:
        return x, edge_index, value
    if not isinstance(edge_index, torch.Tensor) or edge_index.layout != torch.strided:
        raise ValueError("trimming needs a (2, E) edge_index tensor")
    x = x.narrow(0, 0, x.size(0) - num_nodes_per_hop[-layer])
    edge_index = edge_index.narrow(1, 0, edge_index.size(1) - num_edges_per_hop[-layer])
    if value is not None:
        value = value.narrow(0, 0, value.size(0) - num_edges_per_hop[-layer])
    return x, edge_index, value


class BasicGNN(nn.Module):
    """A stack of num_layers message-passing layers (PyG's BasicGNN).

    Args:
        in_channels: input width (-1: lazy; a (src, dst) pair for bipartite layers); hidden_channels: the width of
            every hidden layer; num_layers: number of convs; out_channels: the last conv's width (default
            hidden_channels; with jk, the linear head's width instead).
        dropout: after every hidden layer (and on GAT's attention); act / act_kwargs: the activation ("relu", a
            name, a module or callable, None); act_first: activation before the norm.
        norm / norm_kwargs: a norm after every hidden layer ("batch_norm", "layer_norm", "graph_norm", ..., a
            module, or None); norms whose forward takes `batch` get forward's batch and batch_size.
        jk: None, "last", "cat", "max" or "lstm": jumping knowledge over the hidden layers, then a Linear head.
        **kwargs: passed to every conv.
    forward(x, edge_index, edge_weight=None, edge_attr=None, batch=None, batch_size=None,
            num_sampled_nodes_per_hop=None, num_sampled_edges_per_hop=None) -> (N, out_channels).
    """

    supports_edge_weight: bool = False
    supports_edge_attr: bool = False
    supports_norm_batch: bool

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int, out_channels: int | None = None,
                 dropout: float = 0.0, act: str | Callable | None = "relu", act_first: bool = False,
                 act_kwargs: dict[str, Any] | None = None, norm: str | Callable | None = None,
                 norm_kwargs: dict[str, Any] | None = None, jk: str | None = None, **kwargs):
        super().__init__()
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive int, got {num_layers!r}")
        if jk not in (None, "last", "cat", "max", "lstm"):
            raise ValueError(f"jk must be None, 'last', 'cat', 'max' or 'lstm', got {jk!r}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.dropout = nn.Dropout(p=dropout)
        self.act = _activation(act, **(act_kwargs or {}))
        self.jk_mode = jk
        self.act_first = act_first
        self.norm = norm if isinstance(norm, str) else None
        self.norm_kwargs = norm_kwargs
        self.out_channels = out_channels if out_channels is not None else hidden_channels

        def hidden_in(c):
            return (hidden_channels, hidden_channels) if isinstance(c, (tuple, list)) else hidden_channels

        self.convs = nn.ModuleList()
        if num_layers > 1:
            self.convs.append(self.init_conv(in_channels, hidden_channels, **kwargs))
            in_channels = hidden_in(in_channels)
        for _ in range(num_layers - 2):
            self.convs.append(self.init_conv(in_channels, hidden_channels, **kwargs))
            in_channels = hidden_in(in_channels)
        if out_channels is not None and jk is None:
            self._is_conv_to_out = True
            self.convs.append(self.init_conv(in_channels, out_channels, **kwargs))
        else:
            self.convs.append(self.init_conv(in_channels, hidden_channels, **kwargs))

        norm_layer = normalization_resolver(norm, hidden_channels, **(norm_kwargs or {}))
        if norm_layer is None:
            norm_layer = nn.Identity()
        self.supports_norm_batch = hasattr(norm_layer, "forward") and (
            "batch" in inspect.signature(norm_layer.forward).parameters)
        self.norms = nn.ModuleList(copy.deepcopy(norm_layer) for _ in range(num_layers - 1))
        self.norms.append(copy.deepcopy(norm_layer) if jk is not None else nn.Identity())
        if jk is not None and jk != "last":
            self.jk = JumpingKnowledge(jk, hidden_channels, num_layers)
        if jk is not None:
            self.lin = nn.Linear(num_layers * hidden_channels if jk == "cat" else hidden_channels, self.out_channels)

    def init_conv(self, in_channels, out_channels: int, **kwargs) -> MessagePassing:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
        for norm in self.norms:
            if hasattr(norm, "reset_parameters"):
                norm.reset_parameters()
        if hasattr(self, "jk"):
            self.jk.reset_parameters()
        if hasattr(self, "lin"):
            self.lin.reset_parameters()

    def _conv(self, conv, x, edge_index, edge_weight, edge_attr):
        if self.supports_edge_weight and self.supports_edge_attr:
            return conv(x, edge_index, edge_weight=edge_weight, edge_attr=edge_attr)
        if self.supports_edge_weight:
            return conv(x, edge_index, edge_weight=edge_weight)
        if self.supports_edge_attr:
            return conv(x, edge_index, edge_attr=edge_attr)
        return conv(x, edge_index)

    def _post(self, x, norm, batch, batch_size):
        if self.act is not None and self.act_first:
            x = self.act(x)
        x = norm(x, batch, batch_size) if self.supports_norm_batch else norm(x)
        if self.act is not None and not self.act_first:
            x = self.act(x)
        return x

    def forward(self, x: torch.Tensor, edge_index, edge_weight: torch.Tensor | None = None,
                edge_attr: torch.Tensor | None = None, batch: torch.Tensor | None = None,
                batch_size: int | None = None, num_sampled_nodes_per_hop: list[int] | None = None,
                num_sampled_edges_per_hop: list[int] | None = None) -> torch.Tensor:
        if num_sampled_nodes_per_hop is not None and isinstance(edge_weight, torch.Tensor) and isinstance(
                edge_attr, torch.Tensor):
            raise NotImplementedError("'trim_to_layer' functionality does not yet support trimming of both "
                                      "'edge_weight' and 'edge_attr'")
        xs = []
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if num_sampled_nodes_per_hop is not None or num_sampled_edges_per_hop is not None:
                x, edge_index, value = _trim(i, num_sampled_nodes_per_hop, num_sampled_edges_per_hop, x, edge_index,
                                             edge_weight if edge_weight is not None else edge_attr)
                if edge_weight is not None:
                    edge_weight = value
                else:
                    edge_attr = value
            x = self._conv(conv, x, edge_index, edge_weight, edge_attr)
            if i < self.num_layers - 1 or self.jk_mode is not None:
                x = self.dropout(self._post(x, norm, batch, batch_size))
                if hasattr(self, "jk"):
                    xs.append(x)
        x = self.jk(xs) if hasattr(self, "jk") else x
        return self.lin(x) if hasattr(self, "lin") else x

    @torch.no_grad()
    def inference_per_layer(self, layer: int, x: torch.Tensor, edge_index, batch_size: int) -> torch.Tensor:
        """Layer `layer` on a sampled subgraph, for its first batch_size (seed) nodes."""
        x = self.convs[layer](x, edge_index)[:batch_size]
        if layer == self.num_layers - 1 and self.jk_mode is None:
            return x
        if self.act is not None and self.act_first:
            x = self.act(x)
        x = self.norms[layer](x)
        if self.act is not None and not self.act_first:
            x = self.act(x)
        if layer == self.num_layers - 1 and hasattr(self, "lin"):
            x = self.lin(x)
        return x

    @torch.no_grad()
    def inference(self, loader, device=None, embedding_device="cpu", progress_bar: bool = False,
                  cache: bool = False) -> torch.Tensor:
        """Layer-wise full-graph inference over a one-hop neighbour loader (batches with n_id, batch_size and
        edge_index / adj_t; loader.data the full graph). jk must be None or "last"; eval mode only."""
        if self.jk_mode not in (None, "last"):
            raise ValueError("inference needs jk=None or jk='last'")
        if self.training:
            raise RuntimeError("inference runs in eval mode (call model.eval())")
        x_all = loader.data.x.to(embedding_device)
        for i in range(self.num_layers):
            xs = []
            for batch in loader:
                x = x_all[batch.n_id].to(device)
                adj = batch.adj_t if hasattr(batch, "adj_t") else batch.edge_index
                xs.append(self.inference_per_layer(i, x, adj.to(device), batch.batch_size).to(embedding_device))
            x_all = torch.cat(xs, dim=0)
        return x_all

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_layers={self.num_layers})"


class GCN(BasicGNN):
    """BasicGNN of GCNConv layers (edge_weight is passed on)."""

    supports_edge_weight = True
    supports_edge_attr = False

    def init_conv(self, in_channels: int, out_channels: int, **kwargs) -> MessagePassing:
        return GCNConv(in_channels, out_channels, **kwargs)


class GraphSAGE(BasicGNN):
    """BasicGNN of SAGEConv layers."""

    supports_edge_weight = False
    supports_edge_attr = False

    def init_conv(self, in_channels, out_channels: int, **kwargs) -> MessagePassing:
        return SAGEConv(in_channels, out_channels, **kwargs)


class GIN(BasicGNN):
    """BasicGNN of GINConv layers, each with a 2-layer MLP [in, out, out] (the model's act and norm)."""

    supports_edge_weight = False
    supports_edge_attr = False

    def init_conv(self, in_channels: int, out_channels: int, **kwargs) -> MessagePassing:
        mlp = MLP([in_channels, out_channels, out_channels], act=self.act, act_first=self.act_first, norm=self.norm,
                  norm_kwargs=self.norm_kwargs)
        return GINConv(mlp, **kwargs)


class GAT(BasicGNN):
    """BasicGNN of GATConv layers (v2=True: GATv2Conv). heads (default 1) and concat (default True) are taken
    from kwargs: hidden widths are split over the heads (out_channels must be divisible by heads); the last layer
    averages its heads when it maps to out_channels. The model's dropout also drops attention coefficients."""

    supports_edge_weight = False
    supports_edge_attr = True

    def init_conv(self, in_channels, out_channels: int, **kwargs) -> MessagePassing:
        v2 = kwargs.pop("v2", False)
        heads = kwargs.pop("heads", 1)
        concat = kwargs.pop("concat", True)
        if getattr(self, "_is_conv_to_out", False):
            concat = False
        if concat and out_channels % heads != 0:
            raise ValueError(f"Ensure that the number of output channels of 'GATConv' (got '{out_channels}') is "
                             f"divisible by the number of heads (got '{heads}')")
        if concat:
            out_channels = out_channels // heads
        conv = GATv2Conv if v2 else GATConv
        return conv(in_channels, out_channels, heads=heads, concat=concat, dropout=self.dropout.p, **kwargs)


class EdgeCNN(BasicGNN):
    """BasicGNN of EdgeConv layers, each with a 2-layer MLP [2 * in, out, out] (the model's act and norm)."""

    supports_edge_weight = False
    supports_edge_attr = False

    def init_conv(self, in_channels: int, out_channels: int, **kwargs) -> MessagePassing:
        mlp = MLP([2 * in_channels, out_channels, out_channels], act=self.act, act_first=self.act_first,
                  norm=self.norm, norm_kwargs=self.norm_kwargs)
        return EdgeConv(mlp, **kwargs)


class PNA(BasicGNN):
    """BasicGNN of PNAConv layers (Corso et al. 2020); kwargs (aggregators, scalers, deg, edge_dim, towers, ...)
    go to every PNAConv."""

    supports_edge_weight = False
    supports_edge_attr = True

    def init_conv(self, in_channels: int, out_channels: int, **kwargs) -> MessagePassing:
        return PNAConv(in_channels, out_channels, **kwargs)


# ---------------------------------------------------------------------- auto-encoders


class InnerProductDecoder(nn.Module):
    """Edge scores sigmoid(z_i . z_j) (Kipf & Welling's GAE decoder)."""

    def forward(self, z: torch.Tensor, edge_index: torch.Tensor, sigmoid: bool = True) -> torch.Tensor:
        """(E,) scores of the pairs edge_index[:, e]."""
        value = (z[edge_index[0]] * z[edge_index[1]]).sum(dim=1)
        return torch.sigmoid(value) if sigmoid else value

    def forward_all(self, z: torch.Tensor, sigmoid: bool = True) -> torch.Tensor:
        """(N, N) scores of all pairs."""
        adj = torch.matmul(z, z.t())
        return torch.sigmoid(adj) if sigmoid else adj


class GAE(nn.Module):
    """Graph auto-encoder: encode with `encoder`, decode edge probabilities with `decoder` (default
    InnerProductDecoder); recon_loss is the binary cross-entropy of positive edges and sampled negatives."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module | None = None):
        super().__init__()
        self.encoder = encoder
        self.decoder = InnerProductDecoder() if decoder is None else decoder
        GAE.reset_parameters(self)

    def reset_parameters(self) -> None:
        reset(self.encoder)
        reset(self.decoder)

    def forward(self, *args, **kwargs) -> torch.Tensor:
        return self.encoder(*args, **kwargs)

    def encode(self, *args, **kwargs) -> torch.Tensor:
        return self.encoder(*args, **kwargs)

    def decode(self, *args, **kwargs) -> torch.Tensor:
        return self.decoder(*args, **kwargs)

    def recon_loss(self, z: torch.Tensor, pos_edge_index: torch.Tensor,
                   neg_edge_index: torch.Tensor | None = None) -> torch.Tensor:
        """-log p(pos) - log(1 - p(neg)), each averaged; neg_edge_index default: negative_sampling of the
        positives (as many)."""
        pos_loss = -torch.log(self.decoder(z, pos_edge_index, sigmoid=True) + EPS).mean()
        if neg_edge_index is None:
            neg_edge_index = negative_sampling(pos_edge_index, z.size(0))
        neg_loss = -torch.log(1 - self.decoder(z, neg_edge_index, sigmoid=True) + EPS).mean()
        return pos_loss + neg_loss

    def test(self, z: torch.Tensor, pos_edge_index: torch.Tensor, neg_edge_index: torch.Tensor):
        """(ROC AUC, average precision) of the decoder on positive vs negative edges (scikit-learn)."""
        from sklearn.metrics import average_precision_score, roc_auc_score

        y = torch.cat([z.new_ones(pos_edge_index.size(1)), z.new_zeros(neg_edge_index.size(1))], dim=0)
        pred = torch.cat([self.decoder(z, pos_edge_index, sigmoid=True),
                          self.decoder(z, neg_edge_index, sigmoid=True)], dim=0)
        y, pred = y.detach().cpu().numpy(), pred.detach().cpu().numpy()
        return roc_auc_score(y, pred), average_precision_score(y, pred)


class VGAE(GAE):
    """Variational graph auto-encoder: the encoder returns (mu, logstd); encode samples z in training
    (mu in eval); kl_loss is the KL divergence to N(0, I)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module | None = None):
        super().__init__(encoder, decoder)

    def reparametrize(self, mu: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
        if self.training:
            return mu + torch.randn_like(logstd) * torch.exp(logstd)
        return mu

    def encode(self, *args, **kwargs) -> torch.Tensor:
        self.__mu__, self.__logstd__ = self.encoder(*args, **kwargs)
        self.__logstd__ = self.__logstd__.clamp(max=MAX_LOGSTD)
        return self.reparametrize(self.__mu__, self.__logstd__)

    def kl_loss(self, mu: torch.Tensor | None = None, logstd: torch.Tensor | None = None) -> torch.Tensor:
        mu = self.__mu__ if mu is None else mu
        logstd = self.__logstd__ if logstd is None else logstd.clamp(max=MAX_LOGSTD)
        return -0.5 * torch.mean(torch.sum(1 + 2 * logstd - mu ** 2 - logstd.exp() ** 2, dim=1))


class ARGA(GAE):
    """Adversarially regularized graph auto-encoder: a `discriminator` tells N(0, I) samples from embeddings."""

    def __init__(self, encoder: nn.Module, discriminator: nn.Module, decoder: nn.Module | None = None):
        super().__init__(encoder, decoder)
        self.discriminator = discriminator
        reset(self.discriminator)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.discriminator)

    def reg_loss(self, z: torch.Tensor) -> torch.Tensor:
        real = torch.sigmoid(self.discriminator(z))
        return -torch.log(real + EPS).mean()

    def discriminator_loss(self, z: torch.Tensor) -> torch.Tensor:
        real = torch.sigmoid(self.discriminator(torch.randn_like(z)))
        fake = torch.sigmoid(self.discriminator(z.detach()))
        return -torch.log(real + EPS).mean() - torch.log(1 - fake + EPS).mean()


class ARGVA(ARGA):
    """ARGA with a variational encoder (a VGAE sharing encoder and decoder)."""

    def __init__(self, encoder: nn.Module, discriminator: nn.Module, decoder: nn.Module | None = None):
        super().__init__(encoder, discriminator, decoder)
        self.VGAE = VGAE(encoder, decoder)

    @property
    def __mu__(self) -> torch.Tensor:
        return self.VGAE.__mu__

    @property
    def __logstd__(self) -> torch.Tensor:
        return self.VGAE.__logstd__

    def reparametrize(self, mu: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
        return self.VGAE.reparametrize(mu, logstd)

    def encode(self, *args, **kwargs) -> torch.Tensor:
        return self.VGAE.encode(*args, **kwargs)

    def kl_loss(self, mu: torch.Tensor | None = None, logstd: torch.Tensor | None = None) -> torch.Tensor:
        return self.VGAE.kl_loss(mu, logstd)


# ---------------------------------------------------------------------- label propagation


class LabelPropagation(MessagePassing):
    """Label propagation (Zhu & Ghahramani; PyG's LabelPropagation): out <- alpha * A_hat out + (1 - alpha) y,
    num_layers times, clamped to [0, 1] (or post_step) after each. y: (N,) class ids (one-hot encoded) or (N, C)
    soft labels; mask: the nodes whose labels are known (others start at 0); edge_weight default: the symmetric
    GCN normalization without self loops. Runs on the fused gather-scatter kernel; no gradients."""

    def __init__(self, num_layers: int, alpha: float):
        super().__init__(aggr="add")
        self.num_layers = num_layers
        self.alpha = alpha

    @torch.no_grad()
    def forward(self, y: torch.Tensor, edge_index, mask: torch.Tensor | None = None,
                edge_weight: torch.Tensor | None = None,
                post_step: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        if y.dtype == torch.long and y.size(0) == y.numel():
            y = one_hot(y.view(-1))
        out = y
        if mask is not None:
            out = torch.zeros_like(y)
            out[mask] = y[mask]
        if isinstance(edge_index, torch.Tensor) and edge_weight is None:  # (2, E) or torch.sparse adj_t
            edge_index, edge_weight = gcn_norm(edge_index, num_nodes=y.size(0), add_self_loops=False)
        res = (1 - self.alpha) * out
        for _ in range(self.num_layers):
            out = self.propagate(edge_index, x=out, edge_weight=edge_weight)
            out.mul_(self.alpha).add_(res)
            out = post_step(out) if post_step is not None else out.clamp_(0.0, 1.0)
        return out

    @fused_message("edge_weight")
    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_layers={self.num_layers}, alpha={self.alpha})"



# ---------------------------------------------------------------------- node2vec


class Node2Vec(nn.Module):
    """Node2Vec (Grover & Leskovec 2016) with PyG 2.8's constructor, methods and state dict (`embedding.weight`).

    Walks of `walk_length` nodes (p: return, q: in-out parameter) come from meshgraph's random_walk op on the
    graph's CSR (kept on the CPU, as PyG keeps it); every window of `context_size` consecutive nodes of a walk is a
    positive sample, windows of uniformly drawn nodes after the start node the negatives. `loss` is the
    skip-gram loss with negative sampling; `test` fits a logistic regression (scikit-learn) on the embeddings."""

    def __init__(self, edge_index: torch.Tensor, embedding_dim: int, walk_length: int, context_size: int,
                 walks_per_node: int = 1, p: float = 1.0, q: float = 1.0, num_negative_samples: int = 1,
                 num_nodes: int | None = None, sparse: bool = False):
        super().__init__()
        if walk_length < context_size:
            raise ValueError(f"walk_length ({walk_length}) must be >= context_size ({context_size})")
        if context_size < 1:
            raise ValueError(f"context_size must be >= 1, got {context_size}")
        self.num_nodes = maybe_num_nodes(edge_index, num_nodes)
        row, col = sort_edge_index(edge_index, num_nodes=self.num_nodes).cpu()
        self.rowptr, self.col = offsets_from_counts(count_per_index(row, self.num_nodes)), col
        self.EPS = 1e-15
        self.embedding_dim = embedding_dim
        self.walk_length = walk_length - 1
        self.context_size = context_size
        self.walks_per_node = walks_per_node
        self.p, self.q = p, q
        self.num_negative_samples = num_negative_samples
        self.embedding = nn.Embedding(self.num_nodes, embedding_dim, sparse=sparse)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.embedding.reset_parameters()

    def forward(self, batch: torch.Tensor | None = None) -> torch.Tensor:
        """The embeddings of the nodes in `batch` (all nodes when None)."""
        emb = self.embedding.weight
        return emb if batch is None else emb[batch]

    def loader(self, **kwargs) -> torch.utils.data.DataLoader:
        """A DataLoader over the node ids whose batches are `sample`'s (positive, negative) walk windows."""
        return torch.utils.data.DataLoader(range(self.num_nodes), collate_fn=self.sample, **kwargs)

    def random_walk_fn(self, start: torch.Tensor) -> torch.Tensor:
        return random_walk(self.rowptr, self.col, start.to(self.rowptr.device), self.walk_length, self.p, self.q)

    def _windows(self, rw: torch.Tensor) -> torch.Tensor:
        n = 1 + self.walk_length + 1 - self.context_size
        return torch.cat([rw[:, j:j + self.context_size] for j in range(n)], dim=0)

    def pos_sample(self, batch: torch.Tensor) -> torch.Tensor:
        return self._windows(self.random_walk_fn(batch.repeat(self.walks_per_node)))

    def neg_sample(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.repeat(self.walks_per_node * self.num_negative_samples)
        rw = torch.randint(self.num_nodes, (batch.size(0), self.walk_length), dtype=batch.dtype, device=batch.device)
        return self._windows(torch.cat([batch.view(-1, 1), rw], dim=-1))

    def sample(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(batch, torch.Tensor):
            batch = torch.tensor(batch)
        return self.pos_sample(batch), self.neg_sample(batch)

    def _scores(self, rw: torch.Tensor) -> torch.Tensor:
        rw = rw.to(self.embedding.weight.device)
        h_start = self.embedding(rw[:, 0]).view(rw.size(0), 1, self.embedding_dim)
        h_rest = self.embedding(rw[:, 1:].reshape(-1)).view(rw.size(0), -1, self.embedding_dim)
        return (h_start * h_rest).sum(dim=-1).view(-1)

    def loss(self, pos_rw: torch.Tensor, neg_rw: torch.Tensor) -> torch.Tensor:
        """-mean log sigmoid(positive scores) - mean log(1 - sigmoid(negative scores))."""
        pos_loss = -torch.log(torch.sigmoid(self._scores(pos_rw)) + self.EPS).mean()
        neg_loss = -torch.log(1 - torch.sigmoid(self._scores(neg_rw)) + self.EPS).mean()
        return pos_loss + neg_loss

    def test(self, train_z: torch.Tensor, train_y: torch.Tensor, test_z: torch.Tensor, test_y: torch.Tensor,
             solver: str = "lbfgs", *args, **kwargs) -> float:
        """Accuracy of a logistic regression (scikit-learn) fitted on (train_z, train_y), on (test_z, test_y)."""
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(*args, solver=solver, **kwargs).fit(train_z.detach().cpu().numpy(),
                                                                     train_y.detach().cpu().numpy())
        return clf.score(test_z.detach().cpu().numpy(), test_y.detach().cpu().numpy())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.embedding.weight.size(0)}, {self.embedding.weight.size(1)})"


__all__ = ["ARGA", "ARGVA", "BasicGNN", "EdgeCNN", "GAE", "GAT", "GCN", "GIN", "GraphSAGE", "HeteroJumpingKnowledge",
           "InnerProductDecoder", "JumpingKnowledge", "LabelPropagation", "Node2Vec", "PNA", "VGAE"]
