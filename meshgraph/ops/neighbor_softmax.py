"""neighbor_softmax: softmax of per-edge scores over each vertex's in-edges (attention), fused fwd + bwd.

Kernels: csrc/ops/neighbor_softmax/. Memory O(E * H): never E x F.
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_nonnegative_int, check_tensor, flatten_features, index_from_offsets
from .adjacency import Adjacency, cached_value
from .gather_scatter import _resolve

_extension.load()


def neighbor_softmax(
    scores: torch.Tensor, graph, directed: bool | None = None, num_verts: int | None = None
) -> torch.Tensor:
    """alpha[e] = exp(scores[e]) / sum of exp(scores[e']) over the edges e' entering the same vertex.

    Args:
        scores: (E,) or (E, H) per-edge scores (H heads), in the order of the graph's edges.
        graph: a GraphBatch, Adjacency or edge tensor, as in `gather_scatter`. directed=False treats every edge
            also in reverse; scores then have 2E rows (the edges, then their reverses).
        num_verts: the number of vertices when `graph` is an edge tensor. Pass it: without it the count is read
            from the edges (`max + 1`: a device sync the first time, cached on the edge tensor until it changes
            in place, and a data-dependent size under torch.compile).

    Returns:
        Same shape as scores. Differentiable (fused backward kernel). Numerically stable (row max subtracted).
    """
    check_tensor(scores, "scores", dim=(1, 2), dtypes=FLOAT_DTYPES)
    if num_verts is not None:
        check_nonnegative_int(num_verts, "num_verts")
    elif hasattr(graph, "num_verts"):
        num_verts = graph.num_verts
    elif isinstance(graph, Adjacency):
        num_verts = graph.num_src
    elif isinstance(graph, torch.Tensor) and graph.numel():  # one device sync per edge tensor, cached on it
        num_verts = cached_value(graph, ("num_verts",), lambda: int(graph.max()) + 1)
    else:
        num_verts = 0
    adj, num_edges, _ = _resolve(graph, num_verts, directed, scores.device)
    if scores.shape[0] != adj.edge_id.shape[0]:
        raise ValueError(f"scores must have one row per edge ({adj.edge_id.shape[0]}), got {scores.shape[0]}")
    # The kernel reads and writes rows through edge_id: scores stay in edge order, no permuted copies.
    return torch.ops.meshgraph.neighbor_softmax(scores, adj.rowptr, adj.edge_id)


@torch.library.register_fake("meshgraph::neighbor_softmax")
def _fake(scores, rowptr, edge_id=None):
    return torch.empty_like(scores)


@torch.library.register_fake("meshgraph::neighbor_softmax_backward")
def _fake_backward(grad, out, rowptr, edge_id=None):
    return torch.empty_like(out)


def _setup(ctx, inputs, output):
    scores, rowptr, edge_id = inputs
    ctx.save_for_backward(rowptr, edge_id, output)


def _backward(ctx, grad):
    rowptr, edge_id, out = ctx.saved_tensors
    return torch.ops.meshgraph.neighbor_softmax_backward(grad, out, rowptr, edge_id), None, None


def _setup_backward(ctx, inputs, output):
    grad, out, rowptr, edge_id = inputs
    ctx.save_for_backward(grad, out, rowptr, edge_id)


def _backward_backward(ctx, gg):
    # d/d grad: y * (gg - <y, gg>_row) = the same backward kernel applied to gg.
    # d/d out:  gg * (grad - <y, grad>) - grad * <y, gg>  (row sums), written with the kernels' building blocks.
    grad, out, rowptr, edge_id = ctx.saved_tensors
    d_grad = torch.ops.meshgraph.neighbor_softmax_backward(gg, out, rowptr, edge_id)
    E = out.shape[0]
    row_in_csr = index_from_offsets(rowptr, E)
    row = row_in_csr if edge_id is None else torch.empty_like(row_in_csr).scatter_(0, edge_id, row_in_csr)
    o2, g2, gg2 = flatten_features(out), flatten_features(grad), flatten_features(gg)
    V = rowptr.numel() - 1
    dot_yg = o2.new_zeros((V, o2.shape[1])).index_add(0, row, o2 * g2)[row]
    dot_ygg = o2.new_zeros((V, o2.shape[1])).index_add(0, row, o2 * gg2)[row]
    d_out = (gg2 * (g2 - dot_yg) - g2 * dot_ygg).reshape(out.shape)
    return d_grad, d_out, None, None


torch.library.register_autograd("meshgraph::neighbor_softmax", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::neighbor_softmax_backward", _backward_backward, setup_context=_setup_backward)
