"""Reference packed <-> padded conversion (PyTorch3D semantics)."""

from __future__ import annotations

import torch


def _ranges(first_idxs: torch.Tensor, num_rows: int) -> list[tuple[int, int]]:
    starts = [int(s) for s in first_idxs.tolist()]
    ends = starts[1:] + [num_rows]
    return list(zip(starts, ends))


def packed_to_padded(inputs: torch.Tensor, first_idxs: torch.Tensor, max_size: int) -> torch.Tensor:
    """(F, *D) packed rows, (N,) first row of each set -> (N, max_size, *D), zeros past each set's end."""
    out = inputs.new_zeros((first_idxs.shape[0], max_size, *inputs.shape[1:]))
    for b, (start, end) in enumerate(_ranges(first_idxs, inputs.shape[0])):
        out[b, : end - start] = inputs[start:end]
    return out


def padded_to_packed(inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int) -> torch.Tensor:
    """(N, M, *D) padded, (N,) first row of each set -> (num_inputs, *D) packed rows."""
    out = inputs.new_zeros((num_inputs, *inputs.shape[2:]))
    for b, (start, end) in enumerate(_ranges(first_idxs, num_inputs)):
        out[start:end] = inputs[b, : end - start]
    return out
