"""knn_points / knn_gather with PyTorch3D's semantics, exact, sub-quadratic for D <= 3 (per-cloud grid).

`from meshgraph.ops import knn_points` is a drop-in for `pytorch3d.ops.knn_points`. Kernels: csrc/ops/knn/.
"""

from __future__ import annotations

from collections import namedtuple

import torch

from .. import _extension
from .._utils import (
    FLOAT_DTYPES,
    check_index_tensor,
    check_lengths,
    check_positive_int,
    check_same_device,
    check_tensor,
    values_are_free,
)
from .scatter import scatter

_extension.load()

KNN = namedtuple("KNN", "dists idx knn")


def check_point_pair(p1: torch.Tensor, p2: torch.Tensor, K: int) -> int:
    """The checks knn_points and ball_query share: (N, P, D) float clouds on one device, a positive int K
    (returned: an int, or a SymInt under torch.compile)."""
    check_tensor(p1, "p1", dim=3, dtypes=FLOAT_DTYPES)
    check_tensor(p2, "p2", dim=3, dtypes=FLOAT_DTYPES)
    if p1.shape[0] != p2.shape[0]:
        raise ValueError(f"p1 and p2 must have the same batch size, got {p1.shape[0]} and {p2.shape[0]}")
    if p1.shape[2] != p2.shape[2]:
        raise ValueError(f"p1 and p2 must have the same point dimension, got {p1.shape[2]} and {p2.shape[2]}")
    if p1.dtype != p2.dtype:
        raise TypeError(f"p1 and p2 must have the same dtype, got {p1.dtype} and {p2.dtype}")
    check_same_device(p1=p1, p2=p2)
    K = check_positive_int(K, "K")
    check_finite(p1, "p1")
    check_finite(p2, "p2")
    return K


def check_finite(t: torch.Tensor, name: str) -> None:
    """ValueError when point coordinates hold NaN or infinity (eager CPU tensors only; one pass over the points)."""
    if t.numel() and values_are_free(t) and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} holds NaN or infinite coordinates")


def knn_points(
    p1: torch.Tensor,
    p2: torch.Tensor,
    lengths1: torch.Tensor | None = None,
    lengths2: torch.Tensor | None = None,
    norm: int = 2,
    K: int = 1,
    version: int = -1,
    return_nn: bool = False,
    return_sorted: bool = True,
) -> KNN:
    """K nearest neighbours in p2 of every point of p1, per cloud (PyTorch3D's `knn_points`).

    Args:
        p1: (N, P1, D) query clouds; p2: (N, P2, D) reference clouds (any D; D <= 3 uses a grid).
        lengths1, lengths2: (N,) valid points per cloud (None: all).
        norm: 2 (squared Euclidean distances, as in PyTorch3D) or 1 (L1).
        K: neighbours per query (any positive int; more than a cloud holds pads with zeros).
        version: accepted for PyTorch3D compatibility; the algorithm is chosen from D.
        return_nn: also return the neighbours' coordinates (N, P1, K, D) (knn_gather).
        return_sorted: accepted for compatibility; results are always sorted ascending.

    Returns:
        KNN(dists, idx, knn): dists (N, P1, K) *squared* distances for norm=2; idx (N, P1, K) int64 indices into
        p2[n]; both zero where a query is padding or its cloud in p2 has fewer than K points. Gradients flow
        to p1 and p2 through dists (and through knn when returned).
    """
    K = check_point_pair(p1, p2, K)
    if norm not in (1, 2):
        raise ValueError(f"Support for 1 or 2 norm. (norm must be 1 or 2, got {norm})")
    N = p1.shape[0]
    l1 = check_lengths(lengths1, "lengths1", N, p1.shape[1], p1.device)
    l2 = check_lengths(lengths2, "lengths2", N, p2.shape[1], p1.device)
    dists, idx = torch.ops.meshgraph.knn_points_idx(p1.detach(), p2.detach(), l1, l2, K, norm)
    if torch.is_grad_enabled() and (p1.requires_grad or p2.requires_grad):
        # the same distances, recomputed from idx with differentiable ops
        dists = _differentiable_dists(p1, p2, idx, l1, l2, norm)
    nn = knn_gather(p2, idx, l2) if return_nn else None
    return KNN(dists, idx, nn)


