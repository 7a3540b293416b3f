"""Heterogeneous message passing: HeteroConv (one layer per edge type) and `to_hetero` (an FX transform that turns a
homogeneous model into one over typed node / edge dicts), PyG 2.8's `torch_geometric.nn.conv.HeteroConv` and
`torch_geometric.nn.to_hetero` with their parameter names, so PyG checkpoints load.

Each edge type runs its own layer on its own edge tensor: a fused layer does one gather-scatter over that edge type's
cached CSR, and the per-destination results of the edge types are summed (or reduced by `aggr`) as node-level
(N_dst, F) tensors; no concatenated edge list or E x F copy is formed.

`ModuleDict` / `ParameterDict` take edge-type tuples as keys (stored as `<src___rel___dst>`, as PyG does).
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections import defaultdict
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

import torch
import torch.fx
from torch import nn

from .aggr import Aggregation
from .message_passing import MessagePassing

Key = Union[str, Tuple[str, ...]]


def _to_internal(key: Key, reserved: frozenset) -> str:
    if isinstance(key, tuple):
        if len(key) < 2:
            raise ValueError(f"a tuple key needs at least two parts, got {key!r}")
        key = f"<{'___'.join(key)}>"
    if not isinstance(key, str):
        raise TypeError(f"keys must be strings or tuples of strings, got {type(key).__name__}")
    if key in reserved:
        key = f"<{key}>"
    return key.replace(".", "#")


def _to_external(key: str, reserved: frozenset) -> Key:
    key = key.replace("#", ".")
    if key[0] == "<" and key[-1] == ">" and key[1:-1] in reserved:
        return key[1:-1]
    if key[0] == "<" and key[-1] == ">" and "___" in key:
        return tuple(key[1:-1].split("___"))
    return key


class _TupleKeys:
    """Mapping methods of a torch Module/ParameterDict whose keys may be tuples (stored as `<a___b___c>`, '.' as
    '#', names of the container's own attributes as `<name>`), PyG's key scheme."""

    _RESERVED: frozenset = frozenset()

    @classmethod
    def to_internal_key(cls, key: Key) -> str:
        return _to_internal(key, cls._RESERVED)

    @classmethod
    def to_external_key(cls, key: str) -> Key:
        return _to_external(key, cls._RESERVED)

    def __getitem__(self, key: Key):
        return super().__getitem__(self.to_internal_key(key))

    def __setitem__(self, key: Key, value) -> None:
        super().__setitem__(self.to_internal_key(key), value)

    def __delitem__(self, key: Key) -> None:
        super().__delitem__(self.to_internal_key(key))

    def __contains__(self, key: Key) -> bool:
        return super().__contains__(self.to_internal_key(key))

    def keys(self) -> list:
        return [self.to_external_key(k) for k in super().keys()]

    def items(self) -> list:
        return [(self.to_external_key(k), v) for k, v in super().items()]


class ModuleDict(_TupleKeys, nn.ModuleDict):
    """torch.nn.ModuleDict whose keys may be tuples (edge types), PyG's `torch_geometric.nn.ModuleDict`."""

    _RESERVED = frozenset(dir(nn.ModuleDict))

    def __init__(self, modules: Mapping[Key, nn.Module] | None = None):
        super().__init__(None if modules is None else {self.to_internal_key(k): m for k, m in modules.items()})


class ParameterDict(_TupleKeys, nn.ParameterDict):
    """torch.nn.ParameterDict whose keys may be tuples (edge types), PyG's `torch_geometric.nn.ParameterDict`."""

    _RESERVED = frozenset(dir(nn.ParameterDict))

    def __init__(self, parameters: Mapping[Key, nn.Parameter] | None = None):
        super().__init__(None if parameters is None else {self.to_internal_key(k): p for k, p in parameters.items()})


# ---------------------------------------------------------------------- shared checks


def check_metadata(metadata, what: str = "metadata") -> tuple[list[str], list[tuple[str, str, str]]]:
    """(node_types, edge_types) of a `HeteroGraph.metadata()`-like pair: ValueErrors naming what is wrong."""
    if not isinstance(metadata, (tuple, list)) or len(metadata) != 2:
        raise ValueError(f"{what} must be a (node_types, edge_types) pair, got {type(metadata).__name__}")
    node_types, edge_types = list(metadata[0]), [tuple(t) for t in metadata[1]]
    if not all(isinstance(t, str) for t in node_types):
        raise ValueError(f"{what}: node types must be strings, got {node_types}")
    for t in edge_types:
        if len(t) != 3 or not all(isinstance(p, str) for p in t):
            raise ValueError(f"{what}: edge type {t!r} must be a (src, relation, dst) triple of strings")
        missing = [p for p in (t[0], t[-1]) if p not in node_types]
        if missing:
            raise ValueError(f"{what}: edge type {t!r} references node type(s) {missing} that are not in the node "
                             f"types {node_types}")
    return node_types, edge_types


def unused_node_types(node_types, edge_types) -> set:
    """Node types that are the destination of no edge type (their features never get updated)."""
    return set(node_types) - {t[-1] for t in edge_types}


def check_add_self_loops(module: nn.Module, edge_types) -> None:
    """A layer that adds self loops is wrong on a bipartite edge type: ValueError naming the submodule."""
    if not any(t[0] != t[-1] for t in edge_types):
        return
    for name, sub in module.named_modules():
        if getattr(sub, "add_self_loops", False) is True:
            raise ValueError(f"'add_self_loops' attribute set to 'True' on module '{name}' for use with edge type(s) "
                             f"'{list(edge_types)}'. This will lead to incorrect message passing results.")


def group(xs: list, aggr: Optional[str]):
    """Combine the per-edge-type results of one destination type: sum / mean / max / min / mul, 'cat' (features
    concatenated) or None (stacked along dim 1)."""
    if not xs:
        return None
    if aggr is None:
        return torch.stack(xs, dim=1)
    if len(xs) == 1:
        return xs[0]
    if aggr == "cat":
        return torch.cat(xs, dim=-1)
    out = getattr(torch, aggr)(torch.stack(xs, dim=0), dim=0)
    return out[0] if isinstance(out, tuple) else out


# ---------------------------------------------------------------------- HeteroConv

_GROUP_AGGRS = (None, "sum", "mean", "min", "max", "mul", "cat")


class HeteroConv(nn.Module):
    """One message-passing layer per edge type; the results for each destination type are combined by `aggr`.

    Args:
        convs: {(src, rel, dst): layer}.
        aggr: "sum", "mean", "min", "max", "mul", "cat" or None (stacked along dim 1).

    forward(*dicts, **kwarg_dicts): each positional argument is a dict keyed by node types ({type: x}) or edge types
    ({edge type: edge_index}); keyword arguments end in `_dict`. For each edge type the layer gets the value of the
    edge type, else that of its node type (src == dst), else the (src, dst) pair. Returns {dst type: features}.
    """

    def __init__(self, convs: Dict[Tuple[str, str, str], MessagePassing], aggr: Optional[str] = "sum"):
        super().__init__()
        if aggr not in _GROUP_AGGRS:
            raise ValueError(f"aggr must be one of {_GROUP_AGGRS}, got {aggr!r}")
        for edge_type, module in convs.items():
            if not isinstance(edge_type, tuple) or len(edge_type) != 3:
                raise ValueError(f"convs keys must be (src, relation, dst) edge types, got {edge_type!r}")
            check_add_self_loops(module, [edge_type])
        srcs, dsts = {t[0] for t in convs}, {t[-1] for t in convs}
        if srcs - dsts:
            warnings.warn(f"There exist node types ({srcs - dsts}) whose representations do not get updated during "
                          f"message passing as they do not occur as destination type in any edge type. This may lead "
                          f"to unexpected behavior.", stacklevel=2)
        self.convs = ModuleDict(convs)
        self.aggr = aggr

    def reset_parameters(self) -> None:
        for conv in self.convs.values():
            conv.reset_parameters()

    def forward(self, *args_dict, **kwargs_dict) -> Dict[str, torch.Tensor]:
        for name in kwargs_dict:
            if not name.endswith("_dict"):
                raise ValueError(f"Keyword arguments in '{type(self).__name__}' need to end with '_dict' (got "
                                 f"'{name}')")
        out: Dict[str, list] = {}
        for edge_type, conv in self.convs.items():
            src, _, dst = edge_type
            has_edge_arg = False
            args = []
            for values in args_dict:
                if edge_type in values:
                    has_edge_arg = True
                    args.append(values[edge_type])
                elif src == dst and src in values:
                    args.append(values[src])
                elif src in values or dst in values:
                    args.append((values.get(src), values.get(dst)))
            kwargs = {}
            for name, values in kwargs_dict.items():
                name = name[:-5]
                if edge_type in values:
                    has_edge_arg = True
                    kwargs[name] = values[edge_type]
                elif src == dst and src in values:
                    kwargs[name] = values[src]
                elif src in values or dst in values:
                    kwargs[name] = (values.get(src), values.get(dst))
            if not has_edge_arg:  # the edge type is absent from this graph (e.g. a sampled batch)
                continue
            out.setdefault(dst, []).append(conv(*args, **kwargs))
        return {key: group(value, self.aggr) for key, value in out.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_relations={len(self.convs)})"


# ---------------------------------------------------------------------- to_hetero (FX)


def key2str(key: Key) -> str:
    """The ModuleDict key of a node or edge type (PyG's: parts joined by '__', ' ', '-', ':' replaced by '_')."""
    key = "__".join(key) if isinstance(key, tuple) else key
    return key.replace(" ", "_").replace("-", "_").replace(":", "_")


def get_dict(mapping: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    return mapping if mapping is not None else {}


class _Tracer(torch.fx.Tracer):
    """Every module but Sequential is a leaf (so layers keep their identity); Aggregation modules, whose
    `__call__` validates its arguments before `nn.Module.__call__`, are recorded as module calls too."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return not isinstance(m, nn.Sequential)

    def trace(self, root, concrete_args=None):
        tracer = self
        original = Aggregation.__call__

        def call(mod, *args, **kwargs):
            return tracer.call_module(mod, lambda *a, **k: original(mod, *a, **k), args, kwargs)

        Aggregation.__call__ = call
        try:
            return super().trace(root, concrete_args)
        finally:
            Aggregation.__call__ = original


def symbolic_trace(module: nn.Module, concrete_args: Optional[Dict[str, Any]] = None) -> torch.fx.GraphModule:
    """torch.fx trace of a GNN: layers, MessagePassing and Aggregation modules stay single call_module nodes."""
    return torch.fx.GraphModule(module, _Tracer().trace(module, concrete_args))


# The basic models' layer trimming (sampled blocks) branches on its per-hop counts; to_hetero traces them as None
# (per-type hop counts are not supported there).
_UNTRACED_NONE = ("num_sampled_nodes_per_hop", "num_sampled_edges_per_hop")


def _concrete_args(module: nn.Module) -> Optional[Dict[str, Any]]:
    from .models import BasicGNN

    if not isinstance(module, BasicGNN):
        return None
    params = inspect.signature(module.forward).parameters
    return {name: None for name in _UNTRACED_NONE if name in params} or None


def _submodule(module: nn.Module, target: str) -> nn.Module:
    out = module
    for attr in target.split("."):
        out = getattr(out, attr)
    return out


def _finish_graph_module(module: nn.Module, root: nn.Module, graph, suffix: str, debug: bool) -> torch.fx.GraphModule:
    """The GraphModule of a transformed graph: root gets the module's own buffers and parameters, the class is
    named <module class><suffix>, and with debug the graph and code are printed."""
    for name, buf in module.named_buffers(recurse=False):
        root.register_buffer(name, buf)
    for name, p in module.named_parameters(recurse=False):
        root.register_parameter(name, p)
    graph.lint()
    out = torch.fx.GraphModule(root, graph, class_name=f"{type(module).__name__}{suffix}")
    _adopt_children(out, root)
    if debug:
        out.graph.print_tabular()
        print(out.code)
    return out


def _adopt_children(gm: torch.fx.GraphModule, root: nn.Module) -> None:
    """GraphModule rebuilds only the called module paths, as plain Modules, in call order: give it root's
    children (ModuleDicts of copies, unused ones too) in root's order, as PyG's transformers leave them."""
    gm._modules.clear()
    for target, sub in root.named_children():
        gm._modules[target] = sub


_AGGR_FNS = {"sum": torch.add, "mean": torch.add, "max": torch.max, "min": torch.min, "mul": torch.mul}


class _ToHetero:
    """Rewrites a traced homogeneous graph into one over type dicts.

    Every value of the traced graph is node-level, edge-level or graph-level: placeholders by `input_map` or by name
    ('edge' / 'adj' in it: edge-level), message-passing outputs node-level, Aggregation (global pooling) outputs
    graph-level, any other op edge-level if an argument is, else node-level if an argument is, else graph-level.
    A node-level op is repeated per node type and an edge-level op per edge type; a message-passing call per edge
    type (node-level arguments given as the (src, dst) pair, or the shared type's value), its results summed per
    destination type by `aggr`; a pooling call per node type, its results combined by `aggr`. Modules called at
    a level become a ModuleDict of copies keyed by `key2str(type)` (parameters reset when there is more than one)."""

    def __init__(self, module: nn.Module, metadata, aggr: str, input_map: Optional[Dict[str, str]], debug: bool):
        if aggr not in _AGGR_FNS:
            raise ValueError(f"aggr must be one of {list(_AGGR_FNS)}, got {aggr!r}")
        node_types, edge_types = check_metadata(metadata)
        if not node_types or not edge_types:
            raise ValueError(f"metadata needs at least one node type and one edge type, got {metadata!r}")
        for name, level in (input_map or {}).items():
            if level not in ("node", "edge", "graph"):
                raise ValueError(f"input_map[{name!r}] must be 'node', 'edge' or 'graph', got {level!r}")
        self.module, self.aggr, self.debug = module, aggr, debug
        self.types = {"node": node_types, "edge": edge_types}
        self.input_map = dict(input_map or {})
        unused = unused_node_types(node_types, edge_types)
        if unused:
            warnings.warn(f"There exist node types ({unused}) whose representations do not get updated during message "
                          f"passing as they do not occur as destination type in any edge type. This may lead to "
                          f"unexpected behavior.", stacklevel=3)
        for name in node_types + [t[1] for t in edge_types]:
            if not name.isidentifier():
                warnings.warn(f"The type '{name}' contains invalid characters which may lead to unexpected behavior. "
                              f"To avoid any issues, ensure that your types only contain letters, numbers and "
                              f"underscores.", stacklevel=3)

    # ------------------------------------------------------------ levels
    def _kind(self, node: torch.fx.Node) -> str:
        if node.op == "call_module":
            sub = _submodule(self.module, node.target)
            if isinstance(sub, MessagePassing):
                return "mp"
            if isinstance(sub, Aggregation):
                return "pool"
        return node.op

    def _levels(self, graph: torch.fx.Graph) -> dict:
        levels = {}

        def any_level(node, level) -> bool:
            found = []
            torch.fx.map_arg((node.args, node.kwargs), lambda n: found.append(levels[n.name] == level))
            return any(found)

        for node in graph.nodes:
            kind = self._kind(node)
            if node.op == "call_function" and "training" in node.kwargs:
                warnings.warn(f"Found function '{node.name}' with keyword argument 'training'. During FX tracing, this "
                              f"will likely be baked in as a constant value. Consider replacing this function by a "
                              f"module to properly encapsulate its training flag.", stacklevel=4)
            if node.op == "placeholder":
                default = "edge" if ("edge" in node.name or "adj" in node.name) else "node"
                levels[node.name] = self.input_map.get(node.name, default)
            elif kind == "mp":
                levels[node.name] = "node"
            elif kind == "pool":
                levels[node.name] = "graph"
            elif node.op in ("call_module", "call_method", "call_function", "get_attr"):
                levels[node.name] = ("edge" if any_level(node, "edge") else "node" if any_level(node, "node")
                                     else "graph")
        return levels

    # ------------------------------------------------------------ rewriting
    def transform(self) -> torch.fx.GraphModule:
        gm = symbolic_trace(self.module, _concrete_args(self.module))
        if self.debug:
            gm.graph.print_tabular()
            print(gm.code)
        levels = self._levels(gm.graph)
        graph = torch.fx.Graph()
        env: dict[str, Any] = {}  # old node name -> new node (graph level) or {type: new node}
        used: dict[str, str] = {}  # module target -> level its copies are keyed by

        def lookup(arg: torch.fx.Node, key, who: torch.fx.Node):
            value = env[arg.name]
            if not isinstance(value, dict):
                return value
            if key in value:
                return value[key]
            if isinstance(key, tuple) and key[0] == key[-1] and key[0] in value:
                return value[key[0]]
            if isinstance(key, tuple) and key[0] != key[-1] and (key[0] in value or key[-1] in value):
                return (value.get(key[0]), value.get(key[-1]))
            raise ValueError(f"Cannot generate a graph node '{who.name}' for type '{key}' since it does not exist. "
                             f"Please make sure that all node types get updated during message passing.")

        def mapped(node: torch.fx.Node, key):
            args = torch.fx.map_arg(node.args, lambda a: lookup(a, key, node))
            kwargs = torch.fx.map_arg(node.kwargs, lambda a: lookup(a, key, node))
            return args, kwargs

        def combine(values: list, count: int):
            out = values[0]
            for v in values[1:]:
                out = graph.call_function(_AGGR_FNS[self.aggr], (out, v))  # torch.max(a, b): elementwise
            if self.aggr == "mean" and count > 1:
                out = graph.call_function(torch.div, (out, count))
            return out

        for node in gm.graph.nodes:
            kind, level = self._kind(node), levels.get(node.name)
            if node.op == "placeholder":
                ph = graph.placeholder(node.name, default_value=node.args[0] if node.args else inspect.Signature.empty)
                d = graph.call_function(get_dict, (ph,))
                env[node.name] = {k: graph.call_method("get", (d, k, None)) for k in self.types[level]} \
                    if level in ("node", "edge") else ph
            elif kind == "mp":
                check_add_self_loops(_submodule(self.module, node.target), self.types["edge"])
                per_dst = defaultdict(list)
                for key in self.types["edge"]:
                    args, kwargs = mapped(node, key)
                    per_dst[key[-1]].append(graph.call_module(f"{node.target}.{key2str(key)}", args, kwargs))
                used[node.target] = "edge"
                env[node.name] = {dst: combine(vs, len(vs)) for dst, vs in per_dst.items()}
            elif kind == "pool":
                outs = []
                for key in self.types["node"]:
                    args, kwargs = mapped(node, key)
                    outs.append(graph.call_module(f"{node.target}.{key2str(key)}", args, kwargs))
                used[node.target] = "node"
                env[node.name] = combine(outs, len(outs))
            elif node.op in ("call_module", "call_method", "call_function", "get_attr"):
                if level == "graph":
                    new = graph.node_copy(node, lambda a: env[a.name])
                    env[node.name] = new
                    continue
                outs = {}
                for key in self.types[level]:
                    args, kwargs = mapped(node, key)
                    if node.op == "call_module":
                        outs[key] = graph.call_module(f"{node.target}.{key2str(key)}", args, kwargs)
                    elif node.op == "call_method":
                        outs[key] = graph.call_method(node.target, args, kwargs)
                    else:
                        outs[key] = graph.call_function(node.target, args, kwargs)
                if node.op == "call_module":
                    used[node.target] = level
                env[node.name] = outs
            elif node.op == "output":
                def recurse(value):
                    if isinstance(value, torch.fx.Node):
                        out = env[value.name]
                        if isinstance(out, dict):
                            return {k: out.get(k) for k in self.types[levels[value.name]]}
                        return out
                    if isinstance(value, dict):
                        return {k: recurse(v) for k, v in value.items()}
                    if isinstance(value, (list, tuple)):
                        return type(value)(recurse(v) for v in value)
                    return value

                graph.output(recurse(node.args[0]))
        root = nn.Module()
        for target, sub in self.module.named_children():
            root.add_module(target, self._copies(sub, target, used))
        return _finish_graph_module(self.module, root, graph, "Hetero", self.debug)

    def _copies(self, module: nn.Module, target: str, used: dict) -> nn.Module:
        if isinstance(module, (nn.ModuleList, nn.Sequential)):
            return nn.ModuleList([self._copies(m, f"{target}.{i}", used) for i, m in enumerate(module)])
        if isinstance(module, nn.ModuleDict) and not isinstance(module, ModuleDict):
            return nn.ModuleDict({k: self._copies(m, f"{target}.{k}", used) for k, m in module.items()})
        level = used.get(target)
        if level is None:
            return module
        keys = self.types[level]
        out = nn.ModuleDict()
        for key in keys:
            dup = copy.deepcopy(module)
            if len(keys) > 1:
                if hasattr(dup, "reset_parameters"):
                    dup.reset_parameters()
                elif any(isinstance(p, nn.parameter.UninitializedParameter) or p.numel() for p in module.parameters()):
                    warnings.warn(f"'{target}' will be duplicated, but its parameters cannot be reset. To suppress "
                                  f"this warning, add a 'reset_parameters()' method to '{target}'", stacklevel=4)
            out[key2str(key)] = dup
        return out


# ---------------------------------------------------------------------- to_hetero_with_bases (FX)


def _message_weight_hook(module, inputs, output):
    """Scale each message by its edge type's weight in this basis (edge_type_weight[0, type])."""
    edge_type = module._edge_type
    if edge_type.size(0) != output.size(-2):
        raise ValueError(f"Number of messages ({output.size(-2)}) does not match with the number of original edges "
                         f"({edge_type.size(0)}). Does your message passing layer create additional self-loops? Try "
                         f"to remove them via 'add_self_loops=False'")
    weight = module.edge_type_weight.view(-1)[edge_type]
    return weight.view([1] * (output.dim() - 2) + [-1, 1]) * output


class HeteroBasisConv(nn.Module):
    """`num_bases` copies of a message-passing layer over the concatenated typed graph; copy b scales each
    message by `edge_type_weight[0, type]` (a message hook, so the messages are materialized), and the copies'
    outputs are summed: a basis decomposition over the edge types (PyG's HeteroBasisConv, same parameters)."""

    def __init__(self, module: MessagePassing, num_relations: int, num_bases: int):
        super().__init__()
        self.num_relations, self.num_bases = num_relations, num_bases
        params = list(module.parameters())
        device = params[0].device if params else "cpu"
        self.convs = nn.ModuleList()
        for _ in range(num_bases):
            conv = copy.deepcopy(module)
            conv.fuse = False
            conv.edge_type_weight = nn.Parameter(torch.empty(1, num_relations, device=device))
            conv.register_message_forward_hook(_message_weight_hook)
            self.convs.append(conv)
        if num_bases > 1:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        for conv in self.convs:
            if hasattr(conv, "reset_parameters"):
                conv.reset_parameters()
            elif sum(p.numel() for p in conv.parameters()) > 0:
                warnings.warn(f"'{conv}' will be duplicated, but its parameters cannot be reset. To suppress this "
                              f"warning, add a 'reset_parameters()' method to '{conv}'", stacklevel=2)
            nn.init.xavier_uniform_(conv.edge_type_weight)

    def forward(self, edge_type: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        out = None
        for conv in self.convs:
            conv._edge_type = edge_type
            try:
                res = conv(*args, **kwargs)
            finally:
                del conv._edge_type
            out = res if out is None else out + res
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_relations={self.num_relations}, num_bases={self.num_bases})"


class LinearAlign(nn.Module):
    """One bias-free lazy Linear per type, bringing every type's input to `out_channels` before concatenation."""

    def __init__(self, keys, out_channels: int):
        super().__init__()
        from .linear import Linear

        self.out_channels = out_channels
        self.lins = nn.ModuleDict({key2str(key): Linear(-1, out_channels, bias=False) for key in keys})

    def forward(self, x_dict: Dict[Key, torch.Tensor]) -> Dict[Key, torch.Tensor]:
        return {key: self.lins[key2str(key)](x) for key, x in x_dict.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_relations={len(self.lins)}, out_channels={self.out_channels})"


def _missing(input_dict: Mapping, keys, what: str) -> None:
    absent = [k for k in keys if k not in input_dict]
    if absent:
        raise ValueError(f"to_hetero_with_bases: the {what} input lacks the types {absent} of the metadata (every "
                         f"type is concatenated into one tensor)")


def get_node_offset_dict(input_dict: Dict[str, torch.Tensor], type2id: Dict[str, int]) -> Dict[str, int]:
    """Start row of each node type in the concatenation."""
    _missing(input_dict, type2id, "node-level")
    out, acc = {}, 0
    for key in type2id:
        out[key] = acc
        acc += input_dict[key].size(-2)
    return out


def _num_edges_of(value) -> int:
    if hasattr(value, "nnz") and callable(value.nnz):  # SparseTensor-like
        return value.nnz()
    if value.dtype == torch.long and value.dim() == 2 and value.size(0) == 2:
        return value.size(-1)
    return value.size(-2)


def get_edge_offset_dict(input_dict: Dict[tuple, Any], type2id: Dict[tuple, int]) -> Dict[tuple, int]:
    """Start row of each edge type in the concatenation."""
    _missing(input_dict, type2id, "edge-level")
    out, acc = {}, 0
    for key in type2id:
        out[key] = acc
        acc += _num_edges_of(input_dict[key])
    return out


def get_edge_type(input_dict: Dict[tuple, Any], type2id: Dict[tuple, int]) -> torch.Tensor:
    """(E,) edge type id of every edge of the concatenation."""
    _missing(input_dict, type2id, "edge-level")
    parts = []
    for i, key in enumerate(type2id):
        value = input_dict[key]
        device = value.device() if callable(getattr(value, "device", None)) else value.device
        parts.append(torch.full((_num_edges_of(value),), i, dtype=torch.long, device=device))
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def group_node_placeholder(input_dict: Dict[str, torch.Tensor], type2id: Dict[str, int]) -> torch.Tensor:
    _missing(input_dict, type2id, "node-level")
    inputs = [input_dict[key] for key in type2id]
    return inputs[0] if len(inputs) == 1 else torch.cat(inputs, dim=-2)


def group_edge_placeholder(input_dict: Dict[tuple, Any], type2id: Dict[tuple, int],
                           offset_dict: Optional[Dict[str, int]] = None):
    """The edge types' values concatenated: edge indices shifted by their node types' offsets, edge features
    stacked."""
    _missing(input_dict, type2id, "edge-level")
    inputs = [input_dict[key] for key in type2id]
    if len(inputs) == 1:
        return inputs[0]
    first = inputs[0]
    index_like = hasattr(first, "coo") or (first.dtype == torch.long and first.dim() == 2 and first.size(0) == 2)
    if index_like:
        if offset_dict is None:
            raise AttributeError("Can not infer node-level offsets. Please ensure that there exists a node-level "
                                 "argument before the 'edge_index' argument in your forward header.")
        parts = []
        for value, (src, _, dst) in zip(inputs, type2id):
            if hasattr(value, "coo"):  # SparseTensor-like adj_t: (dst, src)
                col, row, _ = value.coo()
                value = torch.stack([row, col])
            parts.append(value + torch.tensor([[offset_dict[src]], [offset_dict[dst]]], device=value.device))
        return torch.cat(parts, dim=-1)
    return torch.cat(inputs, dim=-2)


def split_output(output: torch.Tensor, offset_dict: Dict[Any, int]) -> Dict[Any, torch.Tensor]:
    """The concatenated output cut back into one tensor per type."""
    bounds = list(offset_dict.values()) + [output.size(-2)]
    sizes = [bounds[i + 1] - bounds[i] for i in range(len(offset_dict))]
    return dict(zip(offset_dict, output.split(sizes, dim=-2)))


class _ToHeteroWithBases(_ToHetero):
    """Rewrites a traced homogeneous graph to run once on the concatenation of all types: typed inputs are
    concatenated (after `LinearAlign` for the names in `in_channels`), edge indices shifted by the node offsets,
    message-passing layers become `HeteroBasisConv`s fed the edge-type vector, other layers are shared by all
    types, and the outputs are split back into dicts."""

    def __init__(self, module, metadata, num_bases: int, in_channels, input_map, debug):
        if isinstance(num_bases, bool) or not isinstance(num_bases, int) or num_bases < 1:
            raise ValueError(f"num_bases must be a positive int, got {num_bases!r}")
        super().__init__(module, metadata, "sum", input_map, debug)
        self.num_bases, self.in_channels = num_bases, dict(in_channels or {})

    def transform(self) -> torch.fx.GraphModule:
        gm = symbolic_trace(self.module, _concrete_args(self.module))
        if self.debug:
            gm.graph.print_tabular()
            print(gm.code)
        levels = self._levels(gm.graph)
        node_ids = {k: i for i, k in enumerate(self.types["node"])}
        edge_ids = {k: i for i, k in enumerate(self.types["edge"])}
        graph, env, aligns = torch.fx.Graph(), {}, {}
        node_offset = edge_offset = edge_type = None
        for node in gm.graph.nodes:
            kind, level = self._kind(node), levels.get(node.name)
            if node.op == "placeholder":
                ph = graph.placeholder(node.name, default_value=node.args[0] if node.args else inspect.Signature.empty)
                if level == "edge":
                    if edge_offset is None:
                        edge_offset = graph.call_function(get_edge_offset_dict, (ph, edge_ids))
                    if edge_type is None:
                        edge_type = graph.call_function(get_edge_type, (ph, edge_ids))
                elif level == "node" and node_offset is None:
                    node_offset = graph.call_function(get_node_offset_dict, (ph, node_ids))
                value = ph
                if node.name in self.in_channels and level in ("node", "edge"):
                    aligns[f"align_lin__{node.name}"] = LinearAlign(self.types[level], self.in_channels[node.name])
                    value = graph.call_module(f"align_lin__{node.name}", (ph,))
                if level == "edge":
                    value = graph.call_function(group_edge_placeholder, (value, edge_ids, node_offset))
                elif level == "node":
                    value = graph.call_function(group_node_placeholder, (value, node_ids))
                env[node.name] = value
            elif kind == "mp":
                if edge_type is None:
                    raise ValueError(f"to_hetero_with_bases: message-passing layer '{node.target}' runs before any "
                                     f"edge-level input: the forward needs an edge argument")
                args = torch.fx.map_arg(node.args, lambda a: env[a.name])
                kwargs = torch.fx.map_arg(node.kwargs, lambda a: env[a.name])
                env[node.name] = graph.call_module(node.target, (edge_type, *args), kwargs)
            elif node.op == "output":
                def recurse(value):
                    if isinstance(value, torch.fx.Node):
                        offsets = edge_offset if levels[value.name] == "edge" else node_offset
                        return graph.call_function(split_output, (env[value.name], offsets))
                    if isinstance(value, dict):
                        return {k: recurse(v) for k, v in value.items()}
                    if isinstance(value, (list, tuple)):
                        return type(value)(recurse(v) for v in value)
                    return value

                graph.output(recurse(node.args[0]))
            else:
                env[node.name] = graph.node_copy(node, lambda a: env[a.name])
        root = nn.Module()
        for target, sub in self.module.named_children():
            root.add_module(target, self._bases(sub))
        for target, sub in aligns.items():
            root.add_module(target, sub)
        return _finish_graph_module(self.module, root, graph, "HeteroWithBases", self.debug)

    def _bases(self, module: nn.Module) -> nn.Module:
        if isinstance(module, (nn.ModuleList, nn.Sequential)):
            return nn.ModuleList([self._bases(m) for m in module])
        if isinstance(module, nn.ModuleDict):
            return nn.ModuleDict({k: self._bases(m) for k, m in module.items()})
        if isinstance(module, MessagePassing):
            return HeteroBasisConv(module, len(self.types["edge"]), self.num_bases)
        return module


def to_hetero_with_bases(module: nn.Module, metadata, num_bases: int, in_channels: Optional[Dict[str, int]] = None,
                         input_map: Optional[Dict[str, str]] = None, debug: bool = False) -> torch.fx.GraphModule:
    """Convert a homogeneous GNN into a heterogeneous one by basis decomposition (PyG's `to_hetero_with_bases`,
    Schlichtkrull et al. 2018): the typed inputs are concatenated into one graph (`in_channels` {argument: width}
    first projects each type of that argument to a common width), every message-passing layer becomes
    `num_bases` copies whose messages are weighted per edge type (`HeteroBasisConv`), and the outputs are split
    back into {type: tensor} dicts. Parameters as PyG's (`conv.convs.0.edge_type_weight`, `align_lin__x.lins.*`).
    The per-type message weights need the messages, so these layers materialize them (E x F)."""
    return _ToHeteroWithBases(module, metadata, num_bases, in_channels, input_map, debug).transform()


def to_hetero(module: nn.Module, metadata, aggr: str = "sum", input_map: Optional[Dict[str, str]] = None,
              debug: bool = False) -> torch.fx.GraphModule:
    """Convert a homogeneous GNN into a heterogeneous one (PyG's `to_hetero`): every layer is copied per node type
    (node-level layers) or per edge type (message-passing layers), the results of the edge types entering a node
    type are combined by `aggr` ("sum", "mean", "max", "min", "mul"). The returned GraphModule takes dicts
    ({node type: x}, {edge type: edge_index}) where the original took tensors, and returns dicts; its parameter
    names are PyG's (`conv1.author__writes__paper.lin_l.weight`), so a PyG state_dict loads.

    Args:
        module: the homogeneous model (traceable by torch.fx).
        metadata: (node_types, edge_types), e.g. `HeteroGraph.metadata()`.
        input_map: {forward argument: 'node' | 'edge' | 'graph'} for arguments whose level cannot be read from
            their name ('edge' / 'adj' in the name: edge-level; else node-level).
        debug: print the traced and the transformed graphs.
    """
    return _ToHetero(module, metadata, aggr, input_map, debug).transform()


__all__ = ["HeteroBasisConv", "HeteroConv", "LinearAlign", "ModuleDict", "ParameterDict", "check_add_self_loops",
           "key2str", "to_hetero", "to_hetero_with_bases"]
