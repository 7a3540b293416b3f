"""gatv2_edge_score: GATv2's attention logits score[e, h] = sum_c att[h, c] * leaky_relu(x_l[src, h, c] +
x_r[dst, h, c] (+ x_e[e, h, c])), fused: no (E, H, C) tensor in forward or backward (besides x_e and its gradient
when an edge term is given). The backward is a kernel too (csrc/ops/gatv2_edge_score/): per-destination and
per-source passes over the graph's CSRs, deterministic on CPU and CUDA when the CSRs are known (the wrappers pass
the ones cached on the graph); a raw call without them builds them on CPU and uses atomics on CUDA (or a sort, when
deterministic algorithms are on).
"""

from __future__ import annotations

import numbers

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_index_range, check_index_tensor, check_same_device, check_tensor
from .adjacency import Adjacency, cached_value
from .gather_scatter import _resolve

_extension.load()


def edge_csr(adj: Adjacency) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dst_ptr, dst_perm, src_ptr, src_perm) of the op for edges numbered as `adj.edge_id` numbers them."""
    return adj.rowptr, adj.edge_id, adj.rowptr_t, adj.edge_id[adj.eid_t]


def csr_order_csr(adj: Adjacency) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The same CSRs for edges numbered in the adjacency's own CSR order (edge k = CSR entry k); the identity
    permutation is cached with the adjacency (on its col tensor)."""
    ident = cached_value(adj.col, ("csr_order_perm",), lambda: torch.arange(adj.col.shape[0], device=adj.col.device))
    return adj.rowptr, ident, adj.rowptr_t, adj.eid_t


def gatv2_edge_score(
    x_l: torch.Tensor,
    x_r: torch.Tensor | None,
    att: torch.Tensor,
    edge_index: torch.Tensor,
    x_e: torch.Tensor | None = None,
    negative_slope: float = 0.2,
    adjacency: Adjacency | None = None,
) -> torch.Tensor:
    """GATv2 edge scores (Brody et al. 2022), the logits before the softmax.

    Args:
        x_l: (V_src, H, C) source-side features (PyG's `lin_l(x)` viewed per head).
        x_r: (V_dst, H, C) destination-side features (`lin_r(x)`), or None to use x_l (shared weights).
        att: (H, C) or PyG's (1, H, C) attention vector.
        edge_index: (2, E) integer edges, row 0 sources, row 1 destinations.
        x_e: optional (E, H, C) per-edge term (`lin_edge(edge_attr)`), in edge order.
        negative_slope: the leaky ReLU's slope.
        adjacency: optional Adjacency of these edges (its edge ids number them); default: the one cached on
            edge_index. It groups the edges for the backward pass.

    Returns:
        (E, H) scores in edge order, differentiable w.r.t. x_l, x_r, x_e and att (fused backward kernel).
    """
    check_tensor(x_l, "x_l", dim=3, dtypes=FLOAT_DTYPES)
    if x_r is None:
        x_r = x_l
    check_tensor(x_r, "x_r", dim=3, dtypes=FLOAT_DTYPES)
    H, C = x_l.shape[1], x_l.shape[2]
    if x_r.shape[1:] != x_l.shape[1:]:
        raise ValueError(f"x_r must have the heads and channels of x_l ({H}, {C}), got shape {tuple(x_r.shape)}")
    check_tensor(att, "att", dtypes=FLOAT_DTYPES)
    if att.shape not in ((H, C), (1, H, C)):
        raise ValueError(f"att must have shape ({H}, {C}) or (1, {H}, {C}), got {tuple(att.shape)}")
    for name, t in (("x_r", x_r), ("att", att)):
        if t.dtype != x_l.dtype:
            raise TypeError(f"{name} must have the dtype of x_l ({x_l.dtype}), got {t.dtype}")
    check_index_tensor(edge_index, "edge_index", shape=(2, None))
    E = edge_index.shape[1]
    if x_e is not None:
        check_tensor(x_e, "x_e", shape=(E, H, C), dtypes=FLOAT_DTYPES)
        if x_e.dtype != x_l.dtype:
            raise TypeError(f"x_e must have the dtype of x_l ({x_l.dtype}), got {x_e.dtype}")
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(f"negative_slope must be a number, got {type(negative_slope).__name__}")
    check_same_device(x_l=x_l, x_r=x_r, att=att, edge_index=edge_index, **({} if x_e is None else {"x_e": x_e}))
    V_src, V_dst = x_l.shape[0], x_r.shape[0]
    if adjacency is None:
        adjacency = _resolve(edge_index, V_src, None, x_l.device, num_dst=V_dst)[0]  # validates the indices once
    else:
        if not isinstance(adjacency, Adjacency):
            raise TypeError(f"adjacency must be an Adjacency, got {type(adjacency).__name__}")
        if (adjacency.edge_id.shape[0], adjacency.num_src, adjacency.num_dst) != (E, V_src, V_dst):
            raise ValueError(f"adjacency must have {E} edges, {V_src} sources and {V_dst} destinations, got "
                             f"{adjacency.edge_id.shape[0]}, {adjacency.num_src} and {adjacency.num_dst}")
        check_index_range(edge_index[0], "edge_index[0]", V_src)
        check_index_range(edge_index[1], "edge_index[1]", V_dst)
    src, dst = edge_index[0].long(), edge_index[1].long()
    return torch.ops.meshgraph.gatv2_edge_score(x_l, x_r, x_e, att.reshape(H, C), src, dst, float(negative_slope),
                                                *edge_csr(adjacency))


