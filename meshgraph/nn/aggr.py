"""Aggregation modules: reduce a set of rows (messages) per group, PyG's `torch_geometric.nn.aggr` vocabulary.

`aggr(x, index=None, ptr=None, dim_size=None, dim=-2)`: rows of x along `dim` go to group index[e] (or the
consecutive segments ptr[i]:ptr[i+1]; neither: a single group); groups without rows get 0 (1 for "mul"). The
reductions are `meshgraph.ops.scatter` / `segment_reduce`: the fused segment kernel for float data
(deterministic, no atomics).
`MessagePassing(aggr=...)` takes one of these, its name ("sum"/"add", "mean", "max", "min", "mul", "var",
"std", "softmax", "powermean") or a list of names (a `MultiAggregation`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._utils import count_per_index, index_from_offsets, offsets_from_counts
from ..ops.scatter import scatter, segment_reduce
from .mlp import MLP


def _scatter_along(x: torch.Tensor, index, ptr, dim_size, dim: int, reduce: str) -> torch.Tensor:
    """reduce of x's rows along `dim` by index (or ptr segments, or all of them); empty groups are 0 (1 for
    "mul")."""
    if x.dim() == 0:
        raise ValueError("aggregation needs a tensor with at least one dimension")
    dim = dim % x.dim()
    if index is not None:
        return scatter(x, index, dim_size=dim_size, reduce=reduce, dim=dim)
    src = x.movedim(dim, 0) if dim else x
    if ptr is None:
        ptr = torch.tensor([0, src.shape[0]], device=x.device)
    out = segment_reduce(src, ptr, reduce=reduce)
    return out.movedim(0, dim) if dim else out


def segment_softmax(src: torch.Tensor, index: torch.Tensor | None, ptr: torch.Tensor | None, dim_size: int | None,
                    dim: int = 0) -> torch.Tensor:
    """Softmax of src's rows along `dim` within each group (PyG's `utils.softmax` arguments)."""
    from ..ops.adjacency import build_adjacency, segment_adjacency
    from ..ops.neighbor_softmax import neighbor_softmax

    dim = dim % src.dim()
    s = src.movedim(dim, 0) if dim else src
    E = s.shape[0]
    if index is None and ptr is None:
        ptr = torch.tensor([0, E], device=src.device)
    if index is None:
        adj = segment_adjacency(ptr.long(), E)
    else:
        if dim_size is None:
            dim_size = int(index.max()) + 1 if index.numel() else 0
        adj = build_adjacency(torch.stack([torch.arange(E, device=src.device), index.long()]), dim_size, num_src=E)
    flat = s.reshape(E, -1) if s.dim() != 2 else s
    out = neighbor_softmax(flat, adj).reshape(s.shape) if E else s.clone()
    return out.movedim(0, dim) if dim else out


class Aggregation(nn.Module):
    """Base class: `forward(x, index=None, ptr=None, dim_size=None, dim=-2)`."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2, max_num_elements=None):
        raise NotImplementedError

    def reset_parameters(self) -> None:
        pass

    def assert_index_present(self, index) -> None:
        if index is None:
            raise NotImplementedError(f"Aggregation requires 'index' to be specified in '{type(self).__name__}'")

    def assert_sorted_index(self, index) -> None:
        if index is not None and index.numel() > 1 and not bool((index[:-1] <= index[1:]).all()):
            raise ValueError("Can not perform aggregation since the 'index' tensor is not sorted. Specifically, if you "
                             "use this aggregation as part of 'MessagePassing`, ensure that 'edge_index' is sorted by "
                             "destination nodes, e.g., by calling `data.sort(sort_by_row=False)`")

    def assert_two_dimensional_input(self, x, dim: int) -> None:
        if x.dim() != 2:
            raise ValueError(f"Aggregation requires two-dimensional inputs (got '{x.dim()}')")
        if dim not in (-2, 0):
            raise ValueError(f"Aggregation needs to perform aggregation in first dimension (got '{dim}')")

    def reduce(self, x, index=None, ptr=None, dim_size=None, dim=-2, reduce="sum") -> torch.Tensor:
        return _scatter_along(x, index, ptr, dim_size, dim, reduce)

    def __call__(self, x, index=None, ptr=None, dim_size=None, dim=-2, **kwargs):
        # PyG's argument validation and messages
        if dim >= x.dim() or dim < -x.dim():
            raise ValueError(f"Encountered invalid dimension '{dim}' of source tensor with {x.dim()} dimensions")
        if ptr is not None:
            if dim_size is None:
                dim_size = ptr.numel() - 1
            elif dim_size != ptr.numel() - 1:
                raise ValueError(f"Encountered invalid 'dim_size' (got '{dim_size}' but expected '{ptr.numel() - 1}')")
        if index is not None and index.numel() != x.shape[dim % x.dim()]:
            raise ValueError(f"index has {index.numel()} entries but x has {x.shape[dim % x.dim()]} rows along dim {dim}")
        try:
            return super().__call__(x, index, ptr, dim_size, dim, **kwargs)
        except (ValueError, IndexError, RuntimeError) as exc:
            if index is not None and dim_size is not None and index.numel() and dim_size <= int(index.max()):
                raise ValueError(f"Encountered invalid 'dim_size' (got '{dim_size}' but expected >= "
                                 f"'{int(index.max()) + 1}')") from exc
            raise

    def to_dense_batch(self, x, index=None, ptr=None, dim_size=None, dim=-2, fill_value=0.0, max_num_elements=None):
        """(num_groups, max_size, F) rows of each group in order, padded with fill_value, and the (num_groups,
        max_size) mask of real rows; groups longer than max_num_elements keep their first rows. Needs 2-D x and
        index sorted by group."""
        if index is None and ptr is not None:
            index = index_from_offsets(ptr, x.shape[0])
        self.assert_index_present(index)
        self.assert_sorted_index(index)
        self.assert_two_dimensional_input(x, dim)
        B = dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)
        counts = count_per_index(index, B)
        size = int(counts.max()) if B else 0
        if max_num_elements is not None:
            size = max_num_elements
        pos = torch.arange(index.numel(), device=x.device) - offsets_from_counts(counts)[index.long()]
        keep = pos < size
        out = x.new_full((B, size, x.shape[1]), fill_value)
        out[index.long()[keep], pos[keep]] = x[keep]
        mask = torch.zeros((B, size), dtype=torch.bool, device=x.device)
        mask[index.long()[keep], pos[keep]] = True
        return out, mask

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Basic(Aggregation):
    reduce_name = "sum"

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        return self.reduce(x, index, ptr, dim_size, dim, self.reduce_name)


