"""`torch_geometric.utils` mirror: edge-list, batch-vector and sparse-matrix functions (meshgraph.ops.edge_utils)
and the reductions (meshgraph.ops.scatter, on the fused kernels), with PyG 2.8's signatures."""

from ....ops.edge_utils import (
    add_remaining_self_loops,
    add_self_loops,
    coalesce,
    contains_isolated_nodes,
    contains_self_loops,
    degree,
    dense_to_sparse,
    from_scipy_sparse_matrix,
    get_self_loop_attr,
    is_sparse,
    is_torch_sparse_tensor,
    is_undirected,
    remove_isolated_nodes,
    remove_self_loops,
    segregate_self_loops,
    sort_edge_index,
    subgraph,
    to_dense_adj,
    to_dense_batch,
    to_edge_index,
    to_scipy_sparse_matrix,
    to_torch_coo_tensor,
    to_torch_csc_tensor,
    to_torch_csr_tensor,
    to_torch_sparse_tensor,
    to_undirected,
    unbatch,
    unbatch_edge_index,
)
import torch

from ....ops.scatter import scatter as _native_scatter
from ....ops.spmm import spmm
from ....records import from_networkx, from_trimesh, to_networkx, to_trimesh
from ....ops.scatter import (
    REDUCE_NAMES,
    group_argsort,
    group_cat,
    scatter_softmax,
    segment_logsumexp,
    segment_reduce,
    segment_softmax,
)


def scatter(src, index, dim: int = 0, dim_size: int | None = None, reduce: str = "sum"):
    """PyG's `scatter(src, index, dim, dim_size, reduce)`: meshgraph.ops.scatter with dim as keyword."""
    if isinstance(index, torch.Tensor) and index.dim() != 1:
        raise ValueError(f"The `index` argument must be one-dimensional (got {index.dim()} dimensions)")
    if isinstance(src, torch.Tensor) and not -src.dim() <= dim < src.dim():
        raise ValueError(f"The `dim` argument must lay between 0 and {src.dim() - 1} (got {dim})")
    if reduce not in REDUCE_NAMES:
        raise ValueError(f"Encountered invalid `reduce` argument '{reduce}'")
    return _native_scatter(src, index, dim_size, reduce, dim=dim)


def segment(src, ptr, reduce: str = "sum"):
    """PyG's `segment(src, ptr, reduce)`: meshgraph.ops.segment_reduce."""
    return segment_reduce(src, ptr, reduce)


def softmax(src, index=None, ptr=None, num_nodes: int | None = None, dim: int = 0):
    """PyG's `softmax(src, index, ptr, num_nodes, dim)`: grouped by `ptr` segments when given, else by `index`
    (meshgraph.ops.segment_softmax / scatter_softmax, the fused neighbor_softmax kernel)."""
    if ptr is not None:
        return segment_softmax(src, ptr, dim=dim)
    if index is not None:
        return scatter_softmax(src, index, num_nodes, dim=dim)
    raise NotImplementedError("'softmax' requires 'index' to be specified")


__all__ = [
    "add_remaining_self_loops",
    "add_self_loops",
    "coalesce",
    "contains_isolated_nodes",
    "contains_self_loops",
    "degree",
    "dense_to_sparse",
    "from_networkx",
    "from_scipy_sparse_matrix",
    "from_trimesh",
    "get_self_loop_attr",
    "group_argsort",
    "group_cat",
    "is_sparse",
    "is_torch_sparse_tensor",
    "is_undirected",
    "remove_isolated_nodes",
    "remove_self_loops",
    "scatter",
    "segment",
    "segment_logsumexp",
    "segregate_self_loops",
    "softmax",
    "sort_edge_index",
    "spmm",
    "subgraph",
    "to_dense_adj",
    "to_dense_batch",
    "to_edge_index",
    "to_networkx",
    "to_scipy_sparse_matrix",
    "to_torch_coo_tensor",
    "to_torch_csc_tensor",
    "to_torch_csr_tensor",
    "to_torch_sparse_tensor",
    "to_trimesh",
    "to_undirected",
    "unbatch",
    "unbatch_edge_index",
]

# --- utils and transforms (issue 13)
from ._grid import grid
from ._homophily import homophily
from ._negative_sampling import (batched_negative_sampling, negative_sampling, structured_negative_sampling,
                                 structured_negative_sampling_feasible)
from ._one_hot import one_hot
from ._select import narrow, select
from ._subgraph import bipartite_subgraph, get_num_hops, k_hop_subgraph
from .dropout import dropout_adj, dropout_edge, dropout_node, dropout_path
from .mask import index_to_mask, mask_select, mask_to_index
from .random import barabasi_albert_graph, erdos_renyi_graph, stochastic_blockmodel_graph

__all__ += ["barabasi_albert_graph", "batched_negative_sampling", "bipartite_subgraph", "dropout_adj", "dropout_edge",
            "dropout_node", "dropout_path", "erdos_renyi_graph", "get_num_hops", "grid", "homophily", "index_to_mask", "k_hop_subgraph",
            "mask_select", "mask_to_index", "narrow", "negative_sampling", "one_hot", "select",
            "stochastic_blockmodel_graph", "structured_negative_sampling", "structured_negative_sampling_feasible"]
# --- end utils and transforms

# --- loaders (issue 15)
from ._trim_to_layer import trim_to_layer

__all__ += ["trim_to_layer"]
# --- end loaders