# ---------------------------------------------------------------------- fake kernels


@torch.library.register_fake("meshgraph::gatv2_edge_score")
def _fake(x_l, x_r, x_e, att, src, dst, negative_slope, dst_ptr=None, dst_perm=None, src_ptr=None, src_perm=None):
    torch._check(x_l.dim() == 3, lambda: "x_l must be 3-D")
    return x_l.new_empty((src.shape[0], x_l.shape[1]))


@torch.library.register_fake("meshgraph::gatv2_edge_score_backward")
def _fake_backward(grad, x_l, x_r, x_e, att, src, dst, negative_slope, dst_ptr, dst_perm, src_ptr, src_perm,
                   output_mask):
    none = lambda: x_l.new_empty((0,))  # noqa: E731  (one tensor per output: outputs never alias)
    return (x_l.new_empty(x_l.shape) if output_mask[0] else none(),
            x_r.new_empty(x_r.shape) if output_mask[1] else none(),
            x_e.new_empty(x_e.shape) if output_mask[2] and x_e is not None else none(),
            att.new_empty(att.shape) if output_mask[3] else none())


# ---------------------------------------------------------------------- autograd


def _setup(ctx, inputs, output):
    x_l, x_r, x_e, att, src, dst, negative_slope, *csr = inputs
    ctx.negative_slope = negative_slope
    ctx.save_for_backward(x_l, x_r, x_e, att, src, dst, *csr)


def _backward(ctx, grad):
    x_l, x_r, x_e, att, src, dst, *csr = ctx.saved_tensors
    need = ctx.needs_input_grad
    mask = [need[0], need[1], need[2] and x_e is not None, need[3]]
    if not any(mask):
        return (None,) * 11
    g_l, g_r, g_e, g_att = torch.ops.meshgraph.gatv2_edge_score_backward(
        grad, x_l, x_r, x_e, att, src, dst, ctx.negative_slope, *csr, mask)
    return (g_l if mask[0] else None, g_r if mask[1] else None, g_e if mask[2] else None, g_att if mask[3] else None,
            None, None, None, None, None, None, None)


def _setup_backward(ctx, inputs, output):
    grad, x_l, x_r, x_e, att, src, dst, negative_slope, *rest = inputs
    ctx.negative_slope, ctx.mask = negative_slope, list(rest[4])
    ctx.save_for_backward(grad, x_l, x_r, x_e, att, src, dst, *rest[:4])


def _backward_backward(ctx, gg_l, gg_r, gg_e, gg_att):
    # The backward is linear in grad and in att, and leaky_relu'' = 0 almost everywhere, so with
    # T = gg_l[src] + gg_r[dst] + gg_e and s = leaky_relu'(z):
    #   d grad  = sum_c s * att * T + (the forward with att := gg_att)
    #   d att   = sum_e grad * s * T
    #   d x_l, d x_r, d x_e = (the backward with att := gg_att)
    # The gg_att terms run on the kernels; the T terms form (E, H, C) tensors (second order only).
    grad, x_l, x_r, x_e, att, src, dst, *csr = ctx.saved_tensors
    slope, mask = ctx.negative_slope, ctx.mask
    need = ctx.needs_input_grad
    used = lambda t, k: t is not None and mask[k] and t.numel() > 0  # noqa: E731
    d_grad = d_l = d_r = d_e = d_att = None
    T = None
    for t, idx, k in ((gg_l, src, 0), (gg_r, dst, 1), (gg_e, None, 2)):
        if used(t, k):
            part = t if idx is None else t[idx]
            T = part if T is None else T + part
    z = None
    if T is not None and (need[0] or need[4]):
        z = x_l[src] + x_r[dst]
        if x_e is not None:
            z = z + x_e
        s = torch.where(z > 0, 1.0, slope).to(z.dtype)
        if need[0]:
            d_grad = (s * att * T).sum(-1)
        if need[4]:
            d_att = (grad[..., None] * s * T).sum(0)
    if used(gg_att, 3):
        if need[0]:
            extra = torch.ops.meshgraph.gatv2_edge_score(x_l, x_r, x_e, gg_att, src, dst, slope, *csr)
            d_grad = extra if d_grad is None else d_grad + extra
        m2 = [need[1], need[2], need[3] and x_e is not None, False]
        if any(m2):
            d_l, d_r, d_e, _ = torch.ops.meshgraph.gatv2_edge_score_backward(
                grad, x_l, x_r, x_e, gg_att, src, dst, slope, *csr, m2)
            d_l, d_r, d_e = (d if m else None for d, m in zip((d_l, d_r, d_e), m2))
    return d_grad, d_l, d_r, d_e, d_att, None, None, None, None, None, None, None, None


torch.library.register_autograd("meshgraph::gatv2_edge_score", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::gatv2_edge_score_backward", _backward_backward, setup_context=_setup_backward)
