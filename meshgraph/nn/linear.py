"""Linear: x @ W^T + b with PyG's constructor (lazy `in_channels=-1`, named initializers) and torch.nn.Linear's
parameter names and shapes (`weight` (out, in), `bias` (out,)), so PyG and torch checkpoints load as they are.
Takes dense or sparse COO inputs (bag-of-words features: see `functional.linear`)."""

from __future__ import annotations

import math

import torch
from torch import nn

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
