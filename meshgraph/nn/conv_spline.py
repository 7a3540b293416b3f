"""SplineConv (Fey et al., "SplineCNN", 2018) with PyG 2.8's constructor, forward signature, parameter and buffer
names (`weight` (K, in, out), `lin` (the root weight), `bias`, buffers `kernel_size` and `is_open_spline`: a PyG
state dict loads) and semantics (torch_spline_conv / pyg-lib's spline_basis + spline_weighting).

The sum / mean aggregations run fused: the edges' B-spline basis (`spline_basis`, a kernel) and one
`spline_weighting` kernel that gathers, weights and reduces per destination, with no (E, out_channels) messages in
forward or backward. Other aggregations (max, an Aggregation module, a list), hooks on the messages and subclasses
that override `message` go through `propagate`, whose `message` is the same kernel per edge.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..ops.spline_basis import check_degree, check_kernel_sizes, spline_basis
from ..ops.spline_weighting import aggregate as _spline_aggregate
from ..ops.spline_weighting import spline_weighting
from ._edges import edge_adjacency, is_sparse, read_edges
from .conv import _observed
from .conv_spectral import _check_width
from .linear import Linear
from .message_passing import MessagePassing


def _repeat(src, length: int) -> list:
    """PyG's utils.repeat for the constructor's per-dimension arguments: a scalar is repeated, a longer sequence
    truncated, a shorter one padded with its last entry."""
    if isinstance(src, torch.Tensor):
        src = src.tolist() if src.dim() else [src.item()]
    if isinstance(src, (bool, int, float)):
        return [src] * length
    src = list(src)
    if not src:
        raise ValueError("SplineConv: kernel_size / is_open_spline must not be empty")
    return src[:length] + [src[-1]] * max(0, length - len(src))


def _uniform(size: int, t: torch.Tensor) -> None:
    """PyG's inits.uniform: U(-1 / sqrt(size), 1 / sqrt(size))."""
    bound = 1.0 / math.sqrt(size)
    with torch.no_grad():
        t.uniform_(-bound, bound)


