"""Graphs from point clouds: knn_graph / radius_graph with PyG's call shape, and GraphBatch builders.

Both run on the exact grid neighbour search (knn_points / ball_query) per graph of the batch vector."""

from __future__ import annotations

import torch

from .._utils import FLOAT_DTYPES, can_inspect_values, check_index_tensor, check_tensor
from .ball_query import ball_query
from .knn import knn_points
from .packed_to_padded import packed_to_padded


def _padded(x: torch.Tensor, batch: torch.Tensor | None):
    """(V, D) points + sorted batch vector -> padded (B, Vmax, D), lengths (B,), first index of each graph (B,)."""
    check_tensor(x, "x", dim=2, dtypes=FLOAT_DTYPES)
    V = x.shape[0]
    if batch is None:
        batch = torch.zeros(V, dtype=torch.int64, device=x.device)
    check_index_tensor(batch, "batch", shape=(V,))
    if batch.device != x.device:
        raise ValueError(f"batch is on {batch.device} but x is on {x.device}")
    if can_inspect_values(batch) and V > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted (as PyG requires): graphs' points must be contiguous")
    if can_inspect_values(batch) and V and int(batch.min()) < 0:
        raise ValueError("batch must be non-negative")
    B = int(batch.max()) + 1 if V else 0
    lengths = torch.zeros(B, dtype=torch.int64, device=x.device).index_add_(0, batch.long(), torch.ones_like(batch, dtype=torch.int64))
    first = torch.cumsum(lengths, 0) - lengths
    vmax = int(lengths.max()) if B else 0
    return packed_to_padded(x, first, vmax), lengths, first


def _edges(idx: torch.Tensor, valid: torch.Tensor, first: torch.Tensor, lengths: torch.Tensor, flow: str):
    """Per-query neighbour indices (B, Vmax, K) -> (2, E) global edge_index (neighbour -> query by default)."""
    B, Vmax, K = idx.shape
    q = torch.arange(Vmax, device=idx.device)[None, :, None].expand(B, Vmax, K)
    ok = valid & (q < lengths[:, None, None])
    off = first[:, None, None]
    nbr, ctr = (idx + off)[ok], (q + off)[ok]
    src, dst = (nbr, ctr) if flow == "source_to_target" else (ctr, nbr)
    return torch.stack([src, dst])


def _without_self(idx: torch.Tensor, valid: torch.Tensor, limit: int) -> torch.Tensor:
    """Drop each query's own index from its neighbour row (wherever ties put it) and keep the first `limit` others."""
    me = torch.arange(idx.shape[1], device=idx.device)[None, :, None]
    valid = valid & (idx != me)
    return valid & (torch.cumsum(valid.long(), dim=2) <= limit)


def _check_flow(flow: str) -> None:
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")


def knn_graph(x: torch.Tensor, k: int, batch: torch.Tensor | None = None, loop: bool = False,
              flow: str = "source_to_target") -> torch.Tensor:
    """Edges from each point's k nearest neighbours within its graph (PyG's knn_graph call shape).

    Args:
        x: (V, D) points; batch: (V,) sorted graph index of each point (None: one graph).
        k: neighbours per point; loop: include the point itself among them.
        flow: "source_to_target": edges neighbour -> point (row 1 holds the centre, as in PyG).

    Returns:
        (2, E) int64 edge_index, grouped by centre point, neighbours nearest first.
    """
    _check_flow(flow)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    padded, lengths, first = _padded(x, batch)
    if padded.shape[0] == 0:
        return torch.zeros((2, 0), dtype=torch.int64, device=x.device)
    kk = k if loop else k + 1
    idx = knn_points(padded.detach(), padded.detach(), lengths, lengths, K=kk).idx
    valid = torch.arange(kk, device=x.device)[None, None, :] < lengths[:, None, None]
    if not loop:
        valid = _without_self(idx, valid, k)
    return _edges(idx, valid, first, lengths, flow)


def radius_graph(x: torch.Tensor, r: float, batch: torch.Tensor | None = None, loop: bool = False,
                 max_num_neighbors: int = 32, flow: str = "source_to_target") -> torch.Tensor:
    """Edges between points closer than r within each graph (PyG's radius_graph call shape); at most
    max_num_neighbors per point, the ones with the smallest indices (ball_query's rule)."""
    _check_flow(flow)
    if isinstance(max_num_neighbors, bool) or not isinstance(max_num_neighbors, int) or max_num_neighbors < 1:
        raise ValueError(f"max_num_neighbors must be a positive int, got {max_num_neighbors!r}")
    padded, lengths, first = _padded(x, batch)
    if padded.shape[0] == 0:
        return torch.zeros((2, 0), dtype=torch.int64, device=x.device)
    K = max_num_neighbors if loop else max_num_neighbors + 1
    idx = ball_query(padded.detach(), padded.detach(), lengths, lengths, K=K, radius=float(r), return_nn=False).idx
    valid = idx >= 0
    if not loop:
        valid = _without_self(idx, valid, max_num_neighbors)
    return _edges(idx.clamp(min=0), valid, first, lengths, flow)
