"""Normalization layers over node features, PyG's `torch_geometric.nn.norm` (2.8): the same constructors,
forward signatures, parameter and buffer names (a PyG state_dict loads) and results.

Layers that normalize per graph take `forward(x, batch=None, batch_size=None)`: `batch` is the (N,) graph of
each node row (PyG's batch vector, int32/int64), a GraphBatch (its graph index; batch_size, if given, must be its
number of graphs), or None (all rows one graph). Per-graph sums and means are `meshgraph.ops.scatter` /
`segment_reduce` (the fused, deterministic segment kernel for float data). Pass batch_size with a batch vector
to avoid the device sync of `batch.max()` (and so torch.compile(fullgraph=True) traces).

Conventions where PyG has none, or crashes:
- 0 nodes: every layer returns a (0, F) output (PyG's `batch.max()` fails on an empty batch vector; here the
  number of graphs is then 0). BatchNorm / DiffGroupNorm in training mode, and InstanceNorm with batch=None,
  follow torch's BatchNorm1d / instance_norm (torch raises on inputs with too few values).
- A graph with 1 node: its variance is 0, so GraphNorm / LayerNorm / InstanceNorm map the node to the bias (0
  without affine), as PyG does.
- A wrong feature width is a ValueError naming the layer and its in_channels; a batch index at or above
  batch_size is a `BatchIndexError` (a ValueError, and a RuntimeError as PyG's scatter error is).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.instancenorm import _InstanceNorm

from .._utils import check_index_range, check_index_tensor, check_nonnegative_int
from ..ops.scatter import _index_adjacency, scatter, segment_reduce
from ._edges import is_graph_batch


class BatchIndexError(ValueError, RuntimeError):
    """A batch (or type) vector holds an index outside [0, batch_size). A RuntimeError too, as the index error
    PyG's scatter raises for it."""


def _check_width(layer: nn.Module, x: torch.Tensor, width: int, dim: int = -1) -> None:
    name = type(layer).__name__
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} takes a tensor x, got {type(x).__name__}")
    if x.dim() < (1 if dim == -1 else dim + 1):
        raise ValueError(f"{name} expects x of shape (N, {width}), got {tuple(x.shape)}")
    if x.shape[dim] != width:
        raise ValueError(f"{name} expects x with {width} features (its in_channels) in dim {dim}, got shape "
                         f"{tuple(x.shape)}")


def _register_affine(layer: nn.Module, shape: tuple, affine: bool, device) -> None:
    """`weight` and `bias` parameters of `shape` (None without affine), PyG's names."""
    for name in ("weight", "bias"):
        layer.register_parameter(name, nn.Parameter(torch.empty(shape, device=device)) if affine else None)


