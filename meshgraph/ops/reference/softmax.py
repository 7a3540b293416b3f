"""Reference neighbor softmax (scores in CSR order)."""

from __future__ import annotations

import torch


def _rows(rowptr, E):
    return torch.repeat_interleave(torch.arange(rowptr.numel() - 1, device=rowptr.device), rowptr.diff(), output_size=E)


def _row_of_score(rowptr, E, edge_id):
    """Row of every score row: CSR entry k stands for score row edge_id[k] (k itself without edge_id)."""
    row = _rows(rowptr, E)
    return row if edge_id is None else torch.empty_like(row).scatter_(0, edge_id, row)


def neighbor_softmax(scores: torch.Tensor, rowptr: torch.Tensor, edge_id: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax of scores (E,) / (E, H) over each CSR row."""
    E, V = scores.shape[0], rowptr.numel() - 1
    row = _row_of_score(rowptr, E, edge_id)
    s2 = scores.reshape(E, scores[0].numel() if E else 1)
    idx = row[:, None].expand_as(s2)
    mx = s2.new_full((V, s2.shape[1]), -torch.inf).scatter_reduce(0, idx, s2, "amax", include_self=True)
    ex = (s2 - mx[row]).exp()
    den = s2.new_zeros((V, s2.shape[1])).index_add(0, row, ex)
    return (ex / den[row]).reshape(scores.shape)


def neighbor_softmax_backward(grad, out, rowptr, edge_id=None) -> torch.Tensor:
    E, V = out.shape[0], rowptr.numel() - 1
    row = _row_of_score(rowptr, E, edge_id)
    width = out[0].numel() if E else 1
    g2, y2 = grad.reshape(E, width), out.reshape(E, width)
    dot = y2.new_zeros((V, y2.shape[1])).index_add(0, row, g2 * y2)
    return (y2 * (g2 - dot[row])).reshape(out.shape)
