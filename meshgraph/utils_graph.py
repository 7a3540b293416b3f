"""Graph utilities beyond the edge-list basics of `meshgraph.ops.edge_utils`, with PyG 2.8's signatures, defaults,
return forms and edge order (`torch_geometric.utils`):

- subgraphs: `bipartite_subgraph`, `k_hop_subgraph`, `get_num_hops`;
- dropout: `dropout_edge`, `dropout_node`, `dropout_adj` (PyG's deprecated form);
- negative sampling: `negative_sampling`, `batched_negative_sampling`, `structured_negative_sampling`,
  `structured_negative_sampling_feasible`;
- metrics and masks: `homophily`, `one_hot`, `index_to_mask`, `mask_to_index`, `mask_select`, `select`, `narrow`;
- generators: `grid` (+ `grid_index`, `grid_pos`), `erdos_renyi_graph`, `stochastic_blockmodel_graph`,
  `barabasi_albert_graph`.

Randomness contract: with `generator=None` (the default) every random function draws from the same global RNGs
with the same calls as PyG (torch's for the masks and `randint`, Python's `random.sample` for the negative pair
ids, NumPy's for Barabasi-Albert), so a seeded run gives PyG's result. A `torch.Generator` passed as `generator=`
(keyword only; not part of PyG's signature, so the compat mirror does not take it) is used instead for every
draw, on the generator's device, and leaves the global RNGs untouched. `dropout_path` (PyG: a pyg-lib random
walk) is not provided: meshgraph has no random-walk op yet.
"""

from __future__ import annotations

import random
import warnings
from typing import Any, Sequence

import numpy as np
import torch

from .ops.edge_utils import coalesce, degree, maybe_num_nodes, remove_self_loops, subgraph, to_undirected
from .ops.scatter import scatter


def _check_p(p: float, what: str = "Dropout") -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"{what} probability has to be between 0 and 1 (got {p}")


def _rand(n: int, device, generator: torch.Generator | None) -> torch.Tensor:
    """(n,) uniform [0, 1): torch.rand on `device` (the global RNG), or drawn by `generator` on its device."""
    if generator is None:
        return torch.rand(n, device=device)
    return torch.rand(n, device=generator.device, generator=generator).to(device)


def _relabel(index: torch.Tensor, subset: torch.Tensor, size: int) -> torch.Tensor:
    """index values -> their position in `subset` (PyG's map_index, every value present)."""
    mapping = torch.full((size,), -1, dtype=torch.long, device=index.device)
    mapping[subset] = torch.arange(subset.numel(), device=index.device)
    return mapping[index]


# ---------------------------------------------------------------------- subgraphs


def get_num_hops(model: torch.nn.Module) -> int:
    """The number of message-passing layers in `model` (PyG's approximation of the hops it aggregates)."""
    from .nn.message_passing import MessagePassing

    return sum(isinstance(m, MessagePassing) for m in model.modules())


def _side_mask(subset, size_from_edges, size, device):
    if not isinstance(subset, torch.Tensor):
        subset = torch.tensor(subset, dtype=torch.long, device=device)
    if subset.dtype == torch.bool:
        return subset, subset.nonzero().view(-1), subset.numel()
    n = size_from_edges() if size is None else size
    return index_to_mask(subset, size=n), subset, n


def bipartite_subgraph(subset, edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None,
                       relabel_nodes: bool = False, size: tuple[int, int] | None = None,
                       return_edge_mask: bool = False):
    """The edges of a bipartite graph whose source is in subset[0] and destination in subset[1] (index tensors,
    lists or bool masks), in order: (edge_index, edge_attr[, edge_mask]). relabel_nodes=True numbers each side by
    its position in its subset."""
    device = edge_index.device
    src_mask, src_subset, src_size = _side_mask(subset[0], lambda: int(edge_index[0].max()) + 1,
                                                None if size is None else size[0], device)
    dst_mask, dst_subset, dst_size = _side_mask(subset[1], lambda: int(edge_index[1].max()) + 1,
                                                None if size is None else size[1], device)
    edge_mask = src_mask[edge_index[0]] & dst_mask[edge_index[1]]
    edge_index = edge_index[:, edge_mask]
    edge_attr = edge_attr[edge_mask] if edge_attr is not None else None
    if relabel_nodes:
        edge_index = torch.stack([_relabel(edge_index[0], src_subset, src_size),
                                  _relabel(edge_index[1], dst_subset, dst_size)], dim=0)
    return (edge_index, edge_attr, edge_mask) if return_edge_mask else (edge_index, edge_attr)


