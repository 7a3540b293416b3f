"""`trim_to_layer` / `TrimToLayer`: drop the nodes and edges a GNN layer no longer needs (PyG 2.8's semantics).

A NeighborLoader batch orders nodes by hop (seeds, then hop 1's new nodes, ...) and edges by hop
(`num_sampled_nodes` / `num_sampled_edges`). Layer l of an L-layer model only has to produce outputs for the nodes
within L - l hops of the seeds, so before layer l >= 1 the last l hops' nodes and edges are cut off: `x` loses
its last `num_sampled_nodes[-l]` rows and `edge_index` / `edge_attr` their last `num_sampled_edges[-l]` edges
(narrow views, no copy). A 3-layer SAGE over a [15, 10, 5] sample then never computes the outer hops' features.
Heterogeneous (dict) inputs are trimmed per node / edge type.
"""

from __future__ import annotations

import torch


def _check_counts(counts, name: str, layer: int) -> None:
    if not isinstance(counts, (list, tuple)):
        raise TypeError(f"{name} must be a list of ints (one per hop), got {type(counts).__name__}")
    if layer > len(counts):
        raise ValueError(f"layer {layer} needs at least {layer} hops in {name}, got {len(counts)}")


def _check_hetero(layer: int, nodes: dict, edges: dict, x: dict, edge_index: dict, edge_attr: dict | None) -> None:
    """Every type of x / edge_index / edge_attr has its counts (node types of the edge types too), with enough hops
    and no more trimmed rows than it holds: a ValueError naming the dict and the type otherwise."""
    def check(counts: dict, name: str, key, rows: int | None, what: str) -> None:
        if key not in counts:
            raise ValueError(f"{name} has no entry for {what} {key!r} (its keys: {list(counts)})")
        _check_counts(counts[key], f"{name}[{key!r}]", layer)
        if rows is not None and counts[key][-layer] > rows:
            raise ValueError(f"{name}[{key!r}][-{layer}] = {counts[key][-layer]} exceeds the {rows} rows of "
                             f"{what} {key!r}")

    for k, v in x.items():
        check(nodes, "num_sampled_nodes_per_hop", k, v.size(0), "node type")
    for k, v in edge_index.items():
        for nt in (k[0], k[-1]):
            check(nodes, "num_sampled_nodes_per_hop", nt, None, "node type")
        n = v.size(-1) if isinstance(v, torch.Tensor) and v.layout == torch.strided else None
        check(edges, "num_sampled_edges_per_hop", k, n, "edge type")
    for k, v in (edge_attr or {}).items():
        check(edges, "num_sampled_edges_per_hop", k, v.size(0), "edge type")


def trim_feat(x: torch.Tensor, layer: int, num_samples_per_hop: list[int]) -> torch.Tensor:
    """x without the rows of the last `layer` hops' count (num_samples_per_hop[-layer])."""
    if layer <= 0:
        return x
    return x.narrow(0, 0, x.size(0) - num_samples_per_hop[-layer])


def trim_adj(edge_index, layer: int, num_sampled_src_nodes_per_hop: list[int],
             num_sampled_dst_nodes_per_hop: list[int], num_sampled_edges_per_hop: list[int]):
    """edge_index without the last `num_sampled_edges_per_hop[-layer]` edges."""
    if layer <= 0:
        return edge_index
    if isinstance(edge_index, torch.Tensor) and edge_index.layout == torch.strided:
        return edge_index.narrow(1, 0, edge_index.size(1) - num_sampled_edges_per_hop[-layer])
    raise ValueError(f"Unsupported 'edge_index' type '{type(edge_index)}'")


def trim_to_layer(layer: int, num_sampled_nodes_per_hop, num_sampled_edges_per_hop, x, edge_index, edge_attr=None):
    """(x, edge_index, edge_attr) trimmed for `layer` (see the module docstring); layer <= 0 returns them as given."""
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise TypeError(f"layer must be an int, got {type(layer).__name__}")
    if layer <= 0:
        return x, edge_index, edge_attr
    if isinstance(num_sampled_edges_per_hop, dict):
        if not (isinstance(num_sampled_nodes_per_hop, dict) and isinstance(x, dict) and isinstance(edge_index, dict)):
            raise TypeError("heterogeneous trimming needs dicts for num_sampled_nodes_per_hop, x and edge_index")
        if edge_attr is not None and not isinstance(edge_attr, dict):
            raise TypeError(f"heterogeneous trimming needs a dict (or None) for edge_attr, got "
                            f"{type(edge_attr).__name__}")
        _check_hetero(layer, num_sampled_nodes_per_hop, num_sampled_edges_per_hop, x, edge_index, edge_attr)
        x = {k: trim_feat(v, layer, num_sampled_nodes_per_hop[k]) for k, v in x.items()}
        edge_index = {k: trim_adj(v, layer, num_sampled_nodes_per_hop[k[0]], num_sampled_nodes_per_hop[k[-1]],
                                  num_sampled_edges_per_hop[k]) for k, v in edge_index.items()}
        if edge_attr is not None:
            edge_attr = {k: trim_feat(v, layer, num_sampled_edges_per_hop[k]) for k, v in edge_attr.items()}
        return x, edge_index, edge_attr
    _check_counts(num_sampled_nodes_per_hop, "num_sampled_nodes_per_hop", layer)
    _check_counts(num_sampled_edges_per_hop, "num_sampled_edges_per_hop", layer)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a tensor, got {type(x).__name__}")
    if num_sampled_nodes_per_hop[-layer] > x.size(0):
        raise ValueError(f"num_sampled_nodes_per_hop[-{layer}] = {num_sampled_nodes_per_hop[-layer]} exceeds the "
                         f"{x.size(0)} rows of x")
    if isinstance(edge_index, torch.Tensor) and num_sampled_edges_per_hop[-layer] > edge_index.size(-1):
        raise ValueError(f"num_sampled_edges_per_hop[-{layer}] = {num_sampled_edges_per_hop[-layer]} exceeds the "
                         f"{edge_index.size(-1)} edges of edge_index")
    x = trim_feat(x, layer, num_sampled_nodes_per_hop)
    edge_index = trim_adj(edge_index, layer, num_sampled_nodes_per_hop, num_sampled_nodes_per_hop,
                          num_sampled_edges_per_hop)
    if edge_attr is not None:
        edge_attr = trim_feat(edge_attr, layer, num_sampled_edges_per_hop)
    return x, edge_index, edge_attr


class TrimToLayer(torch.nn.Module):
    """Module form of `trim_to_layer`; passes inputs through when both counts are None."""

    def forward(self, layer: int, num_sampled_nodes_per_hop, num_sampled_edges_per_hop, x, edge_index,
                edge_attr=None):
        if not isinstance(num_sampled_nodes_per_hop, list) and isinstance(num_sampled_edges_per_hop, list):
            raise ValueError("'num_sampled_nodes_per_hop' needs to be given")
        if not isinstance(num_sampled_edges_per_hop, list) and isinstance(num_sampled_nodes_per_hop, list):
            raise ValueError("'num_sampled_edges_per_hop' needs to be given")
        if num_sampled_nodes_per_hop is None or num_sampled_edges_per_hop is None:
            return x, edge_index, edge_attr
        return trim_to_layer(layer, num_sampled_nodes_per_hop, num_sampled_edges_per_hop, x, edge_index, edge_attr)


__all__ = ["TrimToLayer", "trim_adj", "trim_feat", "trim_to_layer"]
