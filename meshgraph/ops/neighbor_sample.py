"""neighbor_sample: multi-hop neighbour sampling on a CSR graph (PyG's NeighborSampler / pyg-lib semantics).

Kernels: csrc/ops/neighbor_sample/; specification: meshgraph.ops.reference.sampling.neighbor_sample."""

from __future__ import annotations

from typing import NamedTuple

import torch

from .. import _extension
from .._utils import (
    FLOAT_DTYPES,
    INDEX_DTYPES,
    can_inspect_values,
    check_index_range,
    check_ptr,
    check_same_device,
    check_tensor,
)

_extension.load()


class NeighborSample(NamedTuple):
    """The sampled subgraph, in the terms of PyG's SamplerOutput.

    node: (M,) global ids, the seeds first; row / col: (S,) local ids (positions in node) of each sampled edge's
    node and of its sampled neighbour; edge: (S,) CSR positions of the edges; batch: (M,) seed slot of every node
    (disjoint only, else None); num_sampled_nodes: [B, new nodes at hop 1, ...]; num_sampled_edges: edges per hop
    (directed) or induced edges by the hop of their row node (directed=False, L + 1 entries).
    """

    node: torch.Tensor
    row: torch.Tensor
    col: torch.Tensor
    edge: torch.Tensor
    batch: torch.Tensor | None
    num_sampled_nodes: list[int]
    num_sampled_edges: list[int]


