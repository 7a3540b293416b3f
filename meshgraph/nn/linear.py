"""Linear: x @ W^T + b with PyG's constructor (lazy `in_channels=-1`, named initializers) and torch.nn.Linear's
parameter names and shapes (`weight` (out, in), `bias` (out,)), so PyG and torch checkpoints load as they are.
Takes dense or sparse COO inputs (bag-of-words features: see `functional.linear`).

HeteroLinear (a Linear per type, selected by a type vector) and HeteroDictLinear (a Linear per key of a feature
dict) are PyG's `torch_geometric.nn.dense.linear` classes, with its parameter names and shapes."""

from __future__ import annotations

import math
from typing import Dict, List, Optional

import torch
from torch import nn

from .._utils import check_index_range, check_index_tensor, check_same_device, check_tensor
from .functional import linear


class Linear(nn.Module):
    """Args:
        in_channels: input width, or -1 to take it from the first input (or from a loaded state dict).
        out_channels: output width.
        bias: learn an additive bias.
        weight_initializer: None / "kaiming_uniform" (torch.nn.Linear's default), "glorot" (Xavier uniform),
            "uniform" (U(-1/sqrt(in), 1/sqrt(in))) or "zeros".
        bias_initializer: None (U(-1/sqrt(in), 1/sqrt(in)), torch's default) or "zeros".
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True, weight_initializer: str | None = None,
                 bias_initializer: str | None = None):
        super().__init__()
        if weight_initializer not in (None, "kaiming_uniform", "glorot", "uniform", "zeros"):
            raise ValueError(f"weight_initializer {weight_initializer!r} is not supported")
        if bias_initializer not in (None, "zeros"):
            raise ValueError(f"bias_initializer {bias_initializer!r} is not supported")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.weight_initializer, self.bias_initializer = weight_initializer, bias_initializer
        if in_channels > 0:
            self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        else:
            self.weight = nn.parameter.UninitializedParameter()
            self._hook = self.register_forward_pre_hook(self.initialize_parameters)
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    @property
    def is_lazy(self) -> bool:
        return isinstance(self.weight, nn.parameter.UninitializedParameter)

    def reset_parameters(self) -> None:
        if self.is_lazy:
            return
        fan_in = self.weight.shape[1]
        if self.weight_initializer == "glorot":
            nn.init.xavier_uniform_(self.weight)
        elif self.weight_initializer == "uniform":
            bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
            nn.init.uniform_(self.weight, -bound, bound)
        elif self.weight_initializer == "zeros":
            nn.init.zeros_(self.weight)
        else:
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            if self.bias_initializer == "zeros" or fan_in == 0:
                nn.init.zeros_(self.bias)
            else:
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(self.bias, -bound, bound)

    def _materialize(self, in_channels: int) -> None:
        self.weight.materialize((self.out_channels, in_channels))
        self.in_channels = in_channels
        self._hook.remove()
        del self._hook
        self.reset_parameters()

    def initialize_parameters(self, module: nn.Module, input) -> None:
        """Forward pre-hook of a lazy layer: materialize the weight from the first input's width."""
        if self.is_lazy:
            self._materialize(input[0].shape[-1])

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # a lazy weight has no data to detach: it is saved as the uninitialized parameter itself (PyG's Linear)
        for name in ("weight", "bias"):
            p = getattr(self, name)
            if p is not None:
                destination[prefix + name] = p if keep_vars or isinstance(p, nn.parameter.UninitializedParameter) else p.detach()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        key = prefix + "weight"
        weight = state_dict.get(key)
        if isinstance(weight, nn.parameter.UninitializedParameter):
            # A lazy layer's checkpoint: this layer becomes (or stays) lazy, as PyG's Linear does; the uninitialized
            # weight has no data to copy, so it is left out of the copy and not reported missing.
            if not self.is_lazy:
                self.in_channels = -1
                self.weight = nn.parameter.UninitializedParameter()
                self._hook = self.register_forward_pre_hook(self.initialize_parameters)
            rest = {k: v for k, v in state_dict.items() if k != key}
            super()._load_from_state_dict(rest, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
            if key in missing_keys:
                missing_keys.remove(key)
            return
        if self.is_lazy and isinstance(weight, torch.Tensor):
            self._materialize(weight.shape[-1])
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, bias={self.bias is not None})"