def k_hop_subgraph(node_idx, num_hops: int, edge_index: torch.Tensor, relabel_nodes: bool = False,
                   num_nodes: int | None = None, flow: str = "source_to_target", directed: bool = False):
    """The subgraph of the nodes within num_hops of node_idx: (subset (sorted), edge_index, mapping (the seeds'
    positions in subset), edge_mask). flow="source_to_target" follows edges backwards from the seeds (the nodes
    whose messages reach them); directed=True keeps only the edges walked, not all edges among the subset."""
    if flow not in ("source_to_target", "target_to_source"):
        raise ValueError(f"flow must be 'source_to_target' or 'target_to_source', got {flow!r}")
    num_nodes = maybe_num_nodes(edge_index, num_nodes)
    row, col = (edge_index[0], edge_index[1]) if flow == "target_to_source" else (edge_index[1], edge_index[0])
    if isinstance(node_idx, int):
        node_idx = torch.tensor([node_idx], device=row.device)
    elif isinstance(node_idx, (list, tuple)):
        node_idx = torch.tensor(node_idx, device=row.device)
    else:
        node_idx = node_idx.to(row.device)
    node_mask = torch.zeros(num_nodes, dtype=torch.bool, device=row.device)
    walked = torch.zeros(row.numel(), dtype=torch.bool, device=row.device)
    subsets = [node_idx]
    for _ in range(num_hops):
        node_mask.fill_(False)
        node_mask[subsets[-1]] = True
        edge_mask = node_mask[row]
        walked |= edge_mask
        subsets.append(col[edge_mask])
    subset, inv = torch.cat(subsets).unique(return_inverse=True)
    inv = inv[:node_idx.numel()]
    node_mask.fill_(False)
    node_mask[subset] = True
    edge_mask = walked if directed else node_mask[row] & node_mask[col]
    edge_index = edge_index[:, edge_mask]
    if relabel_nodes:
        edge_index = _relabel(edge_index, subset, num_nodes)
    return subset, edge_index, inv, edge_mask


# ---------------------------------------------------------------------- dropout


def dropout_edge(edge_index: torch.Tensor, p: float = 0.5, force_undirected: bool = False, training: bool = True,
                 *, generator: torch.Generator | None = None):
    """Drop each edge with probability p: (kept edge_index, edge_mask). force_undirected: decide per pair on the
    edges i < j and return both directions (edge_mask then holds the kept edges' positions, twice)."""
    _check_p(p)
    if not training or p == 0.0:
        return edge_index, torch.ones(edge_index.size(1), dtype=torch.bool, device=edge_index.device)
    row, col = edge_index[0], edge_index[1]
    edge_mask = _rand(row.size(0), edge_index.device, generator) >= p
    if force_undirected:
        edge_mask[row > col] = False
    edge_index = edge_index[:, edge_mask]
    if force_undirected:
        edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
        edge_mask = edge_mask.nonzero().repeat((2, 1)).squeeze()
    return edge_index, edge_mask


def dropout_node(edge_index: torch.Tensor, p: float = 0.5, num_nodes: int | None = None, training: bool = True,
                 relabel_nodes: bool = False, *, generator: torch.Generator | None = None):
    """Drop each node with probability p and the edges touching it: (edge_index, edge_mask, node_mask)."""
    _check_p(p)
    num_nodes = maybe_num_nodes(edge_index, num_nodes)
    if not training or p == 0.0:
        return (edge_index, torch.ones(edge_index.size(1), dtype=torch.bool, device=edge_index.device),
                torch.ones(num_nodes, dtype=torch.bool, device=edge_index.device))
    node_mask = _rand(num_nodes, edge_index.device, generator) > p
    edge_index, _, edge_mask = subgraph(node_mask, edge_index, relabel_nodes=relabel_nodes, num_nodes=num_nodes,
                                        return_edge_mask=True)
    return edge_index, edge_mask, node_mask