def _valid_mask(idx: torch.Tensor, l1: torch.Tensor, l2: torch.Tensor) -> torch.Tensor:
    N, P1, K = idx.shape
    q_ok = torch.arange(P1, device=idx.device)[None, :, None] < l1[:, None, None]
    k_ok = torch.arange(K, device=idx.device)[None, None, :] < l2[:, None, None]
    return q_ok & k_ok


def _differentiable_dists(p1, p2, idx, l1, l2, norm):
    """dists recomputed from idx with plain ops (the kernel's values up to summation order, accumulated in float32
    for half types as the kernel does, then in p1's dtype), so autograd gives grad_p1 = sum_k d(dist)/d(p1) and
    grad_p2 through a deterministic fused scatter (no atomics)."""
    N, P1, K = idx.shape
    mask = _valid_mask(idx, l1, l2)
    acc = torch.float64 if p1.dtype == torch.float64 else torch.float32
    nbr = knn_gather(p2, idx, l2).to(acc)  # (N, P1, K, D), zeros where padded
    diff = p1.to(acc)[:, :, None, :] - nbr
    d = diff.square().sum(-1) if norm == 2 else diff.abs().sum(-1)
    return (d * mask).to(p1.dtype)


def knn_gather(x: torch.Tensor, idx: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Rows of x (N, M, U) picked by idx (N, L, K) -> (N, L, K, U); entries where idx is -1 (ball_query's
    padding) or k >= lengths[n] are zero. Differentiable w.r.t. x (backward: deterministic fused scatter)."""
    check_tensor(x, "x", dim=3)
    check_index_tensor(idx, "idx", dim=3)
    if x.shape[0] != idx.shape[0]:
        raise ValueError(f"x and idx must have the same batch size, got {x.shape[0]} and {idx.shape[0]}")
    check_same_device(x=x, idx=idx, lengths=lengths)
    N, M, U = x.shape
    _, L, K = idx.shape
    if M == 0:  # nothing to gather: every entry is padding (differentiable zeros)
        return x.new_zeros((N, L, K, U)) + x.sum() * 0
    valid = idx >= 0
    if lengths is not None:
        check_index_tensor(lengths, "lengths", shape=(N,))
        valid = valid & (idx < lengths[:, None, None]) & (torch.arange(K, device=idx.device)[None, None, :] < lengths[:, None, None])
    if idx.numel() and values_are_free(idx) and int(idx.max()) >= M:
        raise ValueError(f"idx holds {int(idx.max())}, outside the {M} rows of x")
    # indices past the rows (unchecked on CUDA) read row M - 1 and are masked to zero: never out of bounds
    valid = valid & (idx < M)
    flat = (idx.clamp(0, max(M - 1, 0)) + (torch.arange(N, device=idx.device) * M)[:, None, None]).reshape(-1)
    out = _GatherRows.apply(x.reshape(N * M, U), flat, N * M)
    return out.view(N, L, K, U) * valid[..., None].to(x.dtype)


class _GatherRows(torch.autograd.Function):
    """rows = x[flat]; backward reduces into x with the fused deterministic scatter kernel."""

    @staticmethod
    def forward(ctx, x2, flat, num_rows):
        ctx.save_for_backward(flat)
        ctx.num_rows = num_rows
        return x2.index_select(0, flat)

    @staticmethod
    def backward(ctx, grad):
        (flat,) = ctx.saved_tensors
        if not grad.dtype.is_floating_point:
            return None, None, None
        return scatter(grad, flat, ctx.num_rows, "sum"), None, None


@torch.library.register_fake("meshgraph::knn_points_idx")
def _knn_fake(p1, p2, lengths1, lengths2, K, norm):
    # the C++ checks that decide shapes or would reject the call (check_knn_inputs)
    torch._check(K >= 1, lambda: "K must be >= 1")
    torch._check(norm in (1, 2), lambda: "norm must be 1 or 2")
    N, P1 = p1.shape[0], p1.shape[1]
    return p1.new_empty((N, P1, K)), p1.new_empty((N, P1, K), dtype=torch.int64)
