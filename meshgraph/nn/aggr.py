"""Aggregation modules: reduce a set of rows (messages) per group, PyG's `torch_geometric.nn.aggr` vocabulary.

`aggr(x, index=None, ptr=None, dim_size=None, dim=-2)`: rows of x along `dim` go to group index[e] (or the
consecutive segments ptr[i]:ptr[i+1]; neither: a single group); groups without rows get 0 (1 for "mul"). The
reductions are `meshgraph.ops.scatter` / `segment_reduce`: the fused segment kernel for float data
(deterministic, no atomics).
`MessagePassing(aggr=...)` takes one of these, its name ("sum"/"add", "mean", "max", "min", "mul", "var",
"std", "softmax", "powermean") or a list of names (a `MultiAggregation`).
"""

from __future__ import annotations

import contextvars
import math
from typing import List, Optional

import torch
from torch import nn

from .._utils import FLOAT_DTYPES, check_index_range, count_per_index, index_from_offsets, offsets_from_counts
from ..ops.gather_scatter import aggregate
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


# The reductions computed so far within one MultiAggregation.forward (None outside one): see Aggregation.reduce.
_SHARED_REDUCTIONS: contextvars.ContextVar = contextvars.ContextVar("meshgraph_shared_reductions", default=None)


def _shared(compute, x, index, ptr, *key):
    """compute(), or inside a MultiAggregation call the result it already gave for the same rows (x, index, ptr
    by identity) and key: one pass per distinct statistic (mean, var and std share the mean and the variance)."""
    if torch.compiler.is_compiling():  # dynamo cannot trace ContextVar.get; the compiler dedups the ops itself
        return compute()
    memo = _SHARED_REDUCTIONS.get()
    if memo is None:
        return compute()
    k = (id(x), id(index), id(ptr), *key)
    if k not in memo:
        memo[k] = (x, index, ptr, compute())  # holding the tensors keeps their ids unique while the entry lives
    return memo[k][3]


def _fused_blocks(x, index, ptr, dim_size, dim: int, modes, opts) -> dict:
    """{mode: result} of the fused segment kernel (meshgraph.ops.segment_aggregate) for x's rows along dim: every
    mode from one pass over the rows, no (E, F) temporary."""
    from ..ops.segment_aggregate import segment_aggregate

    dim = dim % x.dim()
    src = x.movedim(dim, 0) if dim else x
    outs = segment_aggregate(src, index, ptr, dim_size, list(modes), **opts)
    return {m: (o.movedim(0, dim) if dim else o) for m, o in zip(modes, outs)}


def _merge_plans(plans):
    """The union of several fused plans (modes, options), or None when their options disagree (two temperatures,
    semi_grad on one and off on another, ...)."""
    modes, opts = [], {}
    for plan in plans:
        if plan is None:
            return None
        for key, value in plan[1].items():
            if key in opts and not (opts[key] is value or (not isinstance(value, torch.Tensor) and opts[key] == value)):
                return None
            opts[key] = value
        modes += [m for m in plan[0] if m not in modes]
    return tuple(modes), opts


def _per_channel_ok(v, x) -> bool:
    """Whether a temperature / power v applies as the kernel takes it: one value, or one per channel of 2-D x."""
    return not isinstance(v, torch.Tensor) or v.numel() == 1 or (x.dim() == 2 and v.numel() == x.shape[-1])


def _std_from_var(var: torch.Tensor) -> torch.Tensor:
    """PyG's std of a variance: sqrt(clamp(var, 1e-5)), entries at or below sqrt(1e-5) set to 0 ("undefined"
    gradient at sqrt(0)). The mask is a step of sqrt(1e-5) ~ 3e-3 in the output, so two variances that differ by
    rounding on either side of 1e-5 give outputs that differ by that much."""
    out = var.clamp(min=1e-5).sqrt()
    return out.masked_fill(out <= math.sqrt(1e-5), 0.0)