class _Graphs:
    """The graph of each node row and the number of graphs; per-graph sums, means and node counts, and their
    broadcast back to the rows. `ptr` (consecutive graphs, a GraphBatch's verts_ptr) reduces without sorting."""

    __slots__ = ("layer", "index", "size", "ptr", "size_arg")

    def __init__(self, layer: str, index: torch.Tensor, size: int, ptr: torch.Tensor | None = None,
                 size_arg: str = "batch_size"):
        self.layer, self.index, self.size, self.ptr, self.size_arg = layer, index, size, ptr, size_arg

    @classmethod
    def of(cls, layer: nn.Module, x: torch.Tensor, batch, batch_size: int | None, arg: str = "batch",
           size_arg: str = "batch_size") -> _Graphs:
        name = type(layer).__name__
        if is_graph_batch(batch):
            if batch.num_verts != x.shape[0]:
                raise ValueError(f"{name}: x has {x.shape[0]} rows but the GraphBatch has {batch.num_verts} vertices")
            if batch_size is not None and batch_size != len(batch):
                raise ValueError(f"{name}: {size_arg}={batch_size} but the GraphBatch holds {len(batch)} graphs")
            return cls(name, batch.graph_index, len(batch), batch.verts_ptr, size_arg)
        if not isinstance(batch, torch.Tensor):
            raise TypeError(f"{name}: {arg} must be a batch vector, a GraphBatch or None, got {type(batch).__name__}")
        check_index_tensor(batch, arg, dim=1)
        if batch.shape[0] != x.shape[0]:
            raise ValueError(f"{name}: {arg} must have one entry per row of x ({x.shape[0]}), got {batch.shape[0]}")
        if batch.device != x.device:
            raise ValueError(f"{name}: {arg} is on {batch.device} but x is on {x.device}")
        if batch_size is None:
            batch_size = int(batch.max()) + 1 if batch.numel() else 0
        return cls(name, batch, check_nonnegative_int(batch_size, size_arg), None, size_arg)

    def _out_of_bounds(self) -> BatchIndexError:
        # The index was validated in `of`: a ValueError of the reductions is about its range.
        return BatchIndexError(f"{self.layer}: the index holds a value out of bounds for {self.size_arg}="
                               f"{self.size} (valid: [0, {self.size}))")

    def _reduce(self, t: torch.Tensor, reduce: str) -> torch.Tensor:
        if self.ptr is not None:
            return segment_reduce(t, self.ptr, reduce)
        try:
            return scatter(t, self.index, self.size, reduce)
        except ValueError as exc:
            raise self._out_of_bounds() from exc

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """(B, *F) sum of t's rows per graph (0 for graphs without nodes)."""
        return self._reduce(t, "sum")

    def mean(self, t: torch.Tensor) -> torch.Tensor:
        """(B, *F) mean of t's rows per graph (0 for graphs without nodes)."""
        return self._reduce(t, "mean")

    def count(self, dtype: torch.dtype) -> torch.Tensor:
        """(B,) number of nodes per graph (exact: counted in int64)."""
        if self.ptr is not None:
            return self.ptr.diff().to(dtype)
        try:  # the offsets of the index's cached adjacency (the one `scatter` reduces through)
            ptr = _index_adjacency(self.index, self.index.shape[0], self.size).rowptr
        except ValueError as exc:
            raise self._out_of_bounds() from exc
        return ptr.diff().to(dtype)

    def check_range(self) -> None:
        """BatchIndexError unless the index lies in [0, size) (eager only, as the reductions check it)."""
        if self.ptr is None:
            try:
                check_index_range(self.index, "index", self.size)
            except ValueError as exc:
                raise self._out_of_bounds() from exc

    def rows(self, stat: torch.Tensor) -> torch.Tensor:
        """(N, *F) the per-graph stat of each node row."""
        return stat.index_select(0, self.index)


