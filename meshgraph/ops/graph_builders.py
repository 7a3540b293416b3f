"""Graphs and samples from point clouds with PyG 2.8's (torch_cluster's) call shapes: `knn`, `radius`,
`knn_graph`, `radius_graph`, `fps`.

All run per graph of the batch vector on meshgraph's exact neighbour searches (knn_points / ball_query) and
farthest point sampling. `num_workers` is accepted for signature compatibility (the kernels use torch's threads)."""

from __future__ import annotations

import torch

from .._utils import FLOAT_DTYPES, check_index_tensor, check_positive_int, check_tensor, first_from_counts, values_are_free
from .ball_query import ball_query
from .knn import knn_points
from .packed_to_padded import packed_to_padded


def _padded(x: torch.Tensor, batch: torch.Tensor | None, num_graphs: int | None = None):
    """(V, D) points + sorted batch vector -> padded (B, Vmax, D), lengths (B,), first index of each graph (B,).
    B is num_graphs when given (trailing graphs may be empty), else 1 + the largest batch entry."""
    check_tensor(x, "x", dim=2, dtypes=FLOAT_DTYPES)
    V = x.shape[0]
    if batch is None:
        batch = torch.zeros(V, dtype=torch.int64, device=x.device)
    check_index_tensor(batch, "batch", shape=(V,))
    if batch.device != x.device:
        raise ValueError(f"batch is on {batch.device} but x is on {x.device}")
    if values_are_free(batch) and V > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted (as PyG requires): graphs' points must be contiguous")
    if values_are_free(batch) and V and int(batch.min()) < 0:
        raise ValueError("batch must be non-negative")
    B = num_graphs if num_graphs is not None else (int(batch.max()) + 1 if V else 0)
    lengths = torch.zeros(B, dtype=torch.int64, device=x.device).index_add_(0, batch.long(), torch.ones_like(batch, dtype=torch.int64))
    first = first_from_counts(lengths)
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


def _num_graphs(batch_size, *batches) -> int | None:
    """The common number of graphs of several batch vectors (None: each has one graph or decides alone)."""
    if batch_size is not None:
        return batch_size
    sizes = [int(b.max()) + 1 if b.numel() else 0 for b in batches if b is not None]
    return max(sizes) if sizes else None


def _padded_pair(x, y, batch_x, batch_y, batch_size):
    """Both point sets padded per graph over the same number of graphs; None when no query can match."""
    B = _num_graphs(batch_size, batch_x, batch_y)
    if B is None and batch_x is None and batch_y is None:
        B = 1 if x.shape[0] and y.shape[0] else 0
    px, lx, fx = _padded(x.detach(), batch_x, B)
    py, ly, fy = _padded(y.detach(), batch_y, B)
    if py.shape[0] == 0 or py.shape[1] == 0 or px.shape[1] == 0:
        return None
    return px, lx, fx, py, ly, fy


def _query_pairs(idx, ok, fy, fx) -> torch.Tensor:
    """(B, My, K) per-query neighbour indices and validity -> (2, E) [global y index, global x index]."""
    q = torch.arange(idx.shape[1], device=idx.device)[None, :, None].expand_as(idx)
    return torch.stack([(q + fy[:, None, None])[ok], (idx + fx[:, None, None])[ok]])


def knn(x: torch.Tensor, y: torch.Tensor, k: int, batch_x: torch.Tensor | None = None,
        batch_y: torch.Tensor | None = None, cosine: bool = False, num_workers: int = 1,
        batch_size: int | None = None) -> torch.Tensor:
    """For each point of y, its k nearest points of x in the same graph (torch_cluster's / PyG's `knn`).

    Args:
        x: (Nx, D) points searched; y: (Ny, D) queries; batch_x / batch_y: sorted graph index of each point.
        cosine: rank by cosine distance instead of Euclidean.

    Returns:
        (2, E) int64: row 0 indexes y, row 1 indexes x; grouped by query, nearest first. Graphs with fewer than k
        points give fewer neighbours.
    """
    k = check_positive_int(k, "k")
    if cosine:
        x, y = torch.nn.functional.normalize(x, dim=-1), torch.nn.functional.normalize(y, dim=-1)
    padded = _padded_pair(x, y, batch_x, batch_y, batch_size)
    if padded is None:
        return torch.zeros((2, 0), dtype=torch.int64, device=x.device)
    px, lx, fx, py, ly, fy = padded
    idx = knn_points(py, px, ly, lx, K=k).idx
    q = torch.arange(idx.shape[1], device=x.device)[None, :, None]
    ok = (q < ly[:, None, None]) & (torch.arange(k, device=x.device)[None, None, :] < lx[:, None, None])
    return _query_pairs(idx, ok, fy, fx)