def segment_softmax(src: torch.Tensor, index: torch.Tensor | None, ptr: torch.Tensor | None, dim_size: int | None,
                    dim: int = 0) -> torch.Tensor:
    """Softmax of src's rows along `dim` within each group (PyG's `utils.softmax` arguments): by index, else
    by the ptr segments, else all rows one group. meshgraph.ops' scatter_softmax / segment_softmax (the fused
    neighbor_softmax kernel on the group CSR cached on the index tensor: no sorted copy per call)."""
    from ..ops.scatter import scatter_softmax, segment_softmax as ptr_softmax

    if index is not None:
        return scatter_softmax(src, index, dim_size, dim=dim)
    if ptr is None:
        ptr = torch.tensor([0, src.shape[dim]], device=src.device)
    return ptr_softmax(src, ptr, dim=dim)



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

    def _fused_plan(self, x, index, ptr):
        """(modes, options) of the fused segment kernel that computes this aggregation, or None where it does not
        apply (the aggregation then runs its own forward). MultiAggregation merges its members' plans."""
        return None

    def _from_blocks(self, blocks: dict) -> torch.Tensor:
        """This aggregation's output from the fused kernel's results ({mode: tensor}) for its plan."""
        raise NotImplementedError

    def _run_fused(self, x, index, ptr, dim_size, dim):
        """The aggregation on the fused kernel, or None when its plan does not apply."""
        plan = self._fused_plan(x, index, ptr)
        if plan is None:
            return None
        return self._from_blocks(_fused_blocks(x, index, ptr, dim_size, dim, *plan))

    def reduce(self, x, index=None, ptr=None, dim_size=None, dim=-2, reduce="sum") -> torch.Tensor:
        return _shared(lambda: _scatter_along(x, index, ptr, dim_size, dim, reduce), x, index, ptr, dim_size, dim,
                       reduce)

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
        index = self._group_index(x, index, ptr, dim)
        self.assert_index_present(index)
        self.assert_sorted_index(index)
        self.assert_two_dimensional_input(x, dim)
        B = self._num_groups(index, dim_size)
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

    @staticmethod
    def _at_least_one_slot(dense, mask):
        """A padded batch with 0 slots (no group has rows) widened to one empty slot, so the sequence / attention
        modules run: each group then gets what an empty group gets in any batch whose longest group has 1 row."""
        if dense.shape[1] > 0:
            return dense, mask
        return dense.new_zeros(dense.shape[0], 1, dense.shape[2]), mask.new_zeros(mask.shape[0], 1)

    @staticmethod
    def _group_index(x, index, ptr, dim: int = -2):
        """The group index of x's rows along dim: index, or the segment of each row for ptr, or all rows one
        group (PyG's default when neither is given)."""
        if index is not None:
            return index
        rows = x.shape[dim % x.dim()]
        if ptr is not None:
            return index_from_offsets(ptr, rows)
        return torch.zeros(rows, dtype=torch.long, device=x.device)

    @staticmethod
    def _num_groups(index, dim_size) -> int:
        return dim_size if dim_size is not None else (int(index.max()) + 1 if index.numel() else 0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _script_reduce(x: torch.Tensor, index: Optional[torch.Tensor], ptr: Optional[torch.Tensor],
                   dim_size: Optional[int], dim: int, reduce: str) -> torch.Tensor:
    """The basic reductions in plain torch ops, for torch.jit.script (TorchScript cannot compile the fused path's
    wrappers); the same conventions: empty groups 0 (1 for "mul")."""
    dim = dim % x.dim()
    if index is None:
        if ptr is not None:
            index = torch.repeat_interleave(torch.arange(ptr.numel() - 1, device=x.device), ptr.diff())
            if dim_size is None:
                dim_size = ptr.numel() - 1
        else:
            index = torch.zeros(x.size(dim), dtype=torch.long, device=x.device)
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() > 0 else 0
    shape = list(x.shape)
    shape[dim] = dim_size
    view = [1] * x.dim()
    view[dim] = -1
    idx = index.long().view(view).expand_as(x)
    if reduce == "mul":
        return x.new_ones(shape).scatter_reduce_(dim, idx, x, "prod", include_self=True)
    if reduce in ("max", "min"):
        return x.new_zeros(shape).scatter_reduce_(dim, idx, x, "a" + reduce, include_self=False)
    out = x.new_zeros(shape).scatter_add_(dim, idx, x)
    if reduce == "mean":
        count = x.new_zeros(dim_size).index_add_(0, index.long(), x.new_ones(index.numel()))
        view[dim] = dim_size
        out = out / count.clamp(min=1).view(view)
    return out


class _Basic(Aggregation):
    reduce_name = "sum"

    def __init__(self) -> None:
        super().__init__()
        self.reduce_name = type(self).reduce_name  # an instance attribute, so TorchScript sees it

    def forward(self, x: torch.Tensor, index: Optional[torch.Tensor] = None, ptr: Optional[torch.Tensor] = None,
                dim_size: Optional[int] = None, dim: int = -2) -> torch.Tensor:
        if torch.jit.is_scripting():
            return _script_reduce(x, index, ptr, dim_size, dim, self.reduce_name)
        return self.reduce(x, index, ptr, dim_size, dim, self.reduce_name)

    @torch.jit.unused
    def _fused_plan(self, x, index, ptr):
        if x.dtype not in FLOAT_DTYPES or x.dim() == 0:
            return None
        return (self.reduce_name,), {}

    @torch.jit.unused
    def _from_blocks(self, blocks: dict) -> torch.Tensor:
        return blocks[self.reduce_name]


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

    def forward(self, x: torch.Tensor, index: Optional[torch.Tensor] = None, ptr: Optional[torch.Tensor] = None,
                dim_size: Optional[int] = None, dim: int = -2) -> torch.Tensor:
        if torch.jit.is_scripting():
            return _script_reduce(x, index, None, dim_size, dim, "mul")
        self.assert_index_present(index)  # PyG: the product has no segment (ptr) form
        out = self._run_fused(x, index, None, dim_size, dim)
        return out if out is not None else self.reduce(x, index, None, dim_size, dim, "mul")

    @torch.jit.unused
    def _fused_plan(self, x, index, ptr):
        return None if index is None else super()._fused_plan(x, index, None)


class VarAggregation(Aggregation):
    """Per-group variance, PyG's mean(x^2) - mean(x)^2 (computed by Welford's update in one fused pass: the same
    value up to rounding, never negative); semi_grad: no gradient through mean(x^2), as PyG."""

    def __init__(self, semi_grad: bool = False):
        super().__init__()
        self.semi_grad = semi_grad

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        out = self._run_fused(x, index, ptr, dim_size, dim)
        if out is not None:
            return out
        return _shared(lambda: self._var(x, index, ptr, dim_size, dim), x, index, ptr, dim_size, dim, "var",
                       self.semi_grad)

    def _fused_plan(self, x, index, ptr):
        return (("var",), {"semi_grad": bool(self.semi_grad)}) if x.dtype in FLOAT_DTYPES else None

    def _from_blocks(self, blocks: dict) -> torch.Tensor:
        return blocks["var"]

    def _var(self, x, index, ptr, dim_size, dim):
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
        return _std_from_var(self.var_aggr(x, index, ptr, dim_size, dim))

    def _fused_plan(self, x, index, ptr):
        return self.var_aggr._fused_plan(x, index, ptr)

    def _from_blocks(self, blocks: dict) -> torch.Tensor:
        return _std_from_var(blocks["var"])


class SoftmaxAggregation(Aggregation):
    """sum_j softmax_j(t * x_j) * x_j per group and channel; `learn`: t is a parameter (one per channel). One fused
    pass (online softmax: running max, sum of exp(t x), sum of exp(t x) x), gradients for x and t."""

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
        if self.channels != 1:
            self.assert_two_dimensional_input(x, dim)
        out = self._run_fused(x, index, ptr, dim_size, dim)
        if out is not None:
            return out
        t = self.t.view(-1, self.channels) if self.channels != 1 else self.t
        alpha = x if isinstance(t, (int, float)) and t == 1 else x * t
        with torch.set_grad_enabled(torch.is_grad_enabled() and not (self.semi_grad and not self.learn)):
            alpha = segment_softmax(alpha, index, ptr, dim_size, dim)
        return self.reduce(x * alpha, index, ptr, dim_size, dim, "sum")

    def _fused_plan(self, x, index, ptr):
        t = self.t
        if x.dtype not in FLOAT_DTYPES or not _per_channel_ok(t, x):
            return None
        return ("softmax",), {"t": t, "semi_grad": bool(self.semi_grad and not self.learn)}

    def _from_blocks(self, blocks: dict) -> torch.Tensor:
        return blocks["softmax"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learn={self.learn})"


class PowerMeanAggregation(Aggregation):
    """(mean_j x_j^p)^(1/p) per group, inputs and result clamped to [clamp_min, clamp_max] when p != 1. The inner
    mean of clamp(x)^p is one fused pass (gradients for x and a learnable p)."""

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

    def _plain(self) -> bool:
        return isinstance(self.p, (int, float)) and self.p == 1

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        if self.channels != 1:
            self.assert_two_dimensional_input(x, dim)
        out = self._run_fused(x, index, ptr, dim_size, dim)
        if out is not None:
            return out
        p = self.p.view(-1, self.channels) if self.channels != 1 else self.p
        plain = self._plain()
        if not plain:
            x = x.clamp(min=self.min_value, max=self.max_value).pow(p)
        out = self.reduce(x, index, ptr, dim_size, dim, "mean")
        if not plain:
            out = out.clamp(min=self.min_value, max=self.max_value).pow(1.0 / p)
        return out

    def _fused_plan(self, x, index, ptr):
        if x.dtype not in FLOAT_DTYPES:
            return None
        if self._plain():
            return ("mean",), {}
        p = self.p
        if not _per_channel_ok(p, x):
            return None
        return ("powermean",), {"p": p, "clamp_min": self.min_value, "clamp_max": self.max_value}

    def _from_blocks(self, blocks: dict) -> torch.Tensor:
        if self._plain():
            return blocks["mean"]
        p = self.p.view(-1, self.channels) if self.channels != 1 else self.p
        return blocks["powermean"].clamp(min=self.min_value, max=self.max_value).pow(1.0 / p)

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
        dense, _ = self._at_least_one_slot(*self.to_dense_batch(x, index, ptr, dim_size, dim,
                                                                  max_num_elements=max_num_elements))
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


class GRUAggregation(Aggregation):
    """A GRU over each group's rows in order (PyG's GRUAggregation; needs index sorted by group); the last hidden
    state is the group's output. Not permutation invariant."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.gru = nn.GRU(in_channels, out_channels, batch_first=True, **kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gru.reset_parameters()

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2, max_num_elements=None):
        dense, _ = self._at_least_one_slot(*self.to_dense_batch(x, index, ptr, dim_size, dim,
                                                                  max_num_elements=max_num_elements))
        return self.gru(dense)[0][:, -1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


class QuantileAggregation(Aggregation):
    """The q-th quantile of each group, per feature (PyG's QuantileAggregation): position q * (n - 1) of the
    group's sorted values, between two values interpolated by `interpolation` ("linear", "lower", "higher",
    "nearest" (round half to even), "midpoint"). Several q: their results concatenated along the features.
    Groups without rows get fill_value.

    One pass over x's rows per feature column: the rows are sorted by (group, value) (two stable sorts, no
    (num_groups, max_size, F) padding), then each group's quantile is read at its offset."""

    interpolations = {"linear", "lower", "higher", "nearest", "midpoint"}

    def __init__(self, q, interpolation: str = "linear", fill_value: float = 0.0):
        super().__init__()
        qs = list(q) if isinstance(q, (list, tuple)) else [q]
        if len(qs) == 0:
            raise ValueError("Provide at least one quantile value for `q`.")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in qs):
            raise ValueError(f"`q` must be in the range [0, 1] (got {q!r}).")
        if interpolation not in self.interpolations:
            raise ValueError(f"Invalid interpolation method got ('{interpolation}'); expected one of "
                             f"{sorted(self.interpolations)}")
        self._q = q
        # float64 (PyG: the default dtype), so a quantile position q * (n - 1) is exact for q = 0.3 and n < 2**53
        self.register_buffer("q", torch.tensor(qs, dtype=torch.float64).view(-1, 1))
        self.interpolation = interpolation
        self.fill_value = fill_value

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        dim = dim % x.dim()
        index = self._group_index(x, index, ptr, dim)
        B = self._num_groups(index, dim_size)
        n = x.shape[dim]
        Q = self.q.numel()
        src = x.movedim(dim, 0)  # (n, *F)
        rest = src.shape[1:]
        if n == 0 or B == 0:
            out = src.new_full((B * Q, *rest), self.fill_value)
        else:
            idx = index.long()
            check_index_range(idx, "index", B)
            counts = count_per_index(idx, B)
            start = offsets_from_counts(counts)[:-1]
            # sorted by (group, value) per feature column: by value, then stably by group
            vals, order = src.sort(dim=0, stable=True)
            groups = idx.view(-1, *([1] * len(rest))).expand_as(src)
            _, by_group = groups.gather(0, order).sort(dim=0, stable=True)
            vals = vals.gather(0, by_group)
            # quantile position of every (group, q), group-major: row b * Q + j is group b's j-th quantile
            point = (self.q.to(torch.float64) * (counts - 1).clamp(min=0) + start).t().reshape(-1)
            lo = point.floor().long().clamp(0, n - 1)
            hi = point.ceil().long().clamp(0, n - 1)
            if self.interpolation == "lower":
                out = vals.index_select(0, lo)
            elif self.interpolation == "higher":
                out = vals.index_select(0, hi)
            elif self.interpolation == "nearest":
                out = vals.index_select(0, point.round().long().clamp(0, n - 1))
            else:
                left, right = vals.index_select(0, lo), vals.index_select(0, hi)
                if self.interpolation == "linear":
                    frac = point.frac().to(x.dtype).view(-1, *([1] * len(rest)))
                    out = left + (right - left) * frac
                else:
                    out = 0.5 * left + 0.5 * right
            empty = (counts == 0).repeat_interleave(Q, output_size=B * Q).view(-1, *([1] * len(rest)))
            out = out.masked_fill(empty, self.fill_value)
        out = out.movedim(0, dim)
        if Q > 1:  # PyG's layout: the group dimension keeps B entries, the next one takes the Q results
            shape = list(out.shape)
            out = out.reshape(shape[:dim] + [B, -1] + shape[dim + 2:])
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(q={self._q})"