class SumAggregation(_Basic):
    reduce_name = "sum"


class MeanAggregation(_Basic):
    reduce_name = "mean"


class MaxAggregation(_Basic):
    reduce_name = "max"


class MinAggregation(_Basic):
    reduce_name = "min"


class MulAggregation(_Basic):
    reduce_name = "mul"

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        self.assert_index_present(index)  # PyG: the product has no segment (ptr) form
        return super().forward(x, index, None, dim_size, dim)


class VarAggregation(Aggregation):
    """mean(x^2) - mean(x)^2 per group; semi_grad: no gradient through mean(x^2)."""

    def __init__(self, semi_grad: bool = False):
        super().__init__()
        self.semi_grad = semi_grad

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        mean = self.reduce(x, index, ptr, dim_size, dim, "mean")
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.semi_grad):
            mean2 = self.reduce(x * x, index, ptr, dim_size, dim, "mean")
        return mean2 - mean * mean


class StdAggregation(Aggregation):
    """sqrt(var) per group, clamped at sqrt(1e-5) (values at or below it become 0), as PyG."""

    def __init__(self, semi_grad: bool = False):
        super().__init__()
        self.var_aggr = VarAggregation(semi_grad)

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        out = self.var_aggr(x, index, ptr, dim_size, dim).clamp(min=1e-5).sqrt()
        return out.masked_fill(out <= math.sqrt(1e-5), 0.0)


class SoftmaxAggregation(Aggregation):
    """sum_j softmax_j(t * x_j) * x_j per group and channel; `learn`: t is a parameter (one per channel)."""

    def __init__(self, t: float = 1.0, learn: bool = False, semi_grad: bool = False, channels: int = 1):
        super().__init__()
        if learn and semi_grad:
            raise ValueError(f"Cannot enable 'semi_grad' in '{type(self).__name__}' in case the temperature term 't' is learnable")
        if not learn and channels != 1:
            raise ValueError(f"Cannot set 'channels' greater than '1' in case '{type(self).__name__}' is not trainable")
        self._init_t, self.learn, self.semi_grad, self.channels = t, learn, semi_grad, channels
        self.t = nn.Parameter(torch.empty(channels)) if learn else t
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if isinstance(self.t, torch.Tensor):
            self.t.data.fill_(self._init_t)

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        t = self.t.view(-1, self.channels) if self.channels != 1 else self.t
        alpha = x if isinstance(t, (int, float)) and t == 1 else x * t
        with torch.set_grad_enabled(torch.is_grad_enabled() and not (self.semi_grad and not self.learn)):
            alpha = segment_softmax(alpha, index, ptr, dim_size, dim)
        return self.reduce(x * alpha, index, ptr, dim_size, dim, "sum")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learn={self.learn})"


