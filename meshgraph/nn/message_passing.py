"""MessagePassing: PyG's contract (torch_geometric.nn.MessagePassing, 2.8) on meshgraph's kernels.

`propagate(edge_index, size=None, **kwargs)` collects the arguments of `message`, `aggregate` and `update` by
name from kwargs: `<name>_j` / `<name>_i` are the rows of the per-node tensor `<name>` at each edge's source /
destination (`flow="source_to_target"`; the other way round for "target_to_source"), a `(src, dst)` pair gives
the two sides of a bipartite graph, and `edge_index`, `adj_t`, `edge_index_i`, `edge_index_j`, `size`,
`size_i`, `size_j`, `ptr`, `index`, `dim_size` are filled in. The edge argument is a (2, E) tensor, a
GraphBatch, a `torch.sparse` adjacency (transposed, as PyG) or a SparseTensor-like object (see `_edges`).

When `message` is a plain or weighted copy of the source features (the default `message(x_j)`, or a method
marked with `fused_message`) and nothing observes the per-edge messages (no message / aggregate hooks, default
`aggregate` with a sum / mean / max / min aggregation), `propagate` runs the fused gather-scatter kernel on the
cached adjacency and never forms the (E, F) message tensor. Otherwise the messages are materialized and reduced
by `aggregate` (the aggregation module: fused segment kernels for float data).

`message_and_aggregate(adj_t, ...)` is called, as in PyG, when the layer implements it, `self.fuse` is true and
the edge argument is sparse. Hooks: `register_{propagate,message,aggregate,message_and_aggregate,edge_update}
_forward[_pre]_hook`, with PyG's arguments. Not implemented: TorchScript templates (`jittable`, jinja
`propagate`) and `explain`.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict

import torch
from torch.utils.hooks import RemovableHandle

from .._utils import FLOAT_DTYPES, check_positive_int
from ..ops.gather_scatter import aggregate as _fused_aggregate
from ._edges import FLOWS, Edges, edge_adjacency, is_sparse, is_sparse_tensor_like, message_adjacency, read_edges
from .aggr import Aggregation, MaxAggregation, MeanAggregation, MinAggregation, SumAggregation, aggregation_resolver

EMPTY = inspect.Parameter.empty
SPECIAL_ARGS = frozenset({"edge_index", "adj_t", "edge_index_i", "edge_index_j", "size", "size_i", "size_j", "ptr",
                          "index", "dim_size"})
FUSE_AGGRS = ("add", "sum", "mean", "min", "max")
_FUSED_REDUCE = {SumAggregation: "sum", MeanAggregation: "mean", MaxAggregation: "max", MinAggregation: "min"}
_SIGNATURES: dict[type, dict] = {}
_CURRENT = threading.local()  # the edges a propagate call is materializing messages for (per thread)


def fused_message(weight: str | None = None):
    """Mark a `message` whose result is `x_j` scaled by the per-edge tensor named `weight` ((E,) or (E, heads);
    None: x_j itself), so `propagate` may run it on the fused kernel. A subclass that overrides the method loses
    the mark and gets its messages materialized."""

    def mark(fn):
        fn._fused_weight = weight or ""
        return fn

    return mark


def _params(fn, skip: tuple = ()) -> tuple:
    sig = inspect.signature(fn)
    out = []
    for name, p in sig.parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out.append((name, p.default))
    return tuple((n, d) for k, (n, d) in enumerate(out) if k not in skip and n not in skip)


def _signatures(cls) -> dict:
    sigs = _SIGNATURES.get(cls)
    if sigs is None:
        sigs = {
            "message": _params(cls.message),
            "aggregate": _params(cls.aggregate, (0, "aggr")),
            "message_and_aggregate": _params(cls.message_and_aggregate, (0,)),
            "update": _params(cls.update, (0,)),
            "edge_update": _params(cls.edge_update),
        }
        names = lambda *fns: list(dict.fromkeys(n for f in fns for n, _ in sigs[f] if n not in SPECIAL_ARGS))
        sigs["user_args"] = names("message", "aggregate", "update")
        sigs["fused_user_args"] = names("message_and_aggregate", "update")
        sigs["update_args"] = names("update")
        sigs["edge_user_args"] = names("edge_update")
        _SIGNATURES[cls] = sigs
    return sigs


class MessagePassing(torch.nn.Module):
    """Base class for message-passing layers (PyG's constructor).

    Args:
        aggr: "sum" / "add", "mean", "max", "min", "mul", "var", "std", "softmax", "powermean", an
            `Aggregation`, a list of those (combined by `MultiAggregation`, `aggr_kwargs` its arguments), or None
            (the subclass aggregates itself).
        flow: "source_to_target" (edge_index[0] sends to edge_index[1]) or "target_to_source".
        node_dim: the node axis of the features (-2: (N, F) or (B, N, F)).
        decomposed_layers: split the features into this many chunks and propagate them one at a time.
    """

    special_args = SPECIAL_ARGS

    def __init__(self, aggr="sum", *, aggr_kwargs: dict | None = None, flow: str = "source_to_target",
                 node_dim: int = -2, decomposed_layers: int = 1) -> None:
        super().__init__()
        if flow not in FLOWS:
            raise ValueError(f"Expected 'flow' to be either 'source_to_target' or 'target_to_source' (got '{flow}')")
        if aggr is None or isinstance(aggr, (str, Aggregation)):
            self.aggr = None if aggr is None else str(aggr)
        elif isinstance(aggr, (tuple, list)):
            self.aggr = [str(a) for a in aggr]
        else:
            raise ValueError(f"aggr must be a string, an Aggregation, a list of them or None, got {type(aggr).__name__}")
        self.aggr_module = aggregation_resolver(aggr, **(aggr_kwargs or {}))
        self.flow = flow
        self.node_dim = node_dim
        self.fuse = self._implements("message_and_aggregate")
        if self.aggr is not None:
            self.fuse &= isinstance(self.aggr, str) and self.aggr in FUSE_AGGRS
        for kind in ("propagate", "message", "aggregate", "message_and_aggregate", "edge_update"):
            setattr(self, f"_{kind}_forward_pre_hooks", OrderedDict())
            setattr(self, f"_{kind}_forward_hooks", OrderedDict())
        decomposed_layers = check_positive_int(decomposed_layers, "decomposed_layers")
        self.decomposed_layers = decomposed_layers

    def _implements(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(MessagePassing, name)

    def reset_parameters(self) -> None:
        if self.aggr_module is not None:
            self.aggr_module.reset_parameters()

    def __repr__(self) -> str:
        if hasattr(self, "in_channels") and hasattr(self, "out_channels"):
            return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
        if hasattr(self, "channels"):
            return f"{type(self).__name__}({self.channels})"
        return f"{type(self).__name__}()"

    def forward(self, *args, **kwargs):
        """Subclasses define forward (and call `propagate` in it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    # ------------------------------------------------------------------ collecting arguments

    def _set_size(self, size: list, dim: int, src: torch.Tensor) -> None:
        n = src.size(self.node_dim)
        if size[dim] is None:
            size[dim] = n
        elif size[dim] != n:
            raise ValueError(f"Encountered tensor with size {n} in dimension {self.node_dim}, but expected size {size[dim]}.")

    def _lift(self, src: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        try:
            return src.index_select(self.node_dim, index)
        except (IndexError, RuntimeError) as e:
            n = src.size(self.node_dim)
            if index.numel() and int(index.min()) < 0:
                raise IndexError(
                    f"Found negative indices in 'edge_index' (got {int(index.min())}). Please ensure that all indices "
                    f"in 'edge_index' point to valid indices in the interval [0, {n}) in your node feature matrix "
                    f"and try again.") from e
            if index.numel() and int(index.max()) >= n:
                raise IndexError(
                    f"Found indices in 'edge_index' that are larger than {n - 1} (got {int(index.max())}). Please "
                    f"ensure that all indices in 'edge_index' point to valid indices in the interval [0, {n}) in "
                    f"your node feature matrix and try again.") from e
            raise

    def _collect(self, args, edges: Edges, size: list, kwargs: dict) -> dict:
        i, j = (1, 0) if self.flow == "source_to_target" else (0, 1)
        out = {}
        for arg in args:
            if arg[-2:] not in ("_i", "_j"):
                out[arg] = kwargs.get(arg, EMPTY)
                continue
            dim = j if arg[-2:] == "_j" else i
            data = kwargs.get(arg[:-2], EMPTY)
            if isinstance(data, (tuple, list)):
                if len(data) != 2:
                    raise ValueError(f"'{arg[:-2]}' must be a tensor or a pair of tensors, got {len(data)} entries")
                if isinstance(data[1 - dim], torch.Tensor):
                    self._set_size(size, 1 - dim, data[1 - dim])
                data = data[dim]
            if isinstance(data, torch.Tensor):
                self._set_size(size, dim, data)
                data = self._lift(data, edges.index_j if dim == j else edges.index_i)
            out[arg] = data
        if edges.sparse:
            value = edges.value
            out["adj_t"], out["edge_index"] = edges.source, None
            out["ptr"] = edges.rowptr if is_sparse_tensor_like(edges.source) else None
            if out.get("edge_weight", None) is None:
                out["edge_weight"] = value
            if out.get("edge_attr", None) is None:
                out["edge_attr"] = None if value is None or (value.dim() == 1 and not is_sparse_tensor_like(edges.source)) else value
            if out.get("edge_type", None) is None:
                out["edge_type"] = value
        else:
            out["adj_t"], out["edge_index"], out["ptr"] = None, edges.edge_index, None
        out["edge_index_i"], out["edge_index_j"] = edges.index_i, edges.index_j
        out["index"] = edges.index_i
        out["size"] = size
        out["size_i"] = size[i] if size[i] is not None else size[j]
        out["size_j"] = size[j] if size[j] is not None else size[i]
        out["dim_size"] = out["size_i"]
        return out

    def _param_data(self, fn: str, coll: dict) -> dict:
        out = {}
        for name, default in _signatures(type(self))[fn]:
            data = coll.get(name, EMPTY)
            if data is EMPTY:
                if default is EMPTY:
                    raise ValueError(f"Required parameter '{name}' of '{type(self).__name__}.{fn}' is empty "
                                     f"(pass '{name}' to propagate)")
                data = default
            out[name] = data
        return out

    # ------------------------------------------------------------------ message passing

    def propagate(self, edge_index, size=None, **kwargs):
        """Send messages along the edges and aggregate them at each destination, then `update` (see module doc).

        Args:
            edge_index: (2, E) integer tensor, GraphBatch, `torch.sparse` adj_t or SparseTensor-like adj_t.
            size: (N_0, N_1) node counts of the two index rows of a (2, E) edge_index (bipartite graphs);
                inferred from the features (square) when None. Ignored for sparse inputs.
            **kwargs: the data `message` / `aggregate` / `update` take (see module doc).
        """
        if isinstance(size, torch.Tensor):  # meshgraph's earlier call shape propagate(graph, x, ...)
            kwargs.setdefault("x", size)
            size = None
        for hook in self._propagate_forward_pre_hooks.values():
            res = hook(self, (edge_index, size, kwargs))
            if res is not None:
                edge_index, size, kwargs = res
        edges = read_edges(edge_index, self.flow, None if is_sparse(edge_index) else size)
        mutable_size = list(edges.size)
        out = self._fused_propagate(edges, mutable_size, kwargs) if self.decomposed_layers == 1 else None
        if out is not None:
            pass
        elif self.fuse and edges.sparse:
            coll = self._collect(_signatures(type(self))["fused_user_args"], edges, mutable_size, kwargs)
            mk = self._param_data("message_and_aggregate", coll)
            for hook in self._message_and_aggregate_forward_pre_hooks.values():
                res = hook(self, (edge_index, mk))
                if res is not None:
                    edge_index, mk = res
            out = self.message_and_aggregate(edge_index, **mk)
            for hook in self._message_and_aggregate_forward_hooks.values():
                res = hook(self, (edge_index, mk), out)
                if res is not None:
                    out = res
            out = self.update(out, **self._param_data("update", coll))
        else:
            out = self._materialized_propagate(edges, mutable_size, kwargs)
        for hook in self._propagate_forward_hooks.values():
            res = hook(self, (edge_index, mutable_size, kwargs), out)
            if res is not None:
                out = res
        return out

    def _materialized_propagate(self, edges: Edges, size: list, kwargs: dict):
        user_args = _signatures(type(self))["user_args"]
        parts = self.decomposed_layers
        if parts > 1:
            chunked = {a[:-2] for a in user_args if a[-2:] == "_j"}
            chunks = {}
            for a in chunked:
                v = kwargs[a]
                chunks[a] = (list(zip(*[t.chunk(parts, -1) if isinstance(t, torch.Tensor) else [t] * parts for t in v]))
                             if isinstance(v, (tuple, list)) else v.chunk(parts, -1))
            outs = []
        for k in range(parts):
            if parts > 1:
                kwargs = {**kwargs, **{a: chunks[a][k] for a in chunked}}
            coll = self._collect(user_args, edges, size, kwargs)
            msg_kwargs = self._param_data("message", coll)
            for hook in self._message_forward_pre_hooks.values():
                res = hook(self, (msg_kwargs,))
                if res is not None:
                    msg_kwargs = res[0] if isinstance(res, tuple) else res
            out = self.message(**msg_kwargs)
            for hook in self._message_forward_hooks.values():
                res = hook(self, (msg_kwargs,), out)
                if res is not None:
                    out = res
            _CURRENT.edges = (self, edges, size)
            aggr_kwargs = self._param_data("aggregate", coll)
            for hook in self._aggregate_forward_pre_hooks.values():
                res = hook(self, (aggr_kwargs,))
                if res is not None:
                    aggr_kwargs = res[0] if isinstance(res, tuple) else res
            try:
                out = self.aggregate(out, **aggr_kwargs)
            finally:
                _CURRENT.edges = None
            for hook in self._aggregate_forward_hooks.values():
                res = hook(self, (aggr_kwargs,), out)
                if res is not None:
                    out = res
            out = self.update(out, **self._param_data("update", coll))
            if parts > 1:
                outs.append(out)
        return torch.cat(outs, dim=-1) if parts > 1 else out

    def _fused_propagate(self, edges: Edges, size: list, kwargs: dict):
        """The fused-kernel path, or None when the messages must be materialized."""
        weight_name = getattr(type(self).message, "_fused_weight", None)
        reduce = _FUSED_REDUCE.get(type(self.aggr_module))
        if (weight_name is None or reduce is None or type(self).aggregate is not MessagePassing.aggregate
                or self._message_forward_pre_hooks or self._message_forward_hooks
                or self._aggregate_forward_pre_hooks or self._aggregate_forward_hooks):
            return None
        i, j = (1, 0) if self.flow == "source_to_target" else (0, 1)
        x = kwargs.get("x", None)
        x_i = None
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                return None
            x, x_i = x[j], x[i]
        if (not isinstance(x, torch.Tensor) or x.layout != torch.strided or x.dtype not in FLOAT_DTYPES
                or x.dim() < 2 or self.node_dim % x.dim() != 0):
            return None
        E = edges.index_j.numel()
        w = None
        if weight_name:
            w = kwargs.get(weight_name, None)
            if w is None and edges.sparse and weight_name == "edge_weight":
                w = edges.value
            if w is not None:
                if (not isinstance(w, torch.Tensor) or w.dtype != x.dtype or w.dim() not in (1, 2) or w.shape[0] != E
                        or (weight_name == "edge_weight" and w.dim() != 1)
                        or (w.dim() == 2 and (x.dim() != 3 or w.shape[1] != x.shape[1]))):
                    return None
        self._set_size(size, j, x)
        if isinstance(x_i, torch.Tensor):
            self._set_size(size, i, x_i)
        num_src = size[j]
        num_dst = size[i] if size[i] is not None else size[j]
        adj = edge_adjacency(edges, num_src, num_dst, self.flow)
        if x.shape[0] == 0 or E == 0:
            out = x.new_zeros((num_dst, *x.shape[1:]))
        else:
            out = _fused_aggregate(x, adj, w, reduce)
        coll = self._collect(_signatures(type(self))["update_args"], edges, size, kwargs)
        return self.update(out, **self._param_data("update", coll))

    @fused_message()
    def message(self, x_j: torch.Tensor) -> torch.Tensor:
        """The message from node j to node i (default: x_j; fused, never materialized unless observed)."""
        return x_j

    def aggregate(self, inputs: torch.Tensor, index: torch.Tensor, ptr: torch.Tensor | None = None,
                  dim_size: int | None = None) -> torch.Tensor:
        """Reduce the messages per destination with the aggregation module."""
        if self.aggr_module is None:
            raise NotImplementedError(f"{type(self).__name__} has aggr=None and must implement aggregate()")
        reduce = _FUSED_REDUCE.get(type(self.aggr_module))
        current = getattr(_CURRENT, "edges", None)
        if (reduce is not None and current is not None and current[0] is self and index is current[1].index_i
                and isinstance(inputs, torch.Tensor) and inputs.dtype in FLOAT_DTYPES and inputs.dim() >= 2
                and self.node_dim % inputs.dim() == 0 and inputs.shape[0] == index.numel() and index.numel()):
            # Messages of a graph whose CSR is cached: reduce them through it instead of sorting the index.
            size = current[2]
            i, j = (1, 0) if self.flow == "source_to_target" else (0, 1)
            n_dst = size[i] if size[i] is not None else size[j]
            madj = message_adjacency(current[1], size[j] if size[j] is not None else n_dst, n_dst, self.flow)
            if madj is not None and (dim_size is None or dim_size == n_dst):
                return _fused_aggregate(inputs, madj, None, reduce)
        return self.aggr_module(inputs, index, ptr=ptr, dim_size=dim_size, dim=self.node_dim)

    def message_and_aggregate(self, edge_index) -> torch.Tensor:
        """Fused message + aggregate for sparse inputs (called when implemented and `self.fuse`)."""
        raise NotImplementedError

    def update(self, inputs):
        return inputs

    # ------------------------------------------------------------------ edge updates

    def edge_updater(self, edge_index, size=None, **kwargs):
        """Compute per-edge values with `edge_update` (same argument collection as `propagate`)."""
        for hook in self._edge_update_forward_pre_hooks.values():
            res = hook(self, (edge_index, size, kwargs))
            if res is not None:
                edge_index, size, kwargs = res
        edges = read_edges(edge_index, self.flow, None)
        coll = self._collect(_signatures(type(self))["edge_user_args"], edges, list(edges.size), kwargs)
        out = self.edge_update(**self._param_data("edge_update", coll))
        for hook in self._edge_update_forward_hooks.values():
            res = hook(self, (edge_index, size, kwargs), out)
            if res is not None:
                out = res
        return out

    def edge_update(self) -> torch.Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------ hooks

    def _register(self, kind: str, hook) -> RemovableHandle:
        hooks = getattr(self, f"_{kind}_hooks")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_propagate_forward_pre_hook(self, hook) -> RemovableHandle:
        """hook(module, (edge_index, size, kwargs)) -> None or replacement inputs."""
        return self._register("propagate_forward_pre", hook)

    def register_propagate_forward_hook(self, hook) -> RemovableHandle:
        """hook(module, (edge_index, size, kwargs), out) -> None or replacement output."""
        return self._register("propagate_forward", hook)

    def register_message_forward_pre_hook(self, hook) -> RemovableHandle:
        """hook(module, (message_kwargs,)); registering it materializes the messages."""
        return self._register("message_forward_pre", hook)

    def register_message_forward_hook(self, hook) -> RemovableHandle:
        return self._register("message_forward", hook)

    def register_aggregate_forward_pre_hook(self, hook) -> RemovableHandle:
        return self._register("aggregate_forward_pre", hook)

    def register_aggregate_forward_hook(self, hook) -> RemovableHandle:
        return self._register("aggregate_forward", hook)

    def register_message_and_aggregate_forward_pre_hook(self, hook) -> RemovableHandle:
        return self._register("message_and_aggregate_forward_pre", hook)

    def register_message_and_aggregate_forward_hook(self, hook) -> RemovableHandle:
        return self._register("message_and_aggregate_forward", hook)

    def register_edge_update_forward_pre_hook(self, hook) -> RemovableHandle:
        return self._register("edge_update_forward_pre", hook)

    def register_edge_update_forward_hook(self, hook) -> RemovableHandle:
        return self._register("edge_update_forward", hook)


__all__ = ["MessagePassing", "fused_message"]