def radius(x: torch.Tensor, y: torch.Tensor, r: float, batch_x: torch.Tensor | None = None,
           batch_y: torch.Tensor | None = None, max_num_neighbors: int = 32, num_workers: int = 1,
           batch_size: int | None = None) -> torch.Tensor:
    """For each point of y, the points of x within distance r in the same graph, at most max_num_neighbors (the
    ones with the smallest indices) (torch_cluster's / PyG's `radius`).

    Returns:
        (2, E) int64: row 0 indexes y, row 1 indexes x; grouped by query, x indices ascending.
    """
    max_num_neighbors = check_positive_int(max_num_neighbors, "max_num_neighbors")
    padded = _padded_pair(x, y, batch_x, batch_y, batch_size)
    if padded is None:
        return torch.zeros((2, 0), dtype=torch.int64, device=x.device)
    px, lx, fx, py, ly, fy = padded
    idx = ball_query(py, px, ly, lx, K=max_num_neighbors, radius=float(r), return_nn=False).idx
    q = torch.arange(idx.shape[1], device=x.device)[None, :, None]
    return _query_pairs(idx, (idx >= 0) & (q < ly[:, None, None]), fy, fx)


def fps(x: torch.Tensor, batch: torch.Tensor | None = None, ratio: float = 0.5, random_start: bool = True,
        batch_size: int | None = None) -> torch.Tensor:
    """Farthest point sampling per graph (PyG's `fps`): ceil(ratio * n) points of each graph of n points, each the
    farthest from those already chosen.

    Args:
        x: (N, D) points (more dims are flattened); batch: sorted graph index of each point; ratio in (0, 1];
        random_start: start each graph from a random point (else its first point).

    Returns:
        (M,) int64 indices into x, graph by graph, in selection order.
    """
    from .sample_farthest_points import sample_farthest_points

    if not (0.0 < float(ratio) <= 1.0):
        raise ValueError(f"ratio must be in (0, 1], got {ratio!r}")
    pts = x.reshape(x.shape[0], -1) if x.dim() != 2 else x
    padded, lengths, first = _padded(pts.detach(), batch, batch_size)
    if padded.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=x.device)
    k = torch.ceil(lengths.to(torch.float64) * float(ratio)).long()
    _, idx = sample_farthest_points(padded, lengths, K=k, random_start_point=random_start)
    return (idx + first[:, None])[idx >= 0]


def knn_graph(x: torch.Tensor, k: int, batch: torch.Tensor | None = None, loop: bool = False,
              flow: str = "source_to_target", cosine: bool = False, num_workers: int = 1,
              batch_size: int | None = None) -> torch.Tensor:
    """Edges from each point's k nearest neighbours within its graph (PyG's knn_graph call shape).

    Args:
        x: (V, D) points; batch: (V,) sorted graph index of each point (None: one graph).
        k: neighbours per point; loop: include the point itself among them.
        flow: "source_to_target": edges neighbour -> point (row 1 holds the centre, as in PyG).
        cosine: rank by cosine distance; batch_size: number of graphs (when trailing ones are empty).

    Returns:
        (2, E) int64 edge_index, grouped by centre point, neighbours nearest first.
    """
    _check_flow(flow)
    k = check_positive_int(k, "k")
    if cosine:
        x = torch.nn.functional.normalize(x, dim=-1)
    padded, lengths, first = _padded(x, batch, batch_size)
    if padded.shape[0] == 0:
        return torch.zeros((2, 0), dtype=torch.int64, device=x.device)
    kk = k if loop else k + 1
    idx = knn_points(padded.detach(), padded.detach(), lengths, lengths, K=kk).idx
    valid = torch.arange(kk, device=x.device)[None, None, :] < lengths[:, None, None]
    if not loop:
        valid = _without_self(idx, valid, k)
    return _edges(idx, valid, first, lengths, flow)


def radius_graph(x: torch.Tensor, r: float, batch: torch.Tensor | None = None, loop: bool = False,
                 max_num_neighbors: int = 32, flow: str = "source_to_target", num_workers: int = 1,
                 batch_size: int | None = None) -> torch.Tensor:
    """Edges between points closer than r within each graph (PyG's radius_graph call shape); at most
    max_num_neighbors per point, the ones with the smallest indices (ball_query's rule)."""
    _check_flow(flow)
    max_num_neighbors = check_positive_int(max_num_neighbors, "max_num_neighbors")
    padded, lengths, first = _padded(x, batch, batch_size)
    if padded.shape[0] == 0:
        return torch.zeros((2, 0), dtype=torch.int64, device=x.device)
    K = max_num_neighbors if loop else max_num_neighbors + 1
    idx = ball_query(padded.detach(), padded.detach(), lengths, lengths, K=K, radius=float(r), return_nn=False).idx
    valid = idx >= 0
    if not loop:
        valid = _without_self(idx, valid, max_num_neighbors)
    return _edges(idx.clamp(min=0), valid, first, lengths, flow)