class PowerMeanAggregation(Aggregation):
    """(mean_j x_j^p)^(1/p) per group, inputs and result clamped to [clamp_min, clamp_max] when p != 1."""

    def __init__(self, p: float = 1.0, learn: bool = False, channels: int = 1, clamp_min: float | None = 1e-4,
                 clamp_max: float | None = 100.0):
        super().__init__()
        if not learn and channels != 1:
            raise ValueError(f"Cannot set 'channels' greater than '1' in case '{type(self).__name__}' is not trainable")
        self._init_p, self.learn, self.channels = p, learn, channels
        self.p = nn.Parameter(torch.empty(channels)) if learn else p
        self.min_value, self.max_value = clamp_min, clamp_max
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if isinstance(self.p, torch.Tensor):
            self.p.data.fill_(self._init_p)

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        p = self.p.view(-1, self.channels) if self.channels != 1 else self.p
        plain = isinstance(p, (int, float)) and p == 1
        if not plain:
            x = x.clamp(min=self.min_value, max=self.max_value).pow(p)
        out = self.reduce(x, index, ptr, dim_size, dim, "mean")
        if not plain:
            out = out.clamp(min=self.min_value, max=self.max_value).pow(1.0 / p)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learn={self.learn})"


class LSTMAggregation(Aggregation):
    """An LSTM over each group's rows in order (PyG's LSTMAggregation; needs index sorted by group); the last
    hidden state is the group's output. Not permutation invariant."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lstm = nn.LSTM(in_channels, out_channels, batch_first=True, **kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lstm.reset_parameters()

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2, max_num_elements=None):
        dense, _ = self.to_dense_batch(x, index, ptr, dim_size, dim, max_num_elements=max_num_elements)
        return self.lstm(dense)[0][:, -1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


class MLPAggregation(Aggregation):
    """An MLP on each group's first max_num_elements rows, concatenated (zero-padded) (PyG's MLPAggregation;
    needs index sorted by group). kwargs go to the `MLP` (num_layers, hidden_channels, dropout, act, norm, ...)."""

    def __init__(self, in_channels: int, out_channels: int, max_num_elements: int, **kwargs):
        super().__init__()
        self.in_channels, self.out_channels, self.max_num_elements = in_channels, out_channels, max_num_elements
        self.mlp = MLP(in_channels=in_channels * max_num_elements, out_channels=out_channels, **kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.mlp.reset_parameters()

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        dense, _ = self.to_dense_batch(x, index, ptr, dim_size, dim, max_num_elements=self.max_num_elements)
        return self.mlp(dense.reshape(dense.shape[0], -1), index, dim_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, max_num_elements={self.max_num_elements})"


class _DictLinear(nn.Module):
    """Linear layers keyed "0", "1", ... under `lins` (PyG's HeteroDictLinear state-dict layout)."""

    def __init__(self, lins):
        super().__init__()
        self.lins = nn.ModuleDict({str(k): lin for k, lin in enumerate(lins)})

    def reset_parameters(self) -> None:
        for lin in self.lins.values():
            lin.reset_parameters()


_COMBINE = ("sum", "mean", "max", "min", "logsumexp", "std", "var")


class MultiAggregation(Aggregation):
    """Several aggregations of the same rows, combined: "cat" (concatenated channels), "proj" (a Linear of the
    concatenation to mode_kwargs' out_channels) or an element-wise "sum" / "mean" / "max" / "min" /
    "logsumexp" / "std" / "var" of the stacked results, or "attn" (per-aggregation Linear to out_channels, then
    multi-head self-attention across the aggregations, averaged)."""

    def __init__(self, aggrs, aggrs_kwargs=None, mode: str | None = "cat", mode_kwargs=None):
        super().__init__()
        if not isinstance(aggrs, (list, tuple)):
            raise ValueError(f"'aggrs' of '{type(self).__name__}' should be a list or tuple (got '{type(aggrs)}').")
        if len(aggrs) == 0:
            raise ValueError(f"'aggrs' of '{type(self).__name__}' should not be empty.")
        if aggrs_kwargs is None:
            aggrs_kwargs = [{}] * len(aggrs)
        elif len(aggrs) != len(aggrs_kwargs):
            raise ValueError(f"'aggrs_kwargs' with invalid length passed to '{type(self).__name__}' "
                             f"(got '{len(aggrs_kwargs)}', expected '{len(aggrs)}').")
        self.aggrs = nn.ModuleList([aggregation_resolver(a, **kw) for a, kw in zip(aggrs, aggrs_kwargs)])
        self.mode = mode
        mode_kwargs = dict(mode_kwargs or {})
        self.in_channels = mode_kwargs.pop("in_channels", None)
        self.out_channels = mode_kwargs.pop("out_channels", None)
        if mode in ("proj", "attn"):
            from .linear import Linear

            if len(aggrs) == 1:
                raise ValueError("Multiple aggregations are required for 'proj' or 'attn' combine mode.")
            if self.in_channels is None or self.out_channels is None:
                raise ValueError(f"Combine mode '{mode}' must have `in_channels` and `out_channels` specified.")
            if isinstance(self.in_channels, int):
                self.in_channels = [self.in_channels] * len(aggrs)
            if mode == "proj":
                self.lin = Linear(sum(self.in_channels), self.out_channels, **mode_kwargs)
            else:  # one Linear per aggregation (PyG's HeteroDictLinear layout), then attention across them
                num_heads = mode_kwargs.pop("num_heads", 1)
                self.lin_heads = _DictLinear([Linear(c, self.out_channels) for c in self.in_channels])
                self.multihead_attn = nn.MultiheadAttention(self.out_channels, num_heads, **mode_kwargs)
        elif mode != "cat" and mode not in _COMBINE:
            raise ValueError(f"Combine mode '{mode}' is not supported.")

    def reset_parameters(self) -> None:
        for a in self.aggrs:
            a.reset_parameters()
        if self.mode == "proj":
            self.lin.reset_parameters()
        if self.mode == "attn":
            self.lin_heads.reset_parameters()
            self.multihead_attn._reset_parameters()

    def get_out_channels(self, in_channels: int) -> int:
        if self.out_channels is not None:
            return self.out_channels
        return in_channels * len(self.aggrs) if self.mode == "cat" else in_channels

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        return self.combine([a(x, index, ptr, dim_size, dim) for a in self.aggrs])

    def combine(self, inputs):
        if len(inputs) == 1:
            return inputs[0]
        if self.mode == "cat":
            return torch.cat(inputs, dim=-1)
        if self.mode == "proj":
            return self.lin(torch.cat(inputs, dim=-1))
        if self.mode == "attn":
            x = torch.stack([lin(v) for lin, v in zip(self.lin_heads.lins.values(), inputs)], dim=0)
            return self.multihead_attn(x, x, x)[0].mean(dim=0)
        out = getattr(torch, self.mode)(torch.stack(inputs, dim=0), dim=0)
        return out if isinstance(out, torch.Tensor) else out[0]

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {a}" for a in self.aggrs) + ",\n"
        return f"{type(self).__name__}([\n{inner}], mode={self.mode})"


_BY_NAME = {
    "sum": SumAggregation, "add": SumAggregation, "mean": MeanAggregation, "max": MaxAggregation,
    "min": MinAggregation, "mul": MulAggregation, "var": VarAggregation, "std": StdAggregation,
    "softmax": SoftmaxAggregation, "powermean": PowerMeanAggregation, "lstm": LSTMAggregation, "mlp": MLPAggregation,
}


def aggregation_resolver(aggr, **kwargs) -> Aggregation | None:
    """None, an Aggregation, a name (see `_BY_NAME`, also the class name) or a list of them (MultiAggregation)."""
    if aggr is None or isinstance(aggr, Aggregation):
        return aggr
    if isinstance(aggr, (list, tuple)):
        return MultiAggregation(list(aggr), **kwargs)
    if isinstance(aggr, str):
        key = aggr.lower().replace("_", "")
        key = key[: -len("aggregation")] if key.endswith("aggregation") else key
        if key in _BY_NAME:
            return _BY_NAME[key](**kwargs)
    raise ValueError(f"Could not resolve aggregation {aggr!r}; meshgraph implements {sorted(_BY_NAME)} and lists of them")


__all__ = [
    "Aggregation", "LSTMAggregation", "MLPAggregation", "MaxAggregation", "MeanAggregation", "MinAggregation", "MulAggregation", "MultiAggregation",
    "PowerMeanAggregation", "SoftmaxAggregation", "StdAggregation", "SumAggregation", "VarAggregation",
    "aggregation_resolver", "segment_softmax",
]
