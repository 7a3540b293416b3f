"""meshgraph operators: validated public wrappers over the custom ops in torch.ops.meshgraph."""

from .adjacency import Adjacency, build_adjacency
from .ball_query import ball_query
from .cubify import cubify
from .gather_scatter import edge_dot, gather_scatter
from .graph_builders import knn_graph, radius_graph
from .interpolate import knn_interpolate
from .knn import KNN, knn_gather, knn_points
from .laplacian import cot_laplacian, laplacian, norm_laplacian
from .mesh_geometry import mesh_face_areas_normals
from .neighbor_softmax import neighbor_softmax
from .packed_to_padded import packed_to_padded, padded_to_packed
from .point_face_distance import closest_point_face_pairs
from .sample_points import sample_points_from_meshes
from .sample_farthest_points import sample_farthest_points
from .vert_align import vert_align
from .voxel_pool import voxel_grid_pool
from .subdivide import subdivide
from .scatter import global_add_pool, global_max_pool, global_mean_pool, global_pool, scatter, segment_reduce

__all__ = [
    "Adjacency",
    "ball_query",
    "closest_point_face_pairs",
    "cot_laplacian",
    "cubify",
    "build_adjacency",
    "edge_dot",
    "gather_scatter",
    "global_add_pool",
    "global_max_pool",
    "global_mean_pool",
    "global_pool",
    "KNN",
    "knn_gather",
    "knn_graph",
    "knn_interpolate",
    "knn_points",
    "laplacian",
    "mesh_face_areas_normals",
    "neighbor_softmax",
    "norm_laplacian",
    "packed_to_padded",
    "padded_to_packed",
    "radius_graph",
    "sample_farthest_points",
    "sample_points_from_meshes",
    "scatter",
    "segment_reduce",
    "subdivide",
    "vert_align",
    "voxel_grid_pool",
]

# --- sampling (issue 15)
from .neighbor_sample import NeighborSample, neighbor_sample  # noqa: E402
from .random_walk import random_walk  # noqa: E402

__all__ += ["NeighborSample", "neighbor_sample", "random_walk"]
# --- end sampling

# --- geometry (issue 16)
from .points_normals import estimate_pointcloud_local_coord_frames, estimate_pointcloud_normals  # noqa: E402
from .symeig3x3 import symeig3x3  # noqa: E402

__all__ += ["estimate_pointcloud_local_coord_frames", "estimate_pointcloud_normals", "symeig3x3"]
# --- end geometry

# --- attention family (issue 13)
from .gatv2_edge_score import gatv2_edge_score

__all__ += ["gatv2_edge_score"]
# --- end attention family

# --- implicit rendering (issue 16)
from .emission_absorption import emission_absorption  # noqa: E402
from .sample_pdf import sample_pdf  # noqa: E402

__all__ += ["emission_absorption", "sample_pdf"]
# --- end implicit rendering
# --- volumes (issue 16)
from .add_points_to_volumes import add_points_features_to_volume_densities_features, add_points_to_volumes  # noqa: E402

__all__ += ["add_points_features_to_volume_densities_features", "add_points_to_volumes"]
# --- end volumes
# --- marching_cubes (issue 16)
from .marching_cubes import marching_cubes  # noqa: E402

__all__ += ["marching_cubes"]
# --- end marching_cubes
# --- geometry: alignment, boxes, mesh processing (issue 16)
from .box3d_overlap import box3d_overlap  # noqa: E402
from .mesh_processing import merge_close_verts, remove_unreferenced_verts, taubin_smoothing  # noqa: E402
from .points_alignment import (  # noqa: E402
    ICPSolution,
    SimilarityTransform,
    corresponding_points_alignment,
    iterative_closest_point,
)

__all__ += [
    "ICPSolution",
    "SimilarityTransform",
    "box3d_overlap",
    "corresponding_points_alignment",
    "iterative_closest_point",
    "merge_close_verts",
    "remove_unreferenced_verts",
    "taubin_smoothing",
]
# --- end geometry: alignment, boxes, mesh processing
# --- mesh queries (issue 16)
from .mesh_queries import MeshVoxels, mesh_to_voxels, points_inside_mesh, signed_distance, winding_number  # noqa: E402
from .ray_mesh_intersect import RayHits, ray_mesh_intersect  # noqa: E402

__all__ += ["MeshVoxels", "RayHits", "mesh_to_voxels", "points_inside_mesh", "ray_mesh_intersect", "signed_distance",
            "winding_number"]
# --- end mesh queries
# --- textures (issue 14)
from .sample_textures_uv import sample_textures_uv  # noqa: E402

__all__ += ["sample_textures_uv"]
# --- end textures
# --- segment aggregations (issue 13)
from .segment_aggregate import segment_aggregate  # noqa: E402

__all__ += ["segment_aggregate"]
# --- end segment aggregations
# --- spline conv (issue 13)
from .spline_basis import spline_basis  # noqa: E402
from .spline_weighting import spline_aggregate, spline_weighting  # noqa: E402

__all__ += ["spline_aggregate", "spline_basis", "spline_weighting"]
# --- end spline conv
