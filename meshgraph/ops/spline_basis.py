"""spline_basis: SplineCNN's B-spline tensor-product basis (Fey et al. 2018) over edge pseudo-coordinates, with the
semantics of torch_spline_conv / pyg-lib's `spline_basis` (the op behind PyG's SplineConv).

Kernels: csrc/ops/spline_basis/ (CPU + CUDA; the backward w.r.t. pseudo is a kernel too). Each output element is
written by one thread: deterministic on both devices.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_tensor, values_are_free

_extension.load()

DEGREES = (1, 2, 3)


def check_degree(degree) -> int:
    """degree as an int in 1..3 (the B-spline degrees the kernels implement): TypeError / ValueError otherwise."""
    if isinstance(degree, bool) or not isinstance(degree, int):
        raise TypeError(f"degree must be an int (1, 2 or 3), got {type(degree).__name__}")
    if degree not in DEGREES:
        raise ValueError(f"degree must be 1, 2 or 3, got {degree}")
    return degree


def _per_dim(v, D: int, name: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A scalar repeated D times, or a sequence / 1-D tensor of exactly D entries, as a (D,) tensor on device."""
    if isinstance(v, torch.Tensor):
        if v.dim() == 0:
            v = v.reshape(1).expand(D)
        if v.dim() != 1 or v.shape[0] != D:
            raise ValueError(f"{name} must have {D} entries (one per pseudo dimension), got shape {tuple(v.shape)}")
        if dtype == torch.int64 and (v.dtype.is_floating_point or v.dtype == torch.bool or v.is_complex()):
            raise TypeError(f"{name} must hold integers, got {v.dtype}")
        return v.to(device=device, dtype=dtype)
    if isinstance(v, (bool, int)) and not (dtype == torch.int64 and isinstance(v, bool)):
        return torch.full((D,), int(v), dtype=dtype, device=device)
    if isinstance(v, Sequence) and not isinstance(v, str):
        if len(v) != D:
            raise ValueError(f"{name} must have {D} entries (one per pseudo dimension), got {len(v)}")
        want_int = dtype == torch.int64
        for item in v:
            if not isinstance(item, int) or (want_int and isinstance(item, bool)):
                raise TypeError(f"{name} entries must be {'ints' if want_int else 'bools'}, got {item!r}")
        return torch.tensor([int(item) for item in v], dtype=dtype, device=device)
    raise TypeError(f"{name} must be an int, a sequence or a tensor, got {type(v).__name__}")


def check_kernel_sizes(kernel_size: torch.Tensor, is_open_spline: torch.Tensor, degree: int) -> None:
    """ValueError unless every kernel size is >= 1, and >= degree in open dimensions (K - degree knot intervals).
    Reads the values where that is free (CPU tensors, eager); the kernels treat sizes below 1 as 1."""
    if not values_are_free(kernel_size, is_open_spline):
        return
    ks, op = kernel_size.tolist(), is_open_spline.tolist()
    for d, (k, o) in enumerate(zip(ks, op)):
        if k < 1 or (o and k < degree):
            need = f">= {max(1, degree)} for an open spline of degree {degree}" if o else ">= 1"
            raise ValueError(f"kernel_size[{d}] must be {need}, got {k}")


def spline_basis(pseudo: torch.Tensor, kernel_size, is_open_spline=True, degree: int = 1):
    """B-spline basis of the edges' pseudo-coordinates (torch_spline_conv.spline_basis).

    Args:
        pseudo: (E, D) or (E,) pseudo-coordinates, float16/bfloat16/float32/float64, meant to lie in [0, 1] (as in
            PyG, values outside are accepted: they wrap around periodically, see csrc/ops/spline_basis/spline_basis.h).
        kernel_size: (D,) int64 tensor, a sequence of D ints or one int for every dimension (weights per dimension).
        is_open_spline: (D,) uint8/bool tensor, D bools or one bool: open (True) or closed (periodic) B-splines.
        degree: 1, 2 or 3.

    Returns:
        (basis (E, S) dtype of pseudo, weight_index (E, S) int64), S = (degree + 1)^D: the nonzero basis products of
        each edge and the flat index (dimension 0 fastest) of the weight slice each multiplies. Differentiable
        w.r.t. pseudo (first order).
    """
    check_tensor(pseudo, "pseudo", dim=(1, 2), dtypes=FLOAT_DTYPES)
    if pseudo.dim() == 1:
        pseudo = pseudo.unsqueeze(-1)
    degree = check_degree(degree)
    D = pseudo.shape[1]
    if D < 1 or D > 16:
        raise ValueError(f"pseudo must have 1 to 16 dimensions (columns), got shape {tuple(pseudo.shape)}")
    ks = _per_dim(kernel_size, D, "kernel_size", torch.int64, pseudo.device)
    op = _per_dim(is_open_spline, D, "is_open_spline", torch.uint8, pseudo.device)
    check_kernel_sizes(ks, op, degree)
    return torch.ops.meshgraph.spline_basis(pseudo, ks, op, degree)


# ---------------------------------------------------------------------- fake kernels


@torch.library.register_fake("meshgraph::spline_basis")
def _fake(pseudo, kernel_size, is_open_spline, degree):
    torch._check(pseudo.dim() == 2, lambda: "pseudo must be 2-D")
    S = (degree + 1) ** pseudo.shape[1]
    return pseudo.new_empty((pseudo.shape[0], S)), pseudo.new_empty((pseudo.shape[0], S), dtype=torch.int64)


@torch.library.register_fake("meshgraph::spline_basis_backward")
def _fake_backward(grad_basis, pseudo, kernel_size, is_open_spline, degree):
    return pseudo.new_empty(pseudo.shape)


# ---------------------------------------------------------------------- autograd


def _setup(ctx, inputs, output):
    pseudo, kernel_size, is_open_spline, degree = inputs
    ctx.degree = degree
    ctx.save_for_backward(pseudo, kernel_size, is_open_spline)


def _backward(ctx, grad_basis, _grad_index):
    pseudo, kernel_size, is_open_spline = ctx.saved_tensors
    if not ctx.needs_input_grad[0] or grad_basis is None:
        return None, None, None, None
    grad = torch.ops.meshgraph.spline_basis_backward(grad_basis.contiguous(), pseudo, kernel_size, is_open_spline,
                                                     ctx.degree)
    return grad, None, None, None


def _setup_backward(ctx, inputs, output):
    pass


def _backward_backward(ctx, grad):
    raise NotImplementedError("double backward of spline_basis w.r.t. pseudo is not supported (first-order "
                              "gradients are; gradients through the basis of spline_weighting are of every order)")


torch.library.register_autograd("meshgraph::spline_basis", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::spline_basis_backward", _backward_backward, setup_context=_setup_backward)