class BatchNorm(nn.Module):
    """Batch normalization over all nodes of the mini-batch (PyG's BatchNorm: a BatchNorm1d under `.module`).

    allow_single_element=True normalizes a batch of at most one row with the running statistics (as in eval
    mode) instead of failing; it needs track_running_stats=True."""

    def __init__(self, in_channels: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, allow_single_element: bool = False,
                 device: torch.device | None = None):
        super().__init__()
        if allow_single_element and not track_running_stats:
            raise ValueError("'allow_single_element' requires 'track_running_stats' to be set to `True`")
        self.module = nn.BatchNorm1d(in_channels, eps, momentum, affine, track_running_stats, device=device)
        self.in_channels = in_channels
        self.allow_single_element = allow_single_element

    def reset_running_stats(self) -> None:
        self.module.reset_running_stats()

    def reset_parameters(self) -> None:
        self.module.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) or (N, C, L) -> same shape."""
        if isinstance(x, torch.Tensor) and x.dim() >= 2:
            _check_width(self, x, self.in_channels, dim=1)
        if self.allow_single_element and x.shape[0] <= 1:
            m = self.module
            return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, False, 0.0, m.eps)
        return self.module(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.module.extra_repr()})"


class _TypeStats(nn.Module):
    """Shared by the Hetero* layers: the (N,) type of each row checked against num_types."""

    def _types(self, x: torch.Tensor, type_vec: torch.Tensor) -> _Graphs:
        return _Graphs.of(self, x, type_vec, self.num_types, arg="type_vec", size_arg="num_types")


class HeteroBatchNorm(_TypeStats):
    """Batch normalization per node (or edge) type: statistics, running statistics and affine parameters per type
    (PyG's HeteroBatchNorm: weight / bias / running_mean / running_var of shape (num_types, in_channels)).

    As PyG: the batch statistics are constants for autograd (no gradient flows through the mean and variance),
    the variance is the biased one and is clamped below at eps; only types present in the batch update their
    running statistics."""

    def __init__(self, in_channels: int, num_types: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: torch.device | None = None):
        super().__init__()
        self.in_channels, self.num_types = in_channels, num_types
        self.eps, self.momentum, self.affine, self.track_running_stats = eps, momentum, affine, track_running_stats
        shape = (num_types, in_channels)
        _register_affine(self, shape, affine, device)
        if track_running_stats:
            self.register_buffer("running_mean", torch.empty(shape, device=device))
            self.register_buffer("running_var", torch.empty(shape, device=device))
            self.register_buffer("num_batches_tracked", torch.tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, type_vec: torch.Tensor) -> torch.Tensor:
        """x (N, in_channels), type_vec (N,) in [0, num_types) -> (N, in_channels)."""
        _check_width(self, x, self.in_channels)
        types = self._types(x, type_vec)
        if not self.training and self.track_running_stats:
            mean, var = self.running_mean, self.running_var
        else:
            with torch.no_grad():
                mean = types.mean(x)
                var = types.mean(x * x) - mean * mean
        if self.training and self.track_running_stats:
            with torch.no_grad():
                if self.momentum is None:
                    self.num_batches_tracked.add_(1)
                    factor = 1.0 / self.num_batches_tracked.to(mean.dtype)
                else:
                    factor = self.momentum
                present = (types.count(torch.int64) > 0).unsqueeze(-1)
                new_mean = (1.0 - factor) * self.running_mean + factor * mean
                new_var = (1.0 - factor) * self.running_var + factor * var
                self.running_mean.copy_(torch.where(present, new_mean, self.running_mean))
                self.running_var.copy_(torch.where(present, new_var, self.running_var))
        out = (x - types.rows(mean)) / types.rows(var.clamp(min=self.eps).sqrt())
        if self.affine:
            out = out * types.rows(self.weight) + types.rows(self.bias)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, num_types={self.num_types})"


class InstanceNorm(_InstanceNorm):
    """Instance normalization: each graph's features normalized by that graph's mean and (biased) variance, per
    channel (PyG's InstanceNorm, a torch `_InstanceNorm`: weight / bias / running_mean / running_var /
    num_batches_tracked as torch's InstanceNorm1d).

    With track_running_stats, training updates the running mean with the mean over graphs of the per-graph
    means and the running variance with that of the unbiased per-graph variances; eval mode then normalizes
    every graph with them. batch=None is torch's instance_norm over all rows."""

    def __init__(self, in_channels: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: torch.device | None = None):
        super().__init__(in_channels, eps, momentum, affine, track_running_stats, device=device)

    def reset_parameters(self) -> None:
        super().reset_parameters()

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None,
                batch_size: int | None = None) -> torch.Tensor:
        """x (N, in_channels) -> (N, in_channels)."""
        _check_width(self, x, self.num_features)
        use_batch_stats = self.training or not self.track_running_stats
        if batch is None:
            out = F.instance_norm(x.t().unsqueeze(0), self.running_mean, self.running_var, self.weight, self.bias,
                                  use_batch_stats, self.momentum, self.eps)
            return out.squeeze(0).t()
        graphs = _Graphs.of(self, x, batch, batch_size)
        if use_batch_stats:
            count = graphs.count(x.dtype).clamp(min=1).unsqueeze(-1)
            mean = graphs.sum(x) / count
            x = x - graphs.rows(mean)
            sq = graphs.sum(x * x)
            var = sq / count
            if self.running_mean is not None:
                with torch.no_grad():
                    m = self.momentum
                    self.running_mean.mul_(1 - m).add_(m * mean.mean(0))
                    self.running_var.mul_(1 - m).add_(m * (sq / (count - 1).clamp(min=1)).mean(0))
            out = x / graphs.rows((var + self.eps).sqrt())
        else:
            out = (x - self.running_mean) / (self.running_var + self.eps).sqrt()
        if self.weight is not None and self.bias is not None:
            out = out * self.weight + self.bias
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_features})"