def draw_rng_seed(generator: torch.Generator | None) -> int:
    """One 62-bit seed for the counter-based draws of the sampling kernels, taken from `generator` (the default CPU
    generator when None): the same generator state gives the same samples on every device and thread count."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    device = generator.device if generator is not None else torch.device("cpu")
    return int(torch.randint(0, 2**62, (1,), generator=generator, device=device).item())


def check_csr(rowptr, col, name_rowptr: str = "rowptr", name_col: str = "col") -> tuple[torch.Tensor, torch.Tensor]:
    """A CSR graph: rowptr (N + 1,) and col (E,) integer tensors on one device -> both int64."""
    check_tensor(rowptr, name_rowptr, dim=1, dtypes=INDEX_DTYPES)
    check_tensor(col, name_col, dim=1, dtypes=INDEX_DTYPES)
    check_same_device(**{name_rowptr: rowptr, name_col: col})
    if rowptr.numel() == 0:
        raise ValueError(f"{name_rowptr} must hold N + 1 >= 1 offsets, got an empty tensor")
    check_ptr(rowptr, col.numel(), name_col, name_rowptr)
    N = rowptr.numel() - 1
    check_index_range(col, name_col, N)  # one pass over E (the kernels clamp, this names the bad entry)
    return rowptr.long(), col.long()


def _check_fanouts(num_neighbors) -> list[int]:
    if isinstance(num_neighbors, (int, bool)) or not isinstance(num_neighbors, (list, tuple)):
        raise TypeError(f"num_neighbors must be a list of ints (one fan-out per hop), got {type(num_neighbors).__name__}")
    out = []
    for h, k in enumerate(num_neighbors):
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"num_neighbors[{h}] must be an int, got {type(k).__name__}")
        if k < -1:
            raise ValueError(f"num_neighbors[{h}] must be >= 0 (or -1 for all neighbours), got {k}")
        out.append(int(k))
    return out


def neighbor_sample(
    rowptr: torch.Tensor,
    col: torch.Tensor,
    seeds: torch.Tensor,
    num_neighbors: list[int],
    replace: bool = False,
    directed: bool = True,
    disjoint: bool = False,
    weight: torch.Tensor | None = None,
    time: torch.Tensor | None = None,
    seed_time: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    *,
    reference: bool = False,
) -> NeighborSample:
    """Samples a multi-hop neighbourhood of `seeds` (PyG's NeighborSampler on a CSR graph).

    Args:
        rowptr, col: the graph in CSR: the neighbours of node v are col[rowptr[v]:rowptr[v + 1]] (for PyG's
            message-passing direction pass the CSC of edge_index, i.e. sources grouped by target, and read row / col
            swapped, as PyG's sampler does).
        seeds: (B,) nodes to start from (they come first in the output, in this order).
        num_neighbors: fan-out per hop; -1 takes every neighbour.
        replace: sample with replacement.
        directed: False returns the induced subgraph on the sampled nodes (PyG's subgraph_type='induced').
        disjoint: every seed gets its own subtree (nodes repeat across seeds; `batch` says whose they are).
        weight: (E,) non-negative edge weights: neighbours are drawn in proportion to them.
        time: (N,) node times (temporal sampling, needs disjoint=True): only neighbours with time <= the seed's
            time are sampled. seed_time: (B,) the seeds' times (default: time[seeds]).
        generator: the torch.Generator one seed is drawn from; every draw after it is a counter-based hash, so the
            result depends only on the generator's state, never on threads or device.
        reference: run the pure-Python definition (meshgraph.ops.reference.sampling) instead of the kernel.

    Returns:
        NeighborSample(node, row, col, edge, batch, num_sampled_nodes, num_sampled_edges).
    """
    rowptr, col = check_csr(rowptr, col)
    N = rowptr.numel() - 1
    check_tensor(seeds, "seeds", dim=1, dtypes=INDEX_DTYPES)
    check_same_device(rowptr=rowptr, seeds=seeds)
    check_index_range(seeds, "seeds", N)
    seeds = seeds.long()
    fanouts = _check_fanouts(num_neighbors)
    for name, flag in (("replace", replace), ("directed", directed), ("disjoint", disjoint)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
    if weight is not None:
        check_tensor(weight, "weight", shape=(col.numel(),), dtypes=FLOAT_DTYPES)
        check_same_device(rowptr=rowptr, weight=weight)
        if weight.numel() and can_inspect_values(weight):
            if not bool(torch.isfinite(weight).all()):
                raise ValueError("weight holds NaN or infinite values")
            if bool((weight < 0).any()):
                raise ValueError("weight must be non-negative")
    if time is None:
        if seed_time is not None:
            raise ValueError("seed_time needs time (the node times)")
    else:
        if not disjoint:
            raise ValueError("temporal sampling (time) needs disjoint=True: each seed has its own time")
        check_tensor(time, "time", shape=(N,))
        check_same_device(rowptr=rowptr, time=time)
        if seed_time is None:
            seed_time = time[seeds]
        check_tensor(seed_time, "seed_time", shape=(seeds.numel(),))
        check_same_device(rowptr=rowptr, seed_time=seed_time)
        for name, t in (("time", time), ("seed_time", seed_time)):
            if t.dtype == torch.bool or t.is_complex():
                raise TypeError(f"{name} must be an integer or floating tensor, got {t.dtype}")
        as_float = time.is_floating_point() or seed_time.is_floating_point()
        dtype = torch.float64 if as_float else torch.int64
        time, seed_time = time.to(dtype), seed_time.to(dtype)
        if as_float and can_inspect_values(time) and bool(torch.isnan(time).any() | torch.isnan(seed_time).any()):
            raise ValueError("time and seed_time must not hold NaN")
    rng_seed = draw_rng_seed(generator)
    args = (rowptr, col, seeds, fanouts, replace, directed, disjoint, weight, time, seed_time, rng_seed)
    if reference:
        from .reference.sampling import neighbor_sample as fn
    else:
        fn = torch.ops.meshgraph.neighbor_sample
    node, row, col_out, edge, batch, n_nodes, n_edges = fn(*args)
    return NeighborSample(node, row, col_out, edge, batch if disjoint else None, n_nodes.tolist(), n_edges.tolist())


@torch.library.register_fake("meshgraph::neighbor_sample")
def _fake(rowptr, col, seeds, num_neighbors, replace, directed, disjoint, weight, time, seed_time, rng_seed):
    ctx = torch.library.get_ctx()
    M, S = ctx.new_dynamic_size(), ctx.new_dynamic_size()
    L = len(num_neighbors)
    new = seeds.new_empty
    return (new((M,)), new((S,)), new((S,)), new((S,)), new((M,) if disjoint else (0,)), new((L + 1,)),
            new((L if directed else L + 1,)))

