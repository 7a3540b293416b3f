"""Mesh utilities: icospheres, tori."""

from __future__ import annotations

import math

import torch

from .graph import Graph


def ico_sphere(level: int = 0, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> Graph:
    """Unit icosphere: the icosahedron (12 vertices, 20 faces) subdivided `level` times, vertices projected to
    the sphere (level 4: 2,562 vertices, 5,120 faces). Faces wind outward (right-handed normals point out)."""
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise ValueError(f"level must be a non-negative int, got {level!r}")
    t = (1.0 + math.sqrt(5.0)) / 2.0
    verts = torch.tensor(
        [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t],
         [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]], dtype=torch.float64)
    faces = torch.tensor(
        [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2], [10, 7, 6],
         [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10],
         [8, 6, 7], [9, 8, 1]], dtype=torch.int64)
    verts = verts / verts.norm(dim=1, keepdim=True)
    from .graph import GraphBatch
    from .ops.subdivide import subdivide

    mesh = GraphBatch([Graph(verts, faces)])
    for _ in range(level):  # split every face in four, then push the new midpoints out to the sphere
        mesh = subdivide(mesh)
        mesh.update_features("pos", torch.nn.functional.normalize(mesh.pos_packed(), dim=1))
    verts, faces = mesh.pos_packed(), mesh.faces_packed()
    return Graph(verts.to(dtype=dtype, device=device), faces.to(device))

def torus(r: float, R: float, sides: int, rings: int, device: torch.device | str | None = None,
          dtype: torch.dtype = torch.float32) -> Graph:
    """Torus of tube radius r around a circle of radius R in the xy-plane: rings x sides vertices (vertex
    i * sides + j at ring angle 2 pi i / rings, tube angle 2 pi j / sides) and two triangles per quad, in
    PyTorch3D's `torus` order."""
    if not sides > 0:
        raise ValueError("sides must be > 0.")
    if not rings > 0:
        raise ValueError("rings must be > 0.")
    phi = (2 * math.pi * torch.arange(rings, dtype=torch.float64) / rings)[:, None]
    theta = (2 * math.pi * torch.arange(sides, dtype=torch.float64) / sides)[None, :]
    ring = R + r * torch.cos(theta)
    verts = torch.stack([ring * torch.cos(phi), ring * torch.sin(phi), (r * torch.sin(theta)).expand(rings, sides)], dim=2)
    i = torch.arange(rings)[:, None]
    j = torch.arange(sides)[None, :]
    prev_i, prev_j = (i - 1) % rings, (j - 1) % sides
    v00, v01 = prev_i * sides + prev_j, prev_i * sides + j
    v10, v11 = i * sides + prev_j, i * sides + j
    faces = torch.stack([torch.stack([v00, v10, v11], -1), torch.stack([v11, v01, v00], -1)], dim=2)
    return Graph(verts.reshape(-1, 3).to(dtype=dtype, device=device), faces.reshape(-1, 3).to(device))


__all__ = ["ico_sphere", "torus"]

# --- utils and transforms (issue 13): the graph utilities (PyG's torch_geometric.utils vocabulary)
from .ops.edge_utils import (add_remaining_self_loops, add_self_loops, coalesce, contains_isolated_nodes,  # noqa: E402
                             contains_self_loops, degree, dense_to_sparse, from_scipy_sparse_matrix,
                             get_self_loop_attr, is_undirected, remove_isolated_nodes, remove_self_loops,
                             sort_edge_index, subgraph, to_dense_adj, to_dense_batch, to_scipy_sparse_matrix,
                             to_undirected)
from .utils_graph import (barabasi_albert_graph, batched_negative_sampling, bipartite_subgraph,  # noqa: E402
                          dropout_edge, dropout_node, dropout_path, erdos_renyi_graph, get_num_hops, grid, homophily,
                          index_to_mask, k_hop_subgraph, mask_select, mask_to_index, negative_sampling, one_hot,
                          stochastic_blockmodel_graph, structured_negative_sampling,
                          structured_negative_sampling_feasible)

__all__ += [
    "add_remaining_self_loops", "add_self_loops", "barabasi_albert_graph", "batched_negative_sampling",
    "bipartite_subgraph", "coalesce", "contains_isolated_nodes", "contains_self_loops", "degree", "dense_to_sparse",
    "dropout_edge", "dropout_node", "dropout_path", "erdos_renyi_graph", "from_scipy_sparse_matrix", "get_num_hops",
    "get_self_loop_attr", "grid", "homophily", "index_to_mask", "is_undirected", "k_hop_subgraph", "mask_select",
    "mask_to_index", "negative_sampling", "one_hot", "remove_isolated_nodes", "remove_self_loops",
    "sort_edge_index", "stochastic_blockmodel_graph", "structured_negative_sampling",
    "structured_negative_sampling_feasible", "subgraph", "to_dense_adj", "to_dense_batch", "to_scipy_sparse_matrix",
    "to_undirected"]
# --- end utils and transforms