_LAYER_NORM_MODES = ("graph", "node")


def _check_mode(layer: str, mode, modes=_LAYER_NORM_MODES) -> str:
    if mode not in modes:
        raise ValueError(f"{layer}: mode must be one of {modes}, got {mode!r}")
    return mode


class LayerNorm(nn.Module):
    """Layer normalization (PyG's LayerNorm; weight / bias of shape (in_channels,)).

    mode="graph": each graph normalized by the mean and biased variance of all its entries (nodes x channels);
    with batch=None x is centred and divided by (std + eps), with a batch by sqrt(var + eps), as PyG does.
    mode="node": each row normalized over its channels (torch's layer_norm)."""

    def __init__(self, in_channels: int, eps: float = 1e-5, affine: bool = True, mode: str = "graph",
                 device: torch.device | None = None):
        super().__init__()
        self.in_channels, self.eps, self.affine = in_channels, eps, affine
        self.mode = _check_mode(type(self).__name__, mode)
        _register_affine(self, (in_channels,), affine, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None,
                batch_size: int | None = None) -> torch.Tensor:
        """x (N, in_channels) -> (N, in_channels) (any leading dims in mode="node")."""
        _check_width(self, x, self.in_channels)
        mode = _check_mode(type(self).__name__, self.mode)
        if mode == "node":
            return F.layer_norm(x, (self.in_channels,), self.weight, self.bias, self.eps)
        if batch is None:
            x = x - x.mean()
            out = x / (x.std(unbiased=False) + self.eps)
        else:
            graphs = _Graphs.of(self, x, batch, batch_size)
            # Entries per graph: nodes x channels. Channels are summed first, so the segment sums run on (N, 1).
            norm = graphs.count(x.dtype).clamp(min=1).mul(x.shape[-1]).unsqueeze(-1)
            mean = graphs.sum(x.sum(-1, keepdim=True)) / norm
            x = x - graphs.rows(mean)
            var = graphs.sum((x * x).sum(-1, keepdim=True)) / norm
            out = x / graphs.rows((var + self.eps).sqrt())
        if self.weight is not None and self.bias is not None:
            out = out * self.weight + self.bias
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, affine={self.affine}, mode={self.mode})"


class HeteroLayerNorm(_TypeStats):
    """Layer normalization of each row over its channels, with affine parameters per node type (PyG's
    HeteroLayerNorm: weight / bias of shape (num_types, in_channels); only mode="node")."""

    def __init__(self, in_channels: int, num_types: int, eps: float = 1e-5, affine: bool = True, mode: str = "node",
                 device: torch.device | None = None):
        super().__init__()
        _check_mode(type(self).__name__, mode, ("node",))
        self.in_channels, self.num_types, self.eps, self.affine = in_channels, num_types, eps, affine
        _register_affine(self, (num_types, in_channels), affine, device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, type_vec: torch.Tensor | None = None, type_ptr=None) -> torch.Tensor:
        """x (N, in_channels) with type_vec (N,) the type of each row, or type_ptr (num_types + 1,) offsets of
        consecutive types (a list or a tensor) -> (N, in_channels)."""
        if type_vec is None and type_ptr is None:
            raise ValueError("Either 'type_vec' or 'type_ptr' must be given")
        _check_width(self, x, self.in_channels)
        out = F.layer_norm(x, (self.in_channels,), None, None, self.eps)
        if not self.affine:
            return out
        if type_vec is None:
            ptr = torch.as_tensor(type_ptr, device=x.device)
            check_index_tensor(ptr, "type_ptr", dim=1)
            if ptr.shape[0] - 1 > self.num_types:
                raise ValueError(f"HeteroLayerNorm: type_ptr has {ptr.shape[0] - 1} types, more than num_types "
                                 f"({self.num_types})")
            type_vec = torch.repeat_interleave(torch.arange(ptr.shape[0] - 1, device=x.device), ptr.diff(),
                                               output_size=x.shape[0])
        else:
            self._types(x, type_vec).check_range()
        return out * self.weight[type_vec] + self.bias[type_vec]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, num_types={self.num_types})"