class SplineConv(MessagePassing):
    """Spline-based convolution (PyG's SplineConv):
    out_i = root(x_i) + aggr_{j -> i} sum_s B_s(e_ji) (x_j @ W[k_s(e_ji)]) + b,
    with B_s the degree-`degree` B-spline tensor-product basis of the pseudo-coordinates e_ji = edge_attr (in
    [0, 1]^dim; values outside wrap around) over a grid of kernel_size weights per dimension.

    Args (PyG's): in_channels (int or (src, dst) pair, -1 lazy), out_channels, dim (pseudo-coordinate width),
        kernel_size (int or per-dimension list), is_open_spline (bool or list), degree (1, 2 or 3), aggr ("mean",
        "add" / "sum", "max", ...), root_weight, bias, **kwargs of MessagePassing.
    """

    def __init__(self, in_channels, out_channels: int, dim: int, kernel_size, is_open_spline=True, degree: int = 1,
                 aggr: str = "mean", root_weight: bool = True, bias: bool = True, **kwargs):
        super().__init__(aggr=aggr, **kwargs)
        if isinstance(dim, bool) or not isinstance(dim, int) or not 1 <= dim <= 16:
            raise ValueError(f"SplineConv: dim must be an int in 1..16 (the pseudo-coordinate width), got {dim!r}")
        self.in_channels, self.out_channels, self.dim = in_channels, out_channels, dim
        self.degree = check_degree(degree)
        self.root_weight = root_weight
        sizes = _repeat(kernel_size, dim)
        if any(isinstance(k, bool) or not isinstance(k, int) for k in sizes):
            raise TypeError(f"SplineConv: kernel_size must be an int or a list of ints, got {kernel_size!r}")
        self.register_buffer("kernel_size", torch.tensor(sizes, dtype=torch.long))
        self.register_buffer("is_open_spline", torch.tensor([bool(v) for v in _repeat(is_open_spline, dim)],
                                                            dtype=torch.uint8))
        check_kernel_sizes(self.kernel_size, self.is_open_spline, self.degree)
        self.K = math.prod(sizes)
        if isinstance(in_channels, int):
            in_channels = (in_channels, in_channels)
        if in_channels[0] > 0:
            self.weight = nn.Parameter(torch.empty(self.K, in_channels[0], out_channels))
        else:
            self.weight = nn.parameter.UninitializedParameter()
            self._hook = self.register_forward_pre_hook(self.initialize_parameters)
        if root_weight:
            self.lin = Linear(in_channels[1], out_channels, bias=False, weight_initializer="uniform")
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if not isinstance(self.weight, nn.parameter.UninitializedParameter):
            _uniform(self.weight.size(0) * self.weight.size(1), self.weight)
        if self.root_weight:
            self.lin.reset_parameters()
        if self.bias is not None:
            with torch.no_grad():
                self.bias.zero_()

    @torch.no_grad()
    def initialize_parameters(self, module, input) -> None:
        if isinstance(self.weight, nn.parameter.UninitializedParameter):
            x = input[0][0] if isinstance(input[0], (tuple, list)) else input[0]
            self.weight.materialize((self.K, x.size(-1), self.out_channels))
            _uniform(self.weight.size(0) * self.weight.size(1), self.weight)
        module._hook.remove()
        delattr(module, "_hook")

    def _basis(self, pseudo: torch.Tensor, dtype: torch.dtype):
        return spline_basis(pseudo.to(dtype), self.kernel_size, self.is_open_spline, self.degree)

    def forward(self, x, edge_index, edge_attr: torch.Tensor | None = None, size=None) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            x = (x, x)
        if not isinstance(x, (tuple, list)) or len(x) != 2 or not isinstance(x[0], torch.Tensor):
            raise TypeError(f"SplineConv: x must be a tensor or a (source, destination) pair, got {type(x).__name__}")
        if x[0].dim() != 2:
            raise ValueError(f"SplineConv expects x of shape (N, in_channels), got {tuple(x[0].shape)}")
        _check_width(self, x[0], self.weight.size(1) if not isinstance(self.weight, nn.parameter.UninitializedParameter)
                     else -1)
        if x[1] is not None and self.root_weight:
            _check_width(self, x[1], self.lin.in_channels, "x (destination)")
        if edge_attr is not None:
            if not isinstance(edge_attr, torch.Tensor):
                raise TypeError(f"SplineConv: edge_attr must be a tensor, got {type(edge_attr).__name__}")
            if edge_attr.dim() == 1 and self.dim == 1:
                edge_attr = edge_attr.unsqueeze(-1)
            if edge_attr.dim() != 2 or edge_attr.size(1) != self.dim:
                raise ValueError(f"SplineConv expects edge_attr of shape (E, {self.dim}) (dim={self.dim}), got "
                                 f"{tuple(edge_attr.shape)}")
        elif not is_sparse(edge_index):  # a sparse adj_t carries them as its values
            raise ValueError(f"SplineConv needs edge_attr, an (E, {self.dim}) tensor of pseudo-coordinates, got None")
        if (not _observed(self, SplineConv) and isinstance(self.aggr, str) and self.aggr in ("mean", "add", "sum")):
            out = self._fused(x, edge_index, edge_attr, size)
        else:
            out = self.propagate(edge_index, x=x, edge_attr=edge_attr, size=size)
        if x[1] is not None and self.root_weight:
            out = out + self.lin(x[1])
        if self.bias is not None:
            out = out + self.bias
        return out

    def _fused(self, x, edge_index, edge_attr, size) -> torch.Tensor:
        """spline_basis of the edges in CSR order, then one fused weighting + sum / mean kernel."""
        x_src, x_dst = x
        edges = read_edges(edge_index, self.flow, size)
        if edge_attr is None:
            edge_attr = edges.value
            if edge_attr is not None and edge_attr.dim() == 1 and self.dim == 1:
                edge_attr = edge_attr.unsqueeze(-1)
            if edge_attr is None or edge_attr.dim() != 2 or edge_attr.size(1) != self.dim:
                raise ValueError(f"SplineConv needs (E, {self.dim}) pseudo-coordinates as the sparse adjacency's "
                                 f"values, got {None if edge_attr is None else tuple(edge_attr.shape)}")
        num_src = x_src.size(0)
        sizes = list(edges.size)
        for d, t in ((0, x_src), (1, x_dst)):
            if t is None:
                continue
            if sizes[d] is not None and sizes[d] != t.size(0):
                raise ValueError(f"Encountered tensor with size {t.size(0)} in dimension -2, but expected size "
                                 f"{sizes[d]}.")
        if sizes[0] is not None and sizes[0] != num_src:
            raise ValueError(f"Encountered tensor with size {num_src} in dimension -2, but expected size {sizes[0]}.")
        num_dst = sizes[1] if sizes[1] is not None else (x_dst.size(0) if x_dst is not None else num_src)
        E = edges.index_j.numel()
        if edge_attr.size(0) != E:
            raise ValueError(f"SplineConv: edge_attr has {edge_attr.size(0)} rows for {E} edges")
        adj = edge_adjacency(edges, num_src, num_dst, self.flow)
        basis, index = self._basis(edge_attr[adj.edge_id], x_src.dtype)
        reduce = "mean" if self.aggr == "mean" else "sum"
        return _spline_aggregate(x_src, adj, self.weight, basis, index, reduce)

    def message(self, x_j: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        if edge_attr is None or edge_attr.dim() != 2 or edge_attr.size(1) != self.dim:
            raise ValueError(f"SplineConv expects edge pseudo-coordinates of shape (E, {self.dim}) (dim={self.dim}), "
                             f"got {None if edge_attr is None else tuple(edge_attr.shape)}")
        basis, index = self._basis(edge_attr, x_j.dtype)
        return spline_weighting(x_j, self.weight, basis, index)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, dim={self.dim})"
