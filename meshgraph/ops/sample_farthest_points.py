"""sample_farthest_points: exact farthest point sampling with PyTorch3D's semantics and indices.

Kernels: csrc/ops/sample_farthest_points/."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_lengths, check_nonnegative_int, check_tensor
from .knn import check_finite

_extension.load()


def sample_farthest_points(
    points: torch.Tensor,
    lengths: torch.Tensor | None = None,
    K: int | list[int] | torch.Tensor = 50,
    random_start_point: bool = False,
    generator: torch.Generator | None = None,
    *,
    reference: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Iterative farthest point sampling per cloud (PyTorch3D's sample_farthest_points).

    Args:
        points: (N, P, D) clouds; lengths: (N,) valid points (None: all).
        K: points to select: an int, or one per cloud (list or (N,) tensor).
        random_start_point: start from a random valid point of each cloud (else from point 0).
        generator: torch.Generator for the random start points.
        reference: take the indices from the pure-PyTorch definition (`meshgraph.ops.reference`) instead of the
            kernel (PyTorch3D's `sample_farthest_points_naive`); same validation and outputs.

    Returns:
        (selected (N, max K, D), idx (N, max K) int64): clouds with fewer points or a smaller K are padded with
        zeros / -1. idx is exactly PyTorch3D's (the farthest point next, ties to the smaller index); selected is
        differentiable w.r.t. points.
    """
    check_tensor(points, "points", dim=3, dtypes=FLOAT_DTYPES)
    check_finite(points, "points")
    N, P, _ = points.shape
    if lengths is not None and (not torch.is_tensor(lengths) or lengths.shape != (N,)):
        raise ValueError(f"points and lengths must have same batch dimension (lengths must be ({N},))")
    lengths = check_lengths(lengths, "lengths", N, P, points.device)
    if isinstance(K, bool):
        raise TypeError("K must be an int, a list of ints or an int tensor")
    if isinstance(K, (int, torch.SymInt)):
        max_K = check_nonnegative_int(K, "K")
        k = torch.full((N,), K, dtype=torch.int64, device=points.device)
    else:
        # a list is read on the host; a tensor's largest entry is the output size (one read, as in PyTorch3D)
        k = torch.as_tensor(K) if not torch.is_tensor(K) else K
        if k.dim() != 1 or k.shape[0] != N:
            raise ValueError(f"K and points must have the same batch dimension (K must be an int or have one entry "
                             f"per cloud ({N}), got {K!r})")
        if k.dtype.is_floating_point or k.dtype == torch.bool:
            raise ValueError(f"K must be an int or have one integer entry per cloud ({N}), got {K!r}")
        lo, max_K = torch.stack(torch.aminmax(k.to(torch.int64))).tolist() if N else (0, 0)
        if lo < 0:
            raise ValueError("K must be non-negative")
        k = k.to(device=points.device, dtype=torch.int64)
    if random_start_point:
        r = torch.rand(N, generator=generator, device=points.device if generator is None else generator.device)
        start = (r.to(points.device) * lengths.clamp(min=1)).long().clamp(max=P - 1 if P else 0)
    else:
        start = torch.zeros(N, dtype=torch.int64, device=points.device)
    if reference:
        from .reference import sample_farthest_points_idx

        idx = sample_farthest_points_idx(points.detach(), lengths, k, start, max_K)
    else:
        idx = torch.ops.meshgraph.sample_farthest_points_idx(points.detach(), lengths, k, start, max_K)
    gathered = torch.gather(points, 1, idx.clamp(min=0)[..., None].expand(-1, -1, points.shape[2]))
    return gathered * (idx >= 0)[..., None].to(points.dtype), idx


@torch.library.register_fake("meshgraph::sample_farthest_points_idx")
def _fake(points, lengths, K, start, max_K):
    torch._check(max_K >= 0, lambda: "max_K must be non-negative")
    return points.new_empty((points.shape[0], max_K), dtype=torch.int64)