class MedianAggregation(QuantileAggregation):
    """The median of each group per feature; of two middle values the lower one (PyG's MedianAggregation)."""

    def __init__(self, fill_value: float = 0.0):
        super().__init__(0.5, "lower", fill_value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _group_adjacency(index, ptr, rows: int, num_groups: int):
    """The Adjacency that reduces row e into its group (index, else the ptr segments): rows are its sources."""
    from ..ops.adjacency import segment_adjacency
    from ..ops.scatter import _index_adjacency

    if index is not None:
        return _index_adjacency(index, rows, num_groups)
    return segment_adjacency(ptr.long(), rows)


def _weighted_group_sum(x, weight, index, ptr, dim_size, dim):
    """sum of weight * x per group. A (E, 1) / (E,) weight of 2-D x runs on the fused kernel (no E x F product);
    otherwise the product is reduced."""
    if x.dim() == 2 and dim % 2 == 0 and weight.dim() <= 2 and weight.numel() == x.shape[0] and x.dtype in FLOAT_DTYPES \
            and weight.dtype == x.dtype:
        index = None if index is None and ptr is not None else Aggregation._group_index(x, index, ptr, 0)
        B = ptr.numel() - 1 if index is None else Aggregation._num_groups(index, dim_size)
        adj = _group_adjacency(index, ptr, x.shape[0], B)
        return aggregate(x, adj, weight.reshape(-1), "sum")
    return _scatter_along(weight * x, index, ptr, dim_size, dim, "sum")


class Set2Set(Aggregation):
    """Set2Set readout (Vinyals et al.; PyG's Set2Set): `processing_steps` rounds of an LSTM query q, attention
    a = softmax_group(<x, q>), r = sum_group a * x; output [q, r] (2 * in_channels).

    Each round's scores, softmax and weighted sum are the fused edge_dot / neighbor_softmax / gather_scatter
    kernels over the group CSR: no (E, F) temporaries (x[index] or a * x)."""

    def __init__(self, in_channels: int, processing_steps: int, **kwargs):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, 2 * in_channels
        self.processing_steps = processing_steps
        self.lstm = nn.LSTM(self.out_channels, in_channels, **kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lstm.reset_parameters()

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        self.assert_index_present(index)
        self.assert_two_dimensional_input(x, dim)
        if x.shape[-1] != self.in_channels:
            raise ValueError(f"Set2Set expects x with {self.in_channels} channels (in_channels), got {x.shape[-1]}")
        B = self._num_groups(index, dim_size)
        layers = self.lstm.num_layers
        h = (x.new_zeros((layers, B, self.in_channels)), x.new_zeros((layers, B, self.in_channels)))
        q_star = x.new_zeros(B, self.out_channels)
        fused = x.dtype in FLOAT_DTYPES
        adj = _group_adjacency(index, None, x.shape[0], B) if fused else None
        for _ in range(self.processing_steps):
            q, h = self.lstm(q_star.unsqueeze(0), h)
            q = q.view(B, self.in_channels)
            if fused:  # CSR order throughout: scores, their softmax, the weighted sum
                e = torch.ops.meshgraph.edge_dot(q, x, adj.rowptr, adj.col, 1, adj.rowptr_t, adj.col_t, adj.eid_t)
                a = torch.ops.meshgraph.neighbor_softmax(e, adj.rowptr, None)
                r = torch.ops.meshgraph.gather_scatter(x, adj.rowptr, adj.col, a, "sum", adj.rowptr_t, adj.col_t,
                                                       adj.eid_t)[0]
            else:
                e = (x * q[index]).sum(dim=-1, keepdim=True)
                a = segment_softmax(e, index, None, B)
                r = self.reduce(a * x, index, None, B, dim, "sum")
            q_star = torch.cat([q, r], dim=-1)
        return q_star

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"


class SortAggregation(Aggregation):
    """SortPool (Zhang et al.; PyG's SortAggregation): each group's rows sorted by their last channel, descending,
    the first k kept (fewer: zero rows appended), flattened to (num_groups, k * F). Needs 2-D x and index sorted
    by group; with max_num_elements only each group's first max_num_elements rows take part.

    The rows are ordered by (group, -last channel) and scattered into the (num_groups, k, F) output: no
    (num_groups, max_size, F) padding."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2, max_num_elements=None):
        index = self._group_index(x, index, ptr, dim)
        self.assert_sorted_index(index)
        self.assert_two_dimensional_input(x, dim)
        B = self._num_groups(index, dim_size)
        idx = index.long()
        check_index_range(idx, "index", B)
        start = offsets_from_counts(count_per_index(idx, B))[:-1]
        rows = torch.arange(x.shape[0], device=x.device)
        if max_num_elements is not None:
            rows = rows[rows - start[idx] < max_num_elements]
        key = x.detach()[rows, -1] if x.shape[1] else x.new_zeros(rows.shape[0])
        order = rows[torch.argsort(key, descending=True, stable=True)]
        order = order[torch.argsort(idx[order], stable=True)]
        group = idx[order]
        kept = torch.zeros(B, dtype=torch.long, device=x.device).index_add_(0, group, torch.ones_like(group))
        rank = torch.arange(order.shape[0], device=x.device) - offsets_from_counts(kept)[:-1][group]
        take = rank < self.k
        out = x.new_zeros(B, self.k, x.shape[1])
        out = out.index_put((group[take], rank[take]), x[order[take]])
        return out.view(B, self.k * x.shape[1])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k})"


def _split_mlp(module):
    """(module, None) for a plain module, (None, module) for a meshgraph MLP (called with the batch vector), as
    PyG stores them (gate_nn / gate_mlp, nn / mlp, ...)."""
    return (None, module) if isinstance(module, MLP) else (module, None)


def _reset(module) -> None:
    if module is not None:
        from .conv import reset

        reset(module)


class AttentionalAggregation(Aggregation):
    """Global soft attention (Li et al.; PyG's AttentionalAggregation): sum_group softmax_group(gate_nn(x)) *
    nn(x). A one-channel gate on 2-D x runs the weighted sum on the fused kernel."""

    def __init__(self, gate_nn: nn.Module, nn: nn.Module | None = None):
        super().__init__()
        self.gate_nn, self.gate_mlp = _split_mlp(gate_nn)
        self.nn, self.mlp = _split_mlp(nn)

    def reset_parameters(self) -> None:
        for m in (self.gate_nn, self.gate_mlp, self.nn, self.mlp):
            _reset(m)

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        gate = self.gate_mlp(x, batch=index, batch_size=dim_size) if self.gate_mlp is not None else self.gate_nn(x)
        if self.mlp is not None:
            x = self.mlp(x, batch=index, batch_size=dim_size)
        elif self.nn is not None:
            x = self.nn(x)
        gate = segment_softmax(gate, index, ptr, dim_size, dim)
        if gate.dim() == x.dim() and gate.shape[-1] == 1:
            return _weighted_group_sum(x, gate, index, ptr, dim_size, dim)
        return self.reduce(gate * x, index, ptr, dim_size, dim)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(gate_nn={self.gate_mlp or self.gate_nn}, nn={self.mlp or self.nn})"


class DeepSetsAggregation(Aggregation):
    """Deep Sets (Zaheer et al.; PyG's DeepSetsAggregation): global_nn(sum_group local_nn(x))."""

    def __init__(self, local_nn: nn.Module | None = None, global_nn: nn.Module | None = None):
        super().__init__()
        self.local_nn, self.local_mlp = _split_mlp(local_nn)
        self.global_nn, self.global_mlp = _split_mlp(global_nn)

    def reset_parameters(self) -> None:
        for m in (self.local_nn, self.local_mlp, self.global_nn, self.global_mlp):
            _reset(m)

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        if self.local_mlp is not None:
            x = self.local_mlp(x, batch=index, batch_size=dim_size)
        if self.local_nn is not None:
            x = self.local_nn(x)
        x = self.reduce(x, index, ptr, dim_size, dim, "sum")
        if self.global_mlp is not None:
            x = self.global_mlp(x, batch=index, batch_size=dim_size)
        elif self.global_nn is not None:
            x = self.global_nn(x)
        return x

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(local_nn={self.local_mlp or self.local_nn}, "
                f"global_nn={self.global_mlp or self.global_nn})")


# ---------------------------------------------------------------------- set-transformer blocks (PyG's aggr.utils)


class MultiheadAttentionBlock(nn.Module):
    """MAB(x, y) = LN(h + relu(Linear(h))), h = LN(x + MultiheadAttention(x, y, y)) (Lee et al.; PyG's
    aggr.utils.MultiheadAttentionBlock). x_mask / y_mask: (B, N) True for real rows; masked query rows get 0
    attention output. TorchScript-compatible."""

    def __init__(self, channels: int, heads: int = 1, layer_norm: bool = True, dropout: float = 0.0,
                 device: torch.device | None = None):
        super().__init__()
        self.channels, self.heads, self.dropout = channels, heads, dropout
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True, dropout=dropout, device=device)
        self.lin = nn.Linear(channels, channels, device=device)
        self.layer_norm1 = nn.LayerNorm(channels, device=device) if layer_norm else None
        self.layer_norm2 = nn.LayerNorm(channels, device=device) if layer_norm else None

    def reset_parameters(self) -> None:
        self.attn._reset_parameters()
        self.lin.reset_parameters()
        if self.layer_norm1 is not None:
            self.layer_norm1.reset_parameters()
        if self.layer_norm2 is not None:
            self.layer_norm2.reset_parameters()

    def forward(self, x: torch.Tensor, y: torch.Tensor, x_mask: Optional[torch.Tensor] = None,
                y_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        key_padding_mask: Optional[torch.Tensor] = None
        if y_mask is not None:
            key_padding_mask = ~y_mask
        out, _ = self.attn(x, y, y, key_padding_mask, need_weights=False)
        if x_mask is not None:
            out = out.masked_fill(~x_mask.unsqueeze(-1), 0.0)
        out = out + x
        if self.layer_norm1 is not None:
            out = self.layer_norm1(out)
        out = out + self.lin(out).relu()
        if self.layer_norm2 is not None:
            out = self.layer_norm2(out)
        return out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, heads={self.heads}, "
                f"layer_norm={self.layer_norm1 is not None}, dropout={self.dropout})")


class SetAttentionBlock(nn.Module):
    """SAB(x) = MAB(x, x) (PyG's aggr.utils.SetAttentionBlock)."""

    def __init__(self, channels: int, heads: int = 1, layer_norm: bool = True, dropout: float = 0.0):
        super().__init__()
        self.mab = MultiheadAttentionBlock(channels, heads, layer_norm, dropout)

    def reset_parameters(self) -> None:
        self.mab.reset_parameters()

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.mab(x, x, mask, mask)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.mab.channels}, heads={self.mab.heads}, "
                f"layer_norm={self.mab.layer_norm1 is not None}, dropout={self.mab.dropout})")


class InducedSetAttentionBlock(nn.Module):
    """ISAB(x) = MAB(x, MAB(I, x)) with num_induced_points learned rows I (PyG's
    aggr.utils.InducedSetAttentionBlock)."""

    def __init__(self, channels: int, num_induced_points: int, heads: int = 1, layer_norm: bool = True,
                 dropout: float = 0.0):
        super().__init__()
        self.ind = nn.Parameter(torch.empty(1, num_induced_points, channels))
        self.mab1 = MultiheadAttentionBlock(channels, heads, layer_norm, dropout)
        self.mab2 = MultiheadAttentionBlock(channels, heads, layer_norm, dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.ind)
        self.mab1.reset_parameters()
        self.mab2.reset_parameters()

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.mab1(self.ind.expand(x.size(0), -1, -1), x, y_mask=mask)
        return self.mab2(x, h, x_mask=mask)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.ind.size(2)}, num_induced_points={self.ind.size(1)}, "
                f"heads={self.mab1.heads}, layer_norm={self.mab1.layer_norm1 is not None}, "
                f"dropout={self.mab1.dropout})")