def _reset_weight(weight: torch.Tensor, in_channels: int, initializer: str | None) -> None:
    """PyG's reset_weight_ for a (..., in, out) weight: U(-1/sqrt(in), 1/sqrt(in)) for None / "kaiming_uniform"
    / "uniform" (kaiming with a = sqrt(5) has that bound), Xavier over the last two dims for "glorot"."""
    if in_channels <= 0 or isinstance(weight, nn.parameter.UninitializedParameter):
        return
    with torch.no_grad():
        if initializer == "glorot":
            bound = math.sqrt(6.0 / (weight.size(-2) + weight.size(-1)))
        elif initializer in (None, "kaiming_uniform", "uniform"):
            bound = 1.0 / math.sqrt(in_channels)
        else:
            raise RuntimeError(f"Weight initializer '{initializer}' not supported")
        weight.uniform_(-bound, bound)


def _reset_bias(bias: torch.Tensor | None, in_channels: int, initializer: str | None) -> None:
    if bias is None or in_channels <= 0:
        return
    with torch.no_grad():
        if initializer == "zeros":
            bias.zero_()
        elif initializer is None:
            bound = 1.0 / math.sqrt(in_channels)
            bias.uniform_(-bound, bound)
        else:
            raise RuntimeError(f"Bias initializer '{initializer}' not supported")