class GraphNorm(nn.Module):
    """GraphNorm (Cai et al. 2021): per graph, x - mean_scale * mean, divided by the square root of the mean of
    its squares plus eps, times weight, plus bias (PyG's GraphNorm: weight / bias / mean_scale (in_channels,))."""

    def __init__(self, in_channels: int, eps: float = 1e-5, device: torch.device | None = None):
        super().__init__()
        self.in_channels, self.eps = in_channels, eps
        self.weight = nn.Parameter(torch.empty(in_channels, device=device))
        self.bias = nn.Parameter(torch.empty(in_channels, device=device))
        self.mean_scale = nn.Parameter(torch.empty(in_channels, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)
        nn.init.zeros_(self.bias)
        nn.init.ones_(self.mean_scale)

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None,
                batch_size: int | None = None) -> torch.Tensor:
        """x (N, in_channels) -> (N, in_channels)."""
        _check_width(self, x, self.in_channels)
        if batch is None:  # means over the rows as PyG's scatter takes them: 0 for no rows
            rows = max(x.shape[0], 1)
            out = x - x.sum(0, keepdim=True) / rows * self.mean_scale
            std = ((out * out).sum(0, keepdim=True) / rows + self.eps).sqrt()
        else:
            graphs = _Graphs.of(self, x, batch, batch_size)
            out = x - graphs.rows(graphs.mean(x)) * self.mean_scale
            std = graphs.rows((graphs.mean(out * out) + self.eps).sqrt())
        return self.weight * out / std + self.bias

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels})"


class GraphSizeNorm(nn.Module):
    """Each node's features divided by the square root of its graph's number of nodes (PyG's GraphSizeNorm)."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None,
                batch_size: int | None = None) -> torch.Tensor:
        """x (N, F) -> (N, F)."""
        if batch is None:
            return x * x.new_tensor(float(x.shape[0])).pow(-0.5)
        graphs = _Graphs.of(self, x, batch, batch_size)
        return x * graphs.rows(graphs.count(x.dtype).pow(-0.5)).view(-1, *([1] * (x.dim() - 1)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PairNorm(nn.Module):
    """PairNorm (Zhao & Akoglu 2020): features centred per graph, then scaled to `scale` times unit mean squared
    row norm per graph (or each row to norm `scale` with scale_individually) (PyG's PairNorm)."""

    def __init__(self, scale: float = 1.0, scale_individually: bool = False, eps: float = 1e-5):
        super().__init__()
        self.scale, self.scale_individually, self.eps = scale, scale_individually, eps

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None,
                batch_size: int | None = None) -> torch.Tensor:
        """x (N, F) -> (N, F)."""
        if batch is None:
            x = x - x.mean(dim=0, keepdim=True)
            if self.scale_individually:
                return self.scale * x / (self.eps + x.norm(2, -1, keepdim=True))
            return self.scale * x / (self.eps + x.pow(2).sum(-1).mean()).sqrt()
        graphs = _Graphs.of(self, x, batch, batch_size)
        x = x - graphs.rows(graphs.mean(x))
        if self.scale_individually:
            return self.scale * x / (self.eps + x.norm(2, -1, keepdim=True))
        return self.scale * x / (self.eps + graphs.rows(graphs.mean(x.pow(2).sum(-1, keepdim=True)))).sqrt()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSubtractionNorm(nn.Module):
    """Each graph's mean feature subtracted from its nodes (PyG's MeanSubtractionNorm; dim_size is the number
    of graphs)."""

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None, dim_size: int | None = None) -> torch.Tensor:
        """x (N, F) -> (N, F)."""
        if batch is None:
            return x - x.mean(dim=0, keepdim=True)
        graphs = _Graphs.of(self, x, batch, dim_size, size_arg="dim_size")
        return x - graphs.rows(graphs.mean(x))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MessageNorm(nn.Module):
    """MessageNorm (Li et al. 2020, DeeperGCN): the aggregated message `msg` rescaled to the p-norm of x, times a
    scale (PyG's MessageNorm: `scale` (1,), learnable with learn_scale)."""

    def __init__(self, learn_scale: bool = False, device: torch.device | None = None):
        super().__init__()
        self.scale = nn.Parameter(torch.empty(1, device=device), requires_grad=learn_scale)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.scale.fill_(1.0)

    def forward(self, x: torch.Tensor, msg: torch.Tensor, p: float = 2.0) -> torch.Tensor:
        """x (N, F), msg (N, F') -> (N, F')."""
        if x.shape[:-1] != msg.shape[:-1]:
            raise ValueError(f"MessageNorm: x {tuple(x.shape)} and msg {tuple(msg.shape)} must have the same rows")
        return F.normalize(msg, p=p, dim=-1) * x.norm(p=p, dim=-1, keepdim=True) * self.scale

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learn_scale={self.scale.requires_grad})"


