"""packed_to_padded / padded_to_packed: the packed (sum_V x *) <-> padded (N x max_size x *) layouts.

Same names, arguments and results as PyTorch3D's `pytorch3d.ops.packed_to_padded` / `padded_to_packed`,
generalised to any dtype and any trailing feature shape. Kernels: csrc/ops/packed_to_padded/.
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import (
    check_first_idxs,
    check_index_tensor,
    check_nonnegative_int,
    check_same_device,
    check_tensor,
)

_extension.load()


def packed_to_padded(inputs: torch.Tensor, first_idxs: torch.Tensor, max_size: int) -> torch.Tensor:
    """Scatter packed rows into a zero-padded batch.

    Args:
        inputs: (F, *D) rows of N sets, packed one after another (any dtype, any trailing shape *D).
        first_idxs: (N,) int32/int64, index of the first row of each set; non-decreasing, the last set ends at F.
        max_size: M, the padded length; no set may have more than M rows.

    Returns:
        (N, M, *D): out[b, j] = inputs[first_idxs[b] + j] for j < size of set b, zero elsewhere.
        Differentiable w.r.t. inputs (the backward is padded_to_packed).
    """
    check_tensor(inputs, "inputs", min_dim=1)
    check_index_tensor(first_idxs, "first_idxs", dim=1)
    check_same_device(inputs=inputs, first_idxs=first_idxs)
    max_size = check_nonnegative_int(max_size, "max_size")
    check_first_idxs(first_idxs, inputs.shape[0], max_size)
    return torch.ops.meshgraph.packed_to_padded(inputs, first_idxs, max_size)


def padded_to_packed(inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int) -> torch.Tensor:
    """Gather the valid rows of a padded batch into one packed tensor.

    Args:
        inputs: (N, M, *D) padded batch (any dtype, any trailing shape *D).
        first_idxs: (N,) int32/int64, index of the first packed row of each set; non-decreasing.
        num_inputs: F, the number of packed rows; set b has first_idxs[b+1] - first_idxs[b] rows (the last,
            F - first_idxs[-1]), at most M.

    Returns:
        (F, *D): out[first_idxs[b] + j] = inputs[b, j]. Differentiable w.r.t. inputs (the backward is
        packed_to_padded).
    """
    check_tensor(inputs, "inputs", min_dim=2)
    check_index_tensor(first_idxs, "first_idxs", dim=1)
    check_same_device(inputs=inputs, first_idxs=first_idxs)
    num_inputs = check_nonnegative_int(num_inputs, "num_inputs")
    if first_idxs.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"first_idxs must have one entry per padded set: got {first_idxs.shape[0]} for inputs of shape "
            f"{tuple(inputs.shape)}"
        )
    check_first_idxs(first_idxs, num_inputs, inputs.shape[1])
    return torch.ops.meshgraph.padded_to_packed(inputs, first_idxs, num_inputs)


@torch.library.register_fake("meshgraph::packed_to_padded")
def _packed_to_padded_fake(inputs, first_idxs, max_size):
    torch._check(inputs.dim() >= 1, lambda: "inputs must have at least 1 dim")
    torch._check(first_idxs.dim() == 1, lambda: "first_idxs must be 1-D")
    return inputs.new_empty((first_idxs.shape[0], max_size, *inputs.shape[1:]))


@torch.library.register_fake("meshgraph::padded_to_packed")
def _padded_to_packed_fake(inputs, first_idxs, num_inputs):
    torch._check(inputs.dim() >= 2, lambda: "inputs must have at least 2 dims")
    torch._check(first_idxs.dim() == 1, lambda: "first_idxs must be 1-D")
    torch._check(first_idxs.shape[0] == inputs.shape[0], lambda: "first_idxs must have one entry per set")
    return inputs.new_empty((num_inputs, *inputs.shape[2:]))


def _setup_packed_to_padded(ctx, inputs, output):
    packed, first_idxs, max_size = inputs  # the schema's (inputs, first_idxs, max_size)
    ctx.save_for_backward(first_idxs)
    ctx.num_rows = packed.shape[0]


def _backward_packed_to_padded(ctx, grad):
    (first_idxs,) = ctx.saved_tensors
    return torch.ops.meshgraph.padded_to_packed(grad, first_idxs, ctx.num_rows), None, None


def _setup_padded_to_packed(ctx, inputs, output):
    padded, first_idxs, num_inputs = inputs  # the schema's (inputs, first_idxs, num_inputs)
    ctx.save_for_backward(first_idxs)
    ctx.max_size = padded.shape[1]


def _backward_padded_to_packed(ctx, grad):
    (first_idxs,) = ctx.saved_tensors
    return torch.ops.meshgraph.packed_to_padded(grad, first_idxs, ctx.max_size), None, None


torch.library.register_autograd(
    "meshgraph::packed_to_padded", _backward_packed_to_padded, setup_context=_setup_packed_to_padded
)
torch.library.register_autograd(
    "meshgraph::padded_to_packed", _backward_padded_to_packed, setup_context=_setup_padded_to_packed
)