class HeteroLinear(nn.Module):
    """One Linear per type: out[i] = x[i] @ weight[type_vec[i]] + bias[type_vec[i]] (PyG's HeteroLinear).

    Args:
        in_channels: input width, or -1 to take it from the first input.
        out_channels: output width.
        num_types: number of types; type_vec holds values in [0, num_types).
        is_sorted: type_vec is sorted (skips the check and the sort).
        **kwargs: bias (default True), weight_initializer (None, "kaiming_uniform", "uniform", "glorot"),
            bias_initializer (None, "zeros").

    Parameters as PyG's: weight (num_types, in_channels, out_channels), bias (num_types, out_channels).
    The rows are sorted by type once (stable; skipped when already sorted) and each type's block of rows is one
    GEMM (no per-row weight gather and no (N, in, out) tensor); the per-type loop runs over types, not rows.
    """

    def __init__(self, in_channels: int, out_channels: int, num_types: int, is_sorted: bool = False, **kwargs):
        super().__init__()
        unknown = set(kwargs) - {"bias", "weight_initializer", "bias_initializer"}
        if unknown:
            raise TypeError(f"HeteroLinear got unexpected keyword arguments {sorted(unknown)}")
        if isinstance(num_types, bool) or not isinstance(num_types, int) or num_types < 1:
            raise ValueError(f"num_types must be a positive int, got {num_types!r}")
        self.in_channels, self.out_channels, self.num_types = in_channels, out_channels, num_types
        self.is_sorted = is_sorted
        self.kwargs = kwargs
        if in_channels == -1:
            self.weight = nn.parameter.UninitializedParameter()
            self._hook = self.register_forward_pre_hook(self.initialize_parameters)
        else:
            self.weight = nn.Parameter(torch.empty(num_types, in_channels, out_channels))
        if kwargs.get("bias", True):
            self.bias = nn.Parameter(torch.empty(num_types, out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_weight(self.weight, self.in_channels, self.kwargs.get("weight_initializer"))
        _reset_bias(self.bias, self.in_channels, self.kwargs.get("bias_initializer"))

    def forward_naive(self, x: torch.Tensor, type_ptr: torch.Tensor) -> torch.Tensor:
        """x sorted by type, type_ptr (num_types + 1,) offsets: one GEMM per type block (no bias)."""
        sizes: List[int] = type_ptr.diff().tolist()  # one device sync for the block sizes
        blocks: List[torch.Tensor] = []
        for t, xb in enumerate(torch.split(x, sizes)):
            if xb.shape[0] > 0:
                blocks.append(xb @ self.weight[t])
        if len(blocks) == 0:
            return x.new_empty(x.shape[0], self.out_channels)
        return torch.cat(blocks) if len(blocks) > 1 else blocks[0]

    def forward_segmm(self, x: torch.Tensor, type_ptr: torch.Tensor) -> torch.Tensor:
        """PyG's segment-matmul entry point (pyg_lib there): here the same per-block GEMMs as forward_naive."""
        return self.forward_naive(x, type_ptr)

    def forward(self, x: torch.Tensor, type_vec: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels), type_vec: (N,) int -> (N, out_channels). TorchScript-compatible (the input
        checks are skipped when scripted)."""
        if not torch.jit.is_scripting():
            self._check_input(x, type_vec)
        type_vec = type_vec.long()
        perm: Optional[torch.Tensor] = None
        if not self.is_sorted and type_vec.numel() > 1 and bool((type_vec[1:] < type_vec[:-1]).any()):
            perm = torch.argsort(type_vec, stable=True)
            type_vec = type_vec[perm]
            x = x[perm]
        counts = torch.zeros(self.num_types, dtype=torch.long, device=x.device)
        counts = counts.index_add_(0, type_vec, torch.ones_like(type_vec))
        type_ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        out = self.forward_segmm(x, type_ptr)
        if self.bias is not None:
            out = out + self.bias[type_vec]
        if perm is not None:  # back to the input order
            out = torch.empty_like(out).index_copy_(0, perm, out)
        return out

    @torch.jit.unused
    def _check_input(self, x: torch.Tensor, type_vec: torch.Tensor) -> None:
        check_tensor(x, "x", dim=2)
        check_index_tensor(type_vec, "type_vec", dim=1)
        check_same_device(x=x, type_vec=type_vec)
        if x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"HeteroLinear expects x with {self.weight.shape[1]} channels (in_channels), got "
                             f"{x.shape[1]}")
        if type_vec.shape[0] != x.shape[0]:
            raise ValueError(f"type_vec must have one entry per row of x ({x.shape[0]}), got {type_vec.shape[0]}")
        check_index_range(type_vec, "type_vec", self.num_types)

    @torch.no_grad()
    def initialize_parameters(self, module, input) -> None:
        """Forward pre-hook of a lazy layer: materialize the weight from the first input's width."""
        if isinstance(self.weight, nn.parameter.UninitializedParameter):
            self.in_channels = input[0].size(-1)
            self.weight.materialize((self.num_types, self.in_channels, self.out_channels))
            self.reset_parameters()
        self._hook.remove()
        delattr(self, "_hook")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, num_types={self.num_types}, "
                f"bias={self.kwargs.get('bias', True)})")


@torch.jit.unused
def _check_dict(x_dict: Dict[str, torch.Tensor]) -> None:
    if not isinstance(x_dict, dict):
        raise TypeError(f"HeteroDictLinear takes a dict of feature tensors (x_dict), got {type(x_dict).__name__}")


class HeteroDictLinear(nn.Module):
    """One `Linear` per key of a feature dict (PyG's HeteroDictLinear): forward({type: x}) -> {type: lin(x)} for
    the types present. in_channels: an int for every type in `types`, or a {type: width} dict (-1: lazy).
    kwargs go to each Linear (bias, weight_initializer, bias_initializer). State dict: `lins.<type>.weight` /
    `.bias`, as PyG's."""

    def __init__(self, in_channels, out_channels: int, types=None, **kwargs):
        super().__init__()
        if isinstance(in_channels, dict):
            self.types = list(in_channels.keys())
            if any(c == -1 for c in in_channels.values()):
                self._hook = self.register_forward_pre_hook(self.initialize_parameters)
            if types is not None and set(self.types) != set(types):
                raise ValueError("The provided 'types' do not match with the keys in the 'in_channels' dictionary")
        else:
            if types is None:
                raise ValueError("Please provide a list of 'types' if passing 'in_channels' as an integer")
            if in_channels == -1:
                self._hook = self.register_forward_pre_hook(self.initialize_parameters)
            self.types = types
            in_channels = {t: in_channels for t in types}
        self.in_channels, self.out_channels, self.kwargs = in_channels, out_channels, kwargs
        self.lins = nn.ModuleDict({key: Linear(c, out_channels, **kwargs) for key, c in in_channels.items()})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.lins.values():
            lin.reset_parameters()

    def forward(self, x_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """{type: (N_type, in_channels[type])} -> {type: (N_type, out_channels)} for the types present.
        TorchScript-compatible."""
        if not torch.jit.is_scripting():
            _check_dict(x_dict)
        out_dict: Dict[str, torch.Tensor] = {}
        for key, lin in self.lins.items():
            if key in x_dict:
                out_dict[key] = lin(x_dict[key])
        return out_dict

    @torch.no_grad()
    def initialize_parameters(self, module, input) -> None:
        """Forward pre-hook: materialize the lazy Linear of every type in the first input."""
        for key, x in input[0].items():
            lin = self.lins[key]
            if lin.is_lazy:
                lin.initialize_parameters(None, (x,))
        self._hook.remove()
        self.in_channels = {key: x.size(-1) for key, x in input[0].items()}
        delattr(self, "_hook")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, bias={self.kwargs.get('bias', True)})"