class DiffGroupNorm(nn.Module):
    """Differentiable group normalization (Zhou et al. 2020): nodes softly assigned to `groups` clusters
    (`lin`, no bias), each cluster batch-normalized (`norm`, a BatchNorm1d over groups x in_channels), the sum
    added back with weight lamda (PyG's DiffGroupNorm)."""

    def __init__(self, in_channels: int, groups: int, lamda: float = 0.01, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: torch.device | None = None):
        super().__init__()
        self.in_channels, self.groups, self.lamda = in_channels, groups, lamda
        self.lin = nn.Linear(in_channels, groups, bias=False, device=device)
        self.norm = nn.BatchNorm1d(groups * in_channels, eps, momentum, affine, track_running_stats, device=device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, in_channels) -> (N, in_channels)."""
        _check_width(self, x, self.in_channels)
        C, G = self.in_channels, self.groups
        assign = self.lin(x).softmax(dim=-1)  # (N, G)
        grouped = (assign.unsqueeze(-1) * x.unsqueeze(-2)).reshape(-1, G * C)
        return x + self.lamda * self.norm(grouped).view(-1, G, C).sum(-2)

    @staticmethod
    def group_distance_ratio(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-5) -> float:
        """Mean distance between nodes of different classes over mean distance within a class (the group
        distance ratio of the paper, higher is better): x (N, F) features, y (N,) classes in [0, C)."""
        num_classes = int(y.max()) + 1
        between = within = 0.0
        for c in range(num_classes):
            inside = y == c
            a = x[inside].unsqueeze(0)
            between += float(torch.cdist(a, x[~inside].unsqueeze(0)).mean())
            within += float(torch.cdist(a, a).mean())
        return (between / (num_classes - 1) ** 2) / (within / num_classes + eps)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, groups={self.groups})"


NORMS = (BatchNorm, HeteroBatchNorm, InstanceNorm, LayerNorm, HeteroLayerNorm, GraphNorm, GraphSizeNorm, PairNorm,
         MeanSubtractionNorm, MessageNorm, DiffGroupNorm)


def _normalize(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def normalization_resolver(query, *args, **kwargs):
    """A norm layer from its name, as PyG's resolver reads it ("batch_norm", "BatchNorm", "graph", "LayerNorm",
    case, "_", "-" and spaces ignored), built with args / kwargs; anything but a string is returned unchanged."""
    if not isinstance(query, str):
        return query
    key = _normalize(query)
    for cls in NORMS:
        name = _normalize(cls.__name__)
        if key in (name, name.replace("norm", "")):
            return cls(*args, **kwargs)
    raise ValueError(f"Could not resolve '{query}' among choices {sorted(c.__name__ for c in NORMS)}")


__all__ = ["BatchIndexError", "BatchNorm", "DiffGroupNorm", "GraphNorm", "GraphSizeNorm", "HeteroBatchNorm",
           "HeteroLayerNorm", "InstanceNorm", "LayerNorm", "MeanSubtractionNorm", "MessageNorm", "PairNorm",
           "normalization_resolver"]
