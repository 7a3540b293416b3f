"""`pytorch3d.ops.graph_conv` mirror: GraphConv(input_dim, output_dim, init="normal", directed=False) with
forward (verts, edges), and gather_scatter(input, edges, directed=False) on (E, 2) edges (vertex edges[e, 0]
receives input[edges[e, 1]], and the reverse unless directed)."""

from __future__ import annotations

import torch

from ....nn.conv import GraphConv as _GraphConv
from ....ops.adjacency import build_adjacency
from ....ops.gather_scatter import gather_scatter as _gather_scatter
from ....ops.reference import gather_scatter as _reference_gather_scatter

__all__ = ["GraphConv", "gather_scatter", "gather_scatter_python"]


class GraphConv(_GraphConv):
    """PyTorch3D's GraphConv (weights w0, w1 as nn.Linear, init "normal": N(0, 0.01) and zero bias, or "zero");
    meshgraph's GraphConv with PyTorch3D's default `directed=False` and forward `(verts, edges)`."""

    def __init__(self, input_dim: int, output_dim: int, init: str = "normal", directed: bool = False) -> None:
        if init not in ("normal", "zero"):
            raise ValueError('Invalid GraphConv initialization "%s"' % init)
        super().__init__(input_dim, output_dim, init=init, directed=directed)

    def forward(self, verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        if torch.is_tensor(edges) and verts.device != edges.device:
            raise ValueError("verts and edges tensors must be on the same device.")
        if verts.shape[0] == 0:
            # PyTorch3D's empty-graph result keeps the graph to verts (so it requires grad when verts does)
            return verts.new_zeros((0, self.output_dim)) * verts.sum()
        return super().forward(verts, edges)

    def __repr__(self) -> str:
        return "GraphConv(%d -> %d, directed=%r)" % (self.input_dim, self.output_dim, self.directed)


def gather_scatter(input: torch.Tensor, edges: torch.Tensor, directed: bool = False) -> torch.Tensor:
    """PyTorch3D's gather_scatter: out[i] = sum of input[j] over edges (i, j) (and (j, i) unless directed)."""
    return _gather_scatter(input, edges, directed)


def gather_scatter_python(input: torch.Tensor, edges: torch.Tensor, directed: bool = False) -> torch.Tensor:
    """PyTorch3D's pure-PyTorch gather_scatter: the same result from meshgraph's reference definition
    (`meshgraph.ops.reference.gather_scatter`, which materializes one row per edge) instead of the fused kernel."""
    V = input.shape[0]
    edge_index = edges.long().flip(1).t()  # (2, E): sources edges[:, 1], destinations edges[:, 0]
    adj = build_adjacency(edge_index, V, directed=directed, index_dtype=torch.int64)
    out, _ = _reference_gather_scatter(input.reshape(V, -1), adj.rowptr, adj.col, None, "sum")
    return out.view(input.shape)