def dropout_path(edge_index: torch.Tensor, p: float = 0.2, walks_per_node: int = 1, walk_length: int = 3,
                 num_nodes: int | None = None, is_sorted: bool = False, training: bool = True, *,
                 generator: torch.Generator | None = None):
    """Drop the edges that random walks traverse (PyG's dropout_path): each edge's source starts `walks_per_node`
    uniform walks of `walk_length` steps with probability p; every edge (u, v) some walk steps along is dropped.
    Returns (kept edge_index, edge_mask). The walks are meshgraph's random_walk op (counter-based draws seeded from
    `generator`, the default CPU generator when None), so no pyg-lib is needed."""
    from .ops.edge_utils import sort_edge_index
    from .ops.random_walk import random_walk
    from ._utils import count_per_index, offsets_from_counts

    _check_p(p, "Sample")
    E = edge_index.size(1)
    edge_mask = torch.ones(E, dtype=torch.bool, device=edge_index.device)
    if not training or p == 0.0:
        return edge_index, edge_mask
    num_nodes = maybe_num_nodes(edge_index, num_nodes)
    order = None
    sorted_index = edge_index
    if not is_sorted:
        order = torch.arange(E, device=edge_index.device)
        sorted_index, order = sort_edge_index(edge_index, order, num_nodes=num_nodes)
    row, col = sorted_index[0], sorted_index[1]
    start = row[_rand(E, edge_index.device, generator) <= p].repeat(walks_per_node)
    rowptr = offsets_from_counts(count_per_index(row, num_nodes))
    walk = random_walk(rowptr, col, start, walk_length, 1.0, 1.0, generator)
    walk_keys = walk[:, :-1].reshape(-1) * num_nodes + walk[:, 1:].reshape(-1)
    hit = torch.isin(row.long() * num_nodes + col.long(), walk_keys).nonzero().view(-1)
    edge_mask[hit if order is None else order[hit]] = False
    return edge_index[:, edge_mask], edge_mask


def dropout_adj(edge_index: torch.Tensor, edge_attr: torch.Tensor | None = None, p: float = 0.5,
                force_undirected: bool = False, num_nodes: int | None = None, training: bool = True,
                *, generator: torch.Generator | None = None):
    """PyG's deprecated form of dropout_edge: (edge_index, edge_attr) of the kept edges."""
    warnings.warn("'dropout_adj' is deprecated, use 'dropout_edge' instead", stacklevel=2)
    _check_p(p)
    if not training or p == 0.0:
        return edge_index, edge_attr
    row, col = edge_index[0], edge_index[1]
    mask = _rand(row.size(0), edge_index.device, generator) >= p
    if force_undirected:
        mask[row > col] = False
    row, col = row[mask], col[mask]
    edge_attr = None if edge_attr is None else edge_attr[mask]
    if force_undirected:
        edge_index = torch.stack([torch.cat([row, col]), torch.cat([col, row])], dim=0)
        edge_attr = None if edge_attr is None else torch.cat([edge_attr, edge_attr], dim=0)
    else:
        edge_index = torch.stack([row, col], dim=0)
    return edge_index, edge_attr


# ---------------------------------------------------------------------- negative sampling


