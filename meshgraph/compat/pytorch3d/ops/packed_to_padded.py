"""`pytorch3d.ops.packed_to_padded` mirror."""

from __future__ import annotations

import torch

from ....ops.packed_to_padded import packed_to_padded
from ....ops.packed_to_padded import padded_to_packed as _padded_to_packed

__all__ = ["packed_to_padded", "padded_to_packed"]


def padded_to_packed(inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int, max_size_dim: int = 1):
    """PyTorch3D's padded_to_packed; `max_size_dim` names the padded dimension (moved to dimension 1)."""
    return _padded_to_packed(inputs.movedim(max_size_dim, 1), first_idxs, num_inputs)
