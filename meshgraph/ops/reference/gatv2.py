"""Reference GATv2 edge scores (the specification of gatv2_edge_score and its backward)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _z(x_l, x_r, x_e, src, dst):
    z = x_l[src] + x_r[dst]
    return z if x_e is None else z + x_e


def gatv2_edge_score(x_l, x_r, x_e, att, src, dst, negative_slope, dst_ptr=None, dst_perm=None, src_ptr=None,
                     src_perm=None) -> torch.Tensor:
    """score[e, h] = sum_c att[h, c] * leaky_relu(x_l[src[e], h, c] + x_r[dst[e], h, c] (+ x_e[e, h, c])).
    The CSR arguments group the edges for the kernels' backward and do not change the result."""
    return (F.leaky_relu(_z(x_l, x_r, x_e, src, dst), negative_slope) * att).sum(-1)


def gatv2_edge_score_backward(grad, x_l, x_r, x_e, att, src, dst, negative_slope, dst_ptr, dst_perm, src_ptr,
                              src_perm, output_mask):
    """(grad_x_l, grad_x_r, grad_x_e, grad_att); an output not asked for by output_mask (or grad_x_e without x_e)
    is an empty (0,) tensor."""
    z = _z(x_l, x_r, x_e, src, dst)
    d = grad[..., None] * att * torch.where(z > 0, 1.0, negative_slope).to(z.dtype)
    none = lambda: x_l.new_empty(0)  # noqa: E731
    return (
        torch.zeros_like(x_l).index_add_(0, src, d) if output_mask[0] else none(),
        torch.zeros_like(x_r).index_add_(0, dst, d) if output_mask[1] else none(),
        d if output_mask[2] and x_e is not None else none(),
        (grad[..., None] * F.leaky_relu(z, negative_slope)).sum(0) if output_mask[3] else none(),
    )