def sample(population: int, k: int, device=None, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """k distinct ids of [0, population) in random order (all of them, in order, when k >= population): Python's
    random.sample (PyG's), or with a generator k draws with replacement, deduplicated keeping first occurrences
    (the callers top up shortfalls in their later rounds)."""
    if population <= k:
        return torch.arange(population, device=device)
    if generator is None:
        return torch.tensor(random.sample(range(population), k), dtype=torch.long, device=device)
    rnd = torch.randint(population, (k,), generator=generator, device=generator.device).to(device)
    uniq, inv = torch.unique(rnd, return_inverse=True)
    first = torch.full((uniq.numel(),), k, dtype=torch.long, device=device)
    first.scatter_reduce_(0, inv, torch.arange(k, device=device), "amin")
    return rnd[first.sort().values]


def edge_index_to_vector(edge_index: torch.Tensor, size: tuple[int, int], bipartite: bool,
                         force_undirected: bool = False):
    """Edges -> ids of the candidate pairs, and the number of candidates: all (i, j) when bipartite, i < j when
    force_undirected, else all i != j (row-major, the diagonal skipped)."""
    row, col = edge_index[0], edge_index[1]
    if bipartite:
        return row * size[1] + col, size[0] * size[1]
    n = size[0]
    if force_undirected:
        mask = row < col
        row, col = row[mask], col[mask]
        offset = torch.arange(1, n, device=row.device).cumsum(0)[row]
        return row * n + col - offset, n * (n + 1) // 2 - n
    mask = row != col
    row, col = row[mask], col[mask]
    col = col - (row < col).to(col.dtype)
    return row * (n - 1) + col, n * n - n


def vector_to_edge_index(idx: torch.Tensor, size: tuple[int, int], bipartite: bool, force_undirected: bool = False):
    """Pair ids -> (2, K) edges, the inverse of edge_index_to_vector (force_undirected: both directions)."""
    if bipartite:
        return torch.stack([idx.div(size[1], rounding_mode="floor"), idx % size[1]], dim=0)
    n = size[0]
    if force_undirected:
        offset = torch.arange(1, n, device=idx.device).cumsum(0)
        end = torch.arange(n, n * n, n, device=idx.device) - offset
        row = torch.bucketize(idx, end, right=True)
        col = (offset[row] + idx) % n
        return torch.stack([torch.cat([row, col]), torch.cat([col, row])], 0)
    row = idx.div(n - 1, rounding_mode="floor")
    col = idx % (n - 1)
    col = col + (row <= col).to(col.dtype)
    return torch.stack([row, col], dim=0)


def negative_sampling(edge_index: torch.Tensor, num_nodes: int | tuple[int, int] | None = None,
                      num_neg_samples: int | float | None = None, method: str = "sparse",
                      force_undirected: bool = False, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random node pairs that are not edges (and not self loops), distinct: (2, <= num_neg_samples).

    num_nodes: N, or (N_src, N_dst) for a bipartite graph (loops allowed, force_undirected ignored);
    num_neg_samples: a count or a fraction of E (default E); method: "sparse" (candidates checked against the
    edge ids) or "dense" (a mask over all N^2 candidates); force_undirected: pairs i < j, returned in both
    directions. Up to three rounds of sampling with a 10 % surplus, as PyG: fewer pairs come back when the graph
    is nearly complete."""
    if method not in ("sparse", "dense"):
        raise ValueError(f"method must be 'sparse' or 'dense', got {method!r}")
    if num_nodes is None:
        num_nodes = maybe_num_nodes(edge_index, num_nodes)
    if isinstance(num_nodes, int):
        size, bipartite = (num_nodes, num_nodes), False
    else:
        size, bipartite, force_undirected = tuple(num_nodes), True, False
    idx, population = edge_index_to_vector(edge_index, size, bipartite, force_undirected)
    if idx.numel() >= population:
        return edge_index.new_empty((2, 0))
    if num_neg_samples is None:
        num_neg_samples = edge_index.size(1)
    elif isinstance(num_neg_samples, float):
        num_neg_samples = int(num_neg_samples * edge_index.size(1))
    if force_undirected:
        num_neg_samples = num_neg_samples // 2
    sample_size = int(1.1 * num_neg_samples / (1.0 - idx.numel() / population))
    neg_idx = None
    if method == "dense":
        mask = torch.ones(population, dtype=torch.bool, device=idx.device)
        mask[idx] = False
        for _ in range(3):
            rnd = sample(population, sample_size, idx.device, generator=generator)
            rnd = rnd[mask[rnd]]
            neg_idx = rnd if neg_idx is None else torch.cat([neg_idx, rnd])
            if neg_idx.numel() >= num_neg_samples:
                neg_idx = neg_idx[:num_neg_samples]
                break
            mask[neg_idx] = False
    else:
        known = idx.cpu()
        for _ in range(3):
            rnd = sample(population, sample_size, "cpu", generator=generator)
            taken = torch.isin(rnd, known)
            if neg_idx is not None:
                taken |= torch.isin(rnd, neg_idx.cpu())
            rnd = rnd[~taken].to(edge_index.device)
            neg_idx = rnd if neg_idx is None else torch.cat([neg_idx, rnd])
            if neg_idx.numel() >= num_neg_samples:
                neg_idx = neg_idx[:num_neg_samples]
                break
    return vector_to_edge_index(neg_idx, size, bipartite, force_undirected)


def batched_negative_sampling(edge_index: torch.Tensor, batch, num_neg_samples: int | float | None = None,
                              method: str = "sparse", force_undirected: bool = False, *,
                              generator: torch.Generator | None = None) -> torch.Tensor:
    """negative_sampling within each graph of a batch (edges sorted by graph, `batch` the node -> graph vector, or
    a (src_batch, dst_batch) pair for bipartite graphs); num_neg_samples per graph."""
    src_batch, dst_batch = (batch, batch) if isinstance(batch, torch.Tensor) else (batch[0], batch[1])
    split = degree(src_batch[edge_index[0]], dtype=torch.long).tolist()
    edge_indices = torch.split(edge_index, split, dim=1)
    num_src = degree(src_batch, dtype=torch.long)
    cum_src = torch.cumsum(num_src, 0) - num_src
    if isinstance(batch, torch.Tensor):
        num_nodes, ptr = num_src.tolist(), cum_src
    else:
        num_dst = degree(dst_batch, dtype=torch.long)
        num_nodes = torch.stack([num_src, num_dst], dim=1).tolist()
        ptr = torch.stack([cum_src, torch.cumsum(num_dst, 0) - num_dst], dim=1).unsqueeze(-1)
    out = []
    for i, e in enumerate(edge_indices):
        n = num_nodes[i] if isinstance(num_nodes[i], int) else tuple(num_nodes[i])
        neg = negative_sampling(e - ptr[i], n, num_neg_samples, method, force_undirected, generator=generator)
        out.append(neg + ptr[i])
    return torch.cat(out, dim=1)


def structured_negative_sampling(edge_index: torch.Tensor, num_nodes: int | None = None,
                                 contains_neg_self_loops: bool = True, *, generator: torch.Generator | None = None):
    """A negative destination k per edge (i, j), with (i, k) not an edge: (i, j, k). Redraws until every k is
    valid (see structured_negative_sampling_feasible); contains_neg_self_loops=False also excludes k = i."""
    num_nodes = maybe_num_nodes(edge_index, num_nodes)
    row, col = edge_index.cpu()
    pos_idx = row * num_nodes + col
    if not contains_neg_self_loops:
        pos_idx = torch.cat([pos_idx, torch.arange(num_nodes) * (num_nodes + 1)], dim=0)

    def draw(n):
        if generator is None:
            return torch.randint(num_nodes, (n,), dtype=torch.long)
        return torch.randint(num_nodes, (n,), dtype=torch.long, generator=generator,
                             device=generator.device).cpu()

    rand = draw(row.size(0))
    rest = torch.isin(row * num_nodes + rand, pos_idx).nonzero(as_tuple=False).view(-1)
    while rest.numel() > 0:
        tmp = draw(rest.size(0))
        rand[rest] = tmp
        rest = rest[torch.isin(row[rest] * num_nodes + tmp, pos_idx)]
    return edge_index[0], edge_index[1], rand.to(edge_index.device)


def structured_negative_sampling_feasible(edge_index: torch.Tensor, num_nodes: int | None = None,
                                          contains_neg_self_loops: bool = True) -> bool:
    """True when every node has a non-neighbour to sample (structured_negative_sampling then terminates)."""
    num_nodes = maybe_num_nodes(edge_index, num_nodes)
    max_num_neighbors = num_nodes
    edge_index = coalesce(edge_index, num_nodes=num_nodes)
    if not contains_neg_self_loops:
        edge_index, _ = remove_self_loops(edge_index)
        max_num_neighbors -= 1
    return bool(torch.all(degree(edge_index[0], num_nodes) < max_num_neighbors))


# ---------------------------------------------------------------------- metrics and masks


def _edge_rows(edge_index):
    if isinstance(edge_index, torch.Tensor) and edge_index.layout == torch.strided:
        return edge_index[0], edge_index[1]
    from .nn._edges import read_edges

    e = read_edges(edge_index)  # a sparse adj_t: rows are destinations
    return e.index_j, e.index_i


def homophily(edge_index, y: torch.Tensor, batch: torch.Tensor | None = None, method: str = "edge"):
    """Label homophily: "edge" (fraction of edges joining equal labels), "node" (per node, the fraction of its
    in-edges from equal labels, averaged) or "edge_insensitive" (class-insensitive, Lim et al.); a float, or a
    tensor per graph when batch is given."""
    if method not in ("edge", "node", "edge_insensitive"):
        raise ValueError(f"method must be 'edge', 'node' or 'edge_insensitive', got {method!r}")
    y = y.squeeze(-1) if y.dim() > 1 else y
    row, col = _edge_rows(edge_index)
    if method in ("edge", "node"):
        out = (y[row] == y[col]).to(torch.get_default_dtype())
        if method == "edge":
            if batch is None:
                return float(out.mean())
            return scatter(out, batch[col], int(batch.max()) + 1, "mean")
        out = scatter(out, col, y.size(0), "mean")
        return float(out.mean()) if batch is None else scatter(out, batch, None, "mean")
    if y.dim() != 1:
        raise ValueError("method='edge_insensitive' needs one label per node")
    num_classes = int(y.max()) + 1
    if num_classes < 2:
        raise ValueError("method='edge_insensitive' needs at least two classes")
    batch = torch.zeros_like(y) if batch is None else batch
    num_nodes = degree(batch, dtype=torch.int64)
    num_graphs = num_nodes.numel()
    batch = num_classes * batch + y
    h = homophily(edge_index, y, batch, method="edge")
    h = torch.cat([h, h.new_zeros(num_graphs * num_classes - h.numel())]).view(num_graphs, num_classes)
    counts = batch.bincount(minlength=num_classes * num_graphs).view(num_graphs, num_classes)
    out = (h - counts / num_nodes.view(-1, 1)).clamp_(min=0).sum(dim=-1) / (num_classes - 1)
    return out if out.numel() > 1 else float(out)


def one_hot(index: torch.Tensor, num_classes: int | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(N,) class ids -> (N, num_classes) one-hot rows of `dtype` (default: torch's default float dtype)."""
    if index.dim() != 1:
        raise ValueError("'index' tensor needs to be one-dimensional")
    if num_classes is None:
        num_classes = int(index.max()) + 1
    out = torch.zeros((index.size(0), num_classes), dtype=dtype, device=index.device)
    return out.scatter_(1, index.unsqueeze(1), 1)


def index_to_mask(index: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """(size,) bool mask, True at `index` (default size: index.max() + 1)."""
    index = index.view(-1)
    size = int(index.max()) + 1 if size is None else size
    mask = torch.zeros(size, dtype=torch.bool, device=index.device)
    mask[index] = True
    return mask


def mask_to_index(mask: torch.Tensor) -> torch.Tensor:
    """The positions of the True entries of a 1-D mask."""
    return mask.nonzero(as_tuple=False).view(-1)


def mask_select(src: torch.Tensor, dim: int, mask: torch.Tensor) -> torch.Tensor:
    """The slices of src along dim where the 1-D mask is True."""
    if mask.dim() != 1:
        raise ValueError(f"mask must be one-dimensional (got {mask.dim()} dimensions)")
    if src.size(dim) != mask.numel():
        raise ValueError(f"mask has {mask.numel()} entries but src has {src.size(dim)} along dim {dim}")
    dim = dim + src.dim() if dim < 0 else dim
    src = src.transpose(0, dim) if dim != 0 else src
    out = src[mask]
    return out.transpose(0, dim) if dim != 0 else out


def select(src, index_or_mask: torch.Tensor, dim: int):
    """src (tensor or list) at the positions of an index or bool mask along dim."""
    if isinstance(src, torch.Tensor):
        if index_or_mask.dtype == torch.bool:
            return mask_select(src, dim, index_or_mask)
        return src.index_select(dim, index_or_mask)
    if isinstance(src, (tuple, list)):
        if dim != 0:
            raise ValueError("Cannot select along dimension other than 0")
        if index_or_mask.dtype == torch.bool:
            return [src[i] for i, m in enumerate(index_or_mask) if m]
        return [src[i] for i in index_or_mask]
    raise ValueError(f"Encountered invalid input type (got '{type(src)}')")


def narrow(src, dim: int, start: int, length: int):
    """src (tensor, sparse tensor or list) restricted to [start, start + length) along dim."""
    if isinstance(src, torch.Tensor) and src.layout != torch.strided:
        return src.index_select(dim, torch.arange(start, start + length, device=src.device))
    if isinstance(src, torch.Tensor):
        return src.narrow(dim, start, length)
    if isinstance(src, list):
        if dim != 0:
            raise ValueError("Cannot narrow along dimension other than 0")
        return src[start:start + length]
    raise ValueError(f"Encountered invalid input type (got '{type(src)}')")


# ---------------------------------------------------------------------- generators


def grid_index(height: int, width: int, device: torch.device | None = None) -> torch.Tensor:
    """The (2, E) coalesced edges of a height x width grid: every node to its 8 neighbours and itself (row-major
    node ids). As PyG, the horizontal neighbours are taken in the flat index, so a row end links to the next
    row's start."""
    w = width
    kernel = torch.tensor([-w - 1, -1, w - 1, -w, 0, w, -w + 1, 1, w + 1], device=device)
    row = torch.arange(height * width, dtype=torch.long, device=device).view(-1, 1).repeat(1, kernel.size(0))
    col = row + kernel.view(1, -1)
    row, col = row.view(height, -1), col.view(height, -1)
    index = torch.arange(3, row.size(1) - 3, dtype=torch.long, device=device)
    row, col = row[:, index].reshape(-1), col[:, index].reshape(-1)
    mask = (col >= 0) & (col < height * width)
    return coalesce(torch.stack([row[mask], col[mask]], dim=0), num_nodes=height * width)


def grid_pos(height: int, width: int, dtype: torch.dtype | None = None, device: torch.device | None = None):
    """(height * width, 2) node positions (x = column, y = height - 1 - row)."""
    dtype = torch.float if dtype is None else dtype
    x = torch.arange(width, dtype=dtype, device=device).repeat(height)
    y = (height - 1 - torch.arange(height, dtype=dtype, device=device)).unsqueeze(-1).repeat(1, width).view(-1)
    return torch.stack([x, y], dim=-1)


def grid(height: int, width: int, dtype: torch.dtype | None = None, device: torch.device | None = None):
    """(edge_index, pos) of a height x width grid graph (grid_index, grid_pos)."""
    return grid_index(height, width, device), grid_pos(height, width, dtype, device)


def _all_pairs(num_nodes: int, directed: bool):
    if directed:  # every (i, j), i != j, as ids i * N + j
        idx = torch.arange((num_nodes - 1) * num_nodes).view(num_nodes - 1, num_nodes)
        idx = (idx + torch.arange(1, num_nodes).view(-1, 1)).view(-1)
        return idx.div(num_nodes, rounding_mode="floor"), idx % num_nodes
    i, j = torch.triu_indices(num_nodes, num_nodes, 1)  # torch.combinations(arange(N), 2)'s order
    return i, j


def erdos_renyi_graph(num_nodes: int, edge_prob: float, directed: bool = False, *,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """A G(n, p) random graph: each pair i < j (each ordered pair i != j when directed) an edge with probability
    edge_prob; undirected graphs come back with both directions, coalesced."""
    row, col = _all_pairs(num_nodes, directed)
    if generator is None:
        mask = torch.rand(row.size(0)) < edge_prob
    else:
        mask = torch.rand(row.size(0), generator=generator, device=generator.device).cpu() < edge_prob
    edge_index = torch.stack([row[mask], col[mask]], dim=0)
    return edge_index if directed else to_undirected(edge_index, num_nodes=num_nodes)


def stochastic_blockmodel_graph(block_sizes, edge_probs, directed: bool = False, *,
                                generator: torch.Generator | None = None) -> torch.Tensor:
    """A stochastic block model: nodes in blocks of block_sizes, each pair an edge with the probability
    edge_probs[block_i][block_j] (symmetric unless directed)."""
    size = block_sizes if isinstance(block_sizes, torch.Tensor) else torch.tensor(block_sizes, dtype=torch.long)
    prob = edge_probs if isinstance(edge_probs, torch.Tensor) else torch.tensor(edge_probs, dtype=torch.float)
    if size.dim() != 1:
        raise ValueError("block_sizes must be one-dimensional")
    if prob.dim() != 2 or prob.size(0) != prob.size(1) or prob.size(0) != size.size(0):
        raise ValueError(f"edge_probs must be ({size.size(0)}, {size.size(0)}), got {tuple(prob.shape)}")
    if not directed and not torch.allclose(prob, prob.t()):
        raise ValueError("edge_probs must be symmetric for an undirected graph")
    node_idx = torch.cat([size.new_full((int(b),), i) for i, b in enumerate(size)])
    num_nodes = node_idx.size(0)
    row, col = _all_pairs(num_nodes, directed)
    p = prob[node_idx[row], node_idx[col]]
    if generator is None:
        mask = torch.bernoulli(p).to(torch.bool)
    else:
        mask = torch.bernoulli(p.to(generator.device), generator=generator).cpu().to(torch.bool)
    edge_index = torch.stack([row[mask], col[mask]], dim=0)
    return edge_index if directed else to_undirected(edge_index, num_nodes=num_nodes)


def barabasi_albert_graph(num_nodes: int, num_edges: int, *, generator: torch.Generator | None = None):
    """A Barabasi-Albert preferential-attachment graph: each new node links to num_edges endpoints drawn from the
    edges so far (undirected, coalesced, no self loops)."""
    if not 0 < num_edges < num_nodes:
        raise ValueError(f"num_edges must lie in (0, num_nodes), got {num_edges} for {num_nodes} nodes")
    if generator is None:
        row, col = torch.arange(num_edges), torch.randperm(num_edges)
    else:
        row, col = torch.arange(num_edges), torch.randperm(num_edges, generator=generator, device=generator.device).cpu()
    for i in range(num_edges, num_nodes):
        row = torch.cat([row, torch.full((num_edges,), i, dtype=torch.long)])
        ends = torch.cat([row, col])
        if generator is None:
            choice = torch.from_numpy(np.random.choice(ends.numpy(), num_edges))
        else:
            choice = ends[torch.randint(ends.numel(), (num_edges,), generator=generator,
                                        device=generator.device).cpu()]
        col = torch.cat([col, choice])
    edge_index, _ = remove_self_loops(torch.stack([row, col], dim=0))
    return to_undirected(edge_index, num_nodes=num_nodes)


__all__ = [
    "barabasi_albert_graph", "batched_negative_sampling", "bipartite_subgraph", "dropout_adj", "dropout_edge",
    "dropout_node", "erdos_renyi_graph", "get_num_hops", "grid", "grid_index", "grid_pos", "homophily",
    "index_to_mask", "k_hop_subgraph", "mask_select", "mask_to_index", "narrow", "negative_sampling", "one_hot",
    "select", "stochastic_blockmodel_graph", "structured_negative_sampling",
    "structured_negative_sampling_feasible",
]
