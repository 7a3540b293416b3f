"""MLP: Linear layers with normalization, activation and dropout between them (PyG's `MLP` constructor, forward
and state-dict layout: `lins.<k>` Linear layers, `norms.<k>` the norm layers, e.g. `norms.<k>.module` for
BatchNorm's BatchNorm1d)."""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from .linear import Linear
from .norm import BatchNorm, normalization_resolver

_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh,
                "sigmoid": nn.Sigmoid, "silu": nn.SiLU, "swish": nn.SiLU, "prelu": nn.PReLU}


def _activation(act, **kwargs):
    if act is None or isinstance(act, nn.Module) or (callable(act) and not isinstance(act, str)):
        return act
    key = act.lower().replace("_", "") if isinstance(act, str) else act
    for name, cls in _ACTIVATIONS.items():
        if key == name.replace("_", ""):
            return cls(**kwargs)
    raise ValueError(f"activation {act!r} is not supported (meshgraph implements {sorted(_ACTIVATIONS)})")


class MLP(nn.Module):
    """A multi-layer perceptron over node features (PyG's MLP).

    Args:
        channel_list: the widths [in, hidden..., out] (or an int: in_channels, with the keywords below).
        in_channels, hidden_channels, out_channels, num_layers: the widths the other way.
        dropout: after each layer (a float: all but the last when plain_last; or one per layer).
        act: "relu" (default), another name of `_ACTIVATIONS`, a module / callable, or None; act_first: before
            the norm; act_kwargs: its arguments.
        norm: a norm layer's name ("batch_norm" (default), "layer_norm", "graph_norm", "instance_norm", ... as
            `meshgraph.nn.norm.normalization_resolver` reads them), a module (used after every layer, as PyG),
            or None; norm_kwargs: the norm's arguments. Norms whose forward takes `batch` get forward's batch
            and batch_size.
        plain_last: no norm / activation / dropout after the last layer; bias: a bool or one per layer.
    """

    def __init__(self, channel_list=None, *, in_channels: int | None = None, hidden_channels: int | None = None,
                 out_channels: int | None = None, num_layers: int | None = None, dropout=0.0, act="relu",
                 act_first: bool = False, act_kwargs: dict | None = None, norm="batch_norm",
                 norm_kwargs: dict | None = None, plain_last: bool = True, bias=True, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"MLP got unsupported arguments {sorted(kwargs)}")
        if isinstance(channel_list, int):
            in_channels = channel_list
        if in_channels is not None:
            if num_layers is None:
                raise ValueError("Argument `num_layers` must be given")
            if num_layers > 1 and hidden_channels is None:
                raise ValueError(f"Argument `hidden_channels` must be given for `num_layers={num_layers}`")
            if out_channels is None:
                raise ValueError("Argument `out_channels` must be given")
            channel_list = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        if not isinstance(channel_list, (tuple, list)) or len(channel_list) < 2:
            raise ValueError("MLP needs at least two channel sizes")
        self.channel_list = list(channel_list)
        n = len(channel_list) - 1
        self.act = _activation(act, **(act_kwargs or {}))
        self.act_first, self.plain_last = act_first, plain_last
        if isinstance(dropout, (int, float)):
            dropout = [float(dropout)] * n
            if plain_last:
                dropout[-1] = 0.0
        if len(dropout) != n:
            raise ValueError(f"Number of dropout values provided ({len(dropout)} does not match the number of layers "
                             f"specified ({n})")
        self.dropout = list(dropout)
        if isinstance(bias, bool):
            bias = [bias] * n
        if len(bias) != n:
            raise ValueError(f"Number of bias values provided ({len(bias)}) does not match the number of layers "
                             f"specified ({n})")
        self.lins = nn.ModuleList(Linear(a, b, bias=c) for a, b, c in zip(channel_list[:-1], channel_list[1:], bias))
        widths = channel_list[1:-1] if plain_last else channel_list[1:]
        self.norms = nn.ModuleList((normalization_resolver(norm, c, **(norm_kwargs or {})) if norm is not None
                                    else nn.Identity()) for c in widths)
        self.supports_norm_batch = bool(self.norms) and hasattr(self.norms[0], "forward") and (
            "batch" in inspect.signature(self.norms[0].forward).parameters)
        self.reset_parameters()

    @property
    def in_channels(self) -> int:
        return self.channel_list[0]

    @property
    def out_channels(self) -> int:
        return self.channel_list[-1]

    @property
    def num_layers(self) -> int:
        return len(self.channel_list) - 1

    def reset_parameters(self) -> None:
        for m in (*self.lins, *self.norms):
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def forward(self, x: torch.Tensor, batch: torch.Tensor | None = None, batch_size: int | None = None,
                return_emb=None):
        """(N, in) -> (N, out); with return_emb=True also the last hidden embedding."""
        emb = None
        for i, (lin, norm) in enumerate(zip(self.lins, self.norms)):
            x = lin(x)
            if self.act is not None and self.act_first:
                x = self.act(x)
            x = norm(x, batch, batch_size) if self.supports_norm_batch else norm(x)
            if self.act is not None and not self.act_first:
                x = self.act(x)
            x = F.dropout(x, p=self.dropout[i], training=self.training)
            if return_emb is True:
                emb = x
        if self.plain_last:
            x = self.lins[-1](x)
            x = F.dropout(x, p=self.dropout[-1], training=self.training)
        return (x, emb) if isinstance(return_emb, bool) else x

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.channel_list)[1:-1]})"


__all__ = ["MLP", "BatchNorm"]
