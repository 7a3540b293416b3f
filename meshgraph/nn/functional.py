"""Functional helpers for layers: linear maps and dropout that also take sparse (COO) inputs.

Bag-of-words node features (Planetoid) are ~1% non-zero: dropout on the non-zeros is the same distribution as
dense dropout (zeros stay zero) at a fraction of the cost, and sparse @ dense replaces a dense matmul. This is
how the GCN paper's own implementation treats its inputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """F.dropout for dense tensors; for a sparse COO tensor, dropout of its stored values."""
    if not x.is_sparse:
        return F.dropout(x, p, training)
    if not training or p == 0.0:
        return x
    x = x.coalesce()
    vals = F.dropout(x.values(), p, True)
    return torch.sparse_coo_tensor(x.indices(), vals, x.shape, is_coalesced=True, check_invariants=False)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T + bias for dense or sparse COO x (differentiable w.r.t. weight and bias)."""
    if not x.is_sparse:
        return F.linear(x, weight, bias)
    out = torch.sparse.mm(x, weight.t())
    return out + bias if bias is not None else out

__all__ = ["dropout", "linear"]
