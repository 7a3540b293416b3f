"""MessagePassing: PyG's message / aggregate / update vocabulary on meshgraph's kernels.

When a subclass keeps the default `message` (a weighted copy of the source features), `propagate` runs the
fused gather-scatter kernel and never forms the (E, F) message tensor. A custom `message` gets PyG-style
arguments (`x_j` = source rows, `x_i` = destination rows, any other `<name>_i` / `<name>_j` of a per-vertex
keyword, per-edge keywords as given) and its (E, F) result is reduced by the fused segment kernel.
"""

from __future__ import annotations

import inspect

import torch

from ..ops.gather_scatter import REDUCTIONS, _resolve, aggregate


class MessagePassing(torch.nn.Module):
    """Base class for message-passing layers.

    Args:
        aggr: "sum" (alias "add"), "mean", "max" or "min".
        self_loops: add a loop v -> v for every vertex before passing messages.
    """

    def __init__(self, aggr: str = "sum", *, self_loops: bool = False) -> None:
        super().__init__()
        aggr = "sum" if aggr == "add" else aggr
        if aggr not in REDUCTIONS:
            raise ValueError(f"aggr must be one of {REDUCTIONS} (or 'add'), got {aggr!r}")
        self.aggr = aggr
        self.self_loops = self_loops
        params = inspect.signature(self.message).parameters
        self._message_args = [p for p in params if p not in ("self",)]
        self._fused = type(self).message is MessagePassing.message

    def propagate(self, graph, x: torch.Tensor, edge_weight: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        """Aggregate messages along the edges of `graph` (GraphBatch, (2, E) edge_index or Adjacency) into each
        destination vertex, then `update`. `edge_weight` is (E,) or (E, H) in edge order; with self loops
        the loops get weight 1 unless `loop_weight` is given."""
        loop_weight = kwargs.pop("loop_weight", None)
        adj, num_edges, _ = _resolve(graph, x.shape[0], None, x.device, self_loops=self.self_loops)
        if edge_weight is not None and self.self_loops:
            fill = loop_weight if loop_weight is not None else edge_weight.new_ones((x.shape[0], *edge_weight.shape[1:]))
            edge_weight = torch.cat([edge_weight, fill])
        if self._fused:
            out = aggregate(x, adj, edge_weight, self.aggr)
        else:
            out = self._materialized(adj, x, edge_weight, kwargs)
        return self.update(out)

    def _materialized(self, adj, x, edge_weight, kwargs) -> torch.Tensor:
        # Per-edge tensors in edge-id order (the order the adjacency numbers its entries).
        E = adj.edge_id.shape[0]
        src = torch.empty(E, dtype=torch.int64, device=x.device)
        dst = torch.empty(E, dtype=torch.int64, device=x.device)
        src[adj.edge_id] = adj.col.long()
        dst[adj.edge_id] = torch.repeat_interleave(
            torch.arange(adj.num_dst, device=x.device), adj.rowptr.diff(), output_size=E
        )
        per_vertex = {"x": x, **{k: v for k, v in kwargs.items() if isinstance(v, torch.Tensor) and v.shape[:1] == x.shape[:1]}}
        args = {}
        for name in self._message_args:
            base, _, side = name.rpartition("_")
            if side in ("i", "j") and base in per_vertex:
                args[name] = per_vertex[base][dst if side == "i" else src]
            elif name == "edge_weight":
                args[name] = edge_weight
            elif name in kwargs:
                args[name] = kwargs[name]
        msg = self.message(**args)
        # Reduce the (E', *F) messages into destinations: entry k of the CSR reads message edge_id[k].
        m2 = msg.reshape(E, -1)
        ids = adj.edge_id.to(adj.col.dtype)
        out, _ = torch.ops.meshgraph.gather_scatter(m2, adj.rowptr, ids, None, self.aggr)
        return out.reshape(adj.num_dst, *msg.shape[1:])

    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        """Default message: the source features, scaled by the edge weight (fused; never materialized)."""
        if edge_weight is None:
            return x_j
        return x_j * edge_weight.view(-1, *([1] * (x_j.dim() - 1)))

    def update(self, aggr_out: torch.Tensor) -> torch.Tensor:
        return aggr_out

    def extra_repr(self) -> str:
        return f"aggr={self.aggr!r}"