class PoolingByMultiheadAttention(nn.Module):
    """PMA(x) = MAB(S, relu(Linear(x))) with num_seed_points learned seed rows S (PyG's
    aggr.utils.PoolingByMultiheadAttention): (B, N, F) -> (B, num_seed_points, F)."""

    def __init__(self, channels: int, num_seed_points: int = 1, heads: int = 1, layer_norm: bool = True,
                 dropout: float = 0.0):
        super().__init__()
        self.lin = nn.Linear(channels, channels)
        self.seed = nn.Parameter(torch.empty(1, num_seed_points, channels))
        self.mab = MultiheadAttentionBlock(channels, heads, layer_norm, dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        nn.init.xavier_uniform_(self.seed)
        self.mab.reset_parameters()

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.lin(x).relu()
        return self.mab(self.seed.expand(x.size(0), -1, -1), x, y_mask=mask)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.seed.size(2)}, num_seed_points={self.seed.size(1)}, "
                f"heads={self.mab.heads}, layer_norm={self.mab.layer_norm1 is not None}, "
                f"dropout={self.mab.dropout})")


class SetTransformerAggregation(Aggregation):
    """Set Transformer readout (Lee et al.; PyG's SetTransformerAggregation): encoder SABs, PMA to
    num_seed_points rows, decoder SABs on the padded (num_groups, max_size, F) batch; output the seed rows
    concatenated (concat) or averaged. Groups without rows give 0. Needs 2-D x and index sorted by group."""

    def __init__(self, channels: int, num_seed_points: int = 1, num_encoder_blocks: int = 1,
                 num_decoder_blocks: int = 1, heads: int = 1, concat: bool = True, layer_norm: bool = False,
                 dropout: float = 0.0):
        super().__init__()
        self.channels, self.num_seed_points, self.heads = channels, num_seed_points, heads
        self.concat, self.layer_norm, self.dropout = concat, layer_norm, dropout
        self.encoders = nn.ModuleList([SetAttentionBlock(channels, heads, layer_norm, dropout)
                                       for _ in range(num_encoder_blocks)])
        self.pma = PoolingByMultiheadAttention(channels, num_seed_points, heads, layer_norm, dropout)
        self.decoders = nn.ModuleList([SetAttentionBlock(channels, heads, layer_norm, dropout)
                                       for _ in range(num_decoder_blocks)])

    def reset_parameters(self) -> None:
        for block in (*self.encoders, self.pma, *self.decoders):
            block.reset_parameters()

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2, max_num_elements=None):
        dense, mask = self._at_least_one_slot(*self.to_dense_batch(x, index, ptr, dim_size, dim,
                                                                     max_num_elements=max_num_elements))
        for encoder in self.encoders:
            dense = encoder(dense, mask)
        dense = self.pma(dense, mask)
        for decoder in self.decoders:
            dense = decoder(dense)
        dense = dense.nan_to_num()
        return dense.flatten(1, 2) if self.concat else dense.mean(dim=1)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.channels}, num_seed_points={self.num_seed_points}, "
                f"heads={self.heads}, layer_norm={self.layer_norm}, dropout={self.dropout})")


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

    def forward(self, x: torch.Tensor, index: Optional[torch.Tensor] = None, ptr: Optional[torch.Tensor] = None,
                dim_size: Optional[int] = None, dim: int = -2) -> torch.Tensor:
        if not torch.jit.is_scripting():
            return self.combine(self._shared_outputs(x, index, ptr, dim_size, dim))
        outs: List[torch.Tensor] = []
        for a in self.aggrs:
            outs.append(a(x, index, ptr, dim_size, dim))
        return self.combine(outs)

    @torch.jit.unused
    def _shared_outputs(self, x: torch.Tensor, index: Optional[torch.Tensor], ptr: Optional[torch.Tensor],
                        dim_size: Optional[int], dim: int) -> List[torch.Tensor]:
        """Each aggregation's result. The members that run on the fused segment kernel are grouped by compatible
        options and each group is one kernel call, one pass over the rows (PNA's mean / min / max / std: one
        call). The others run on their own, the reductions they have in common computed once
        (Aggregation.reduce).

        As PyG's FusedAggregation (used by its MultiAggregation for 2-D x with an index), var and std members
        then share one semi_grad: on when any of them asks for it."""
        plans = [a._fused_plan(x, index, ptr) for a in self.aggrs]
        if index is not None and x.dim() == 2 and dim in (-2, 0):
            moments = [i for i, a in enumerate(self.aggrs) if isinstance(a, (VarAggregation, StdAggregation))]
            semi = any(plans[i] is not None and plans[i][1]["semi_grad"] for i in moments)
            for i in moments:
                if plans[i] is not None:
                    plans[i] = (plans[i][0], {**plans[i][1], "semi_grad": semi})
        groups: List[list] = []  # [merged plan, member positions]
        for i, plan in enumerate(plans):
            if plan is None:
                continue
            for group in groups:
                merged = _merge_plans([group[0], plan])
                if merged is not None:
                    group[0] = merged
                    group[1].append(i)
                    break
            else:
                groups.append([plan, [i]])
        outs: List[Optional[torch.Tensor]] = [None] * len(self.aggrs)
        for plan, members in groups:
            blocks = _fused_blocks(x, index, ptr, dim_size, dim, *plan)
            for i in members:
                outs[i] = self.aggrs[i]._from_blocks(blocks)
        rest = [i for i, out in enumerate(outs) if out is None]
        if rest and torch.compiler.is_compiling():
            for i in rest:
                outs[i] = self.aggrs[i](x, index, ptr, dim_size, dim)
        elif rest:
            token = _SHARED_REDUCTIONS.set({})
            try:
                for i in rest:
                    outs[i] = self.aggrs[i](x, index, ptr, dim_size, dim)
            finally:
                _SHARED_REDUCTIONS.reset(token)
        return outs

    def combine(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """The aggregations' results combined by `mode` (TorchScript-compatible)."""
        if len(inputs) == 1:
            return inputs[0]
        if self.mode == "cat":
            return torch.cat(inputs, dim=-1)
        if hasattr(self, "lin"):  # mode "proj"
            return self.lin(torch.cat(inputs, dim=-1))
        if hasattr(self, "multihead_attn"):  # mode "attn"
            heads: List[torch.Tensor] = []
            i = 0
            for lin in self.lin_heads.lins.values():
                heads.append(lin(inputs[i]))
                i += 1
            x = torch.stack(heads, dim=0)
            return self.multihead_attn(x, x, x)[0].mean(dim=0)
        stacked = torch.stack(inputs, dim=0)
        if self.mode == "sum":
            return stacked.sum(dim=0)
        if self.mode == "mean":
            return stacked.mean(dim=0)
        if self.mode == "max":
            return stacked.max(dim=0)[0]
        if self.mode == "min":
            return stacked.min(dim=0)[0]
        if self.mode == "logsumexp":
            return torch.logsumexp(stacked, dim=0)
        if self.mode == "std":
            return stacked.std(dim=0)
        if self.mode == "var":
            return stacked.var(dim=0)
        raise ValueError(f"Combine mode '{self.mode}' is not supported.")

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {a}" for a in self.aggrs) + ",\n"
        return f"{type(self).__name__}([\n{inner}], mode={self.mode})"


_BY_NAME = {
    "sum": SumAggregation, "add": SumAggregation, "mean": MeanAggregation, "max": MaxAggregation,
    "min": MinAggregation, "mul": MulAggregation, "var": VarAggregation, "std": StdAggregation,
    "softmax": SoftmaxAggregation, "powermean": PowerMeanAggregation, "lstm": LSTMAggregation, "mlp": MLPAggregation,
    "median": MedianAggregation, "quantile": QuantileAggregation, "gru": GRUAggregation, "set2set": Set2Set,
    "sort": SortAggregation, "attentional": AttentionalAggregation, "deepsets": DeepSetsAggregation,
    "settransformer": SetTransformerAggregation,
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
    "AttentionalAggregation", "DeepSetsAggregation", "GRUAggregation", "InducedSetAttentionBlock",
    "MedianAggregation", "MultiheadAttentionBlock", "PoolingByMultiheadAttention", "QuantileAggregation",
    "SetAttentionBlock", "SetTransformerAggregation", "Set2Set", "SortAggregation",
    "Aggregation", "LSTMAggregation", "MLPAggregation", "MaxAggregation", "MeanAggregation", "MinAggregation", "MulAggregation", "MultiAggregation",
    "PowerMeanAggregation", "SoftmaxAggregation", "StdAggregation", "SumAggregation", "VarAggregation",
    "aggregation_resolver", "segment_softmax",
]
