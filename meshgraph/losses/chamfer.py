"""Chamfer distance between batches of point clouds, on the exact grid knn (PyTorch3D's chamfer_distance)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._utils import FLOAT_DTYPES, check_tensor
from ..graph import GraphBatch
from ..ops.knn import _check_lengths, knn_gather, knn_points


def _as_padded(x, lengths, name):
    if isinstance(x, GraphBatch):
        return x.pos_padded(), x.num_verts_per_graph, (x.padded("normal") if "normal" in x.vertex_feature_names else None)
    check_tensor(x, name, dim=3, dtypes=FLOAT_DTYPES)
    return x, lengths, None


def chamfer_distance(
    x,
    y,
    x_lengths: torch.Tensor | None = None,
    y_lengths: torch.Tensor | None = None,
    x_normals: torch.Tensor | None = None,
    y_normals: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    batch_reduction: str | None = "mean",
    point_reduction: str | None = "mean",
    norm: int = 2,
    single_directional: bool = False,
    abs_cosine: bool = True,
):
    """Chamfer distance between x (N, P1, D) and y (N, P2, D) (or GraphBatches of point sets).

    For every point of x the *squared* distance (norm=2; L1 for norm=1) to its nearest point of y, and the
    reverse unless single_directional; point_reduction "mean" / "sum" / None over each cloud's valid points,
    batch_reduction "mean" / "sum" / None over clouds (weights (N,) scale clouds; "mean" divides by their sum).
    With normals, also 1 - |cos| (1 - cos without abs_cosine) between each point's normal and its nearest
    neighbour's.

    Returns:
        (loss, loss_normals): scalars, (N,) tensors, or per-point tensors when point_reduction is None
        (then a pair (x_part, y_part) each); loss_normals is None without normals.
    """
    if point_reduction not in ("mean", "sum", None):
        raise ValueError(f'point_reduction must be "mean", "sum" or None, got {point_reduction!r}')
    if batch_reduction not in ("mean", "sum", None):
        raise ValueError(f'batch_reduction must be "mean", "sum" or None, got {batch_reduction!r}')
    if point_reduction is None and batch_reduction is not None:
        raise ValueError("batch_reduction must be None when point_reduction is None")
    if norm not in (1, 2):
        raise ValueError(f"norm must be 1 or 2, got {norm}")
    x, x_lengths, xn = _as_padded(x, x_lengths, "x")
    y, y_lengths, yn = _as_padded(y, y_lengths, "y")
    x_normals = x_normals if x_normals is not None else xn
    y_normals = y_normals if y_normals is not None else yn
    if (x_normals is None) != (y_normals is None):
        raise ValueError("give both x_normals and y_normals, or neither")
    N = x.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"x and y must have the same batch size, got {N} and {y.shape[0]}")
    x_lengths = _check_lengths(x_lengths, "x_lengths", N, x.shape[1], x.device)
    y_lengths = _check_lengths(y_lengths, "y_lengths", N, y.shape[1], x.device)
    if weights is not None:
        check_tensor(weights, "weights", shape=(N,), dtypes=FLOAT_DTYPES)
        if weights.numel() and bool((weights < 0).any()):
            raise ValueError("weights must be non-negative")
    for nm, t, ref in (("x_normals", x_normals, x), ("y_normals", y_normals, y)):
        if t is not None and t.shape != ref.shape:
            raise ValueError(f"{nm} must have shape {tuple(ref.shape)}, got {tuple(t.shape)}")

    def one_side(a, b, la, lb, na, nb):
        nn = knn_points(a, b, la, lb, norm=norm, K=1)
        mask = torch.arange(a.shape[1], device=a.device)[None, :] < la[:, None]
        d = nn.dists[..., 0] * mask
        dn = None
        if na is not None:
            nbn = knn_gather(nb, nn.idx, lb)[..., 0, :]
            cos = F.cosine_similarity(na, nbn, dim=2, eps=1e-6)
            dn = (1 - (cos.abs() if abs_cosine else cos)) * mask
        return d, dn

    cx, cnx = one_side(x, y, x_lengths, y_lengths, x_normals, y_normals)
    if not single_directional:
        cy, cny = one_side(y, x, y_lengths, x_lengths, y_normals, x_normals)
    if weights is not None:
        cx = cx * weights[:, None]
        cnx = cnx * weights[:, None] if cnx is not None else None
        if not single_directional:
            cy = cy * weights[:, None]
            cny = cny * weights[:, None] if cny is not None else None
    if point_reduction is None:
        if single_directional:
            return cx, cnx
        return (cx, cy), ((cnx, cny) if cnx is not None else None)

    def reduce(d, lengths):
        s = d.sum(1)
        return s / lengths.clamp(min=1).to(s.dtype) if point_reduction == "mean" else s

    def batch(v):
        if batch_reduction is None:
            return v
        s = v.sum()
        if batch_reduction == "mean":
            div = weights.sum() if weights is not None else torch.tensor(max(N, 1), dtype=s.dtype, device=s.device)
            return s / div.clamp(min=1e-12) if weights is not None else s / div
        return s

    loss = reduce(cx, x_lengths)
    loss_n = reduce(cnx, x_lengths) if cnx is not None else None
    if not single_directional:
        loss = loss + reduce(cy, y_lengths)
        if loss_n is not None:
            loss_n = loss_n + reduce(cny, y_lengths)
    return batch(loss), (batch(loss_n) if loss_n is not None else None)
