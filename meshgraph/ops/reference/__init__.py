"""Pure-PyTorch definitions of every meshgraph op: readable, slow, and the specification the kernels meet.

`REFERENCES` maps each registered op name (torch.ops.meshgraph.<name>) to its definition; the registry test
fails if an op has none.
"""

from .ball_query import ball_query_idx
from .gather_scatter import edge_dot, gather_scatter, gather_scatter_arg_backward
from .graclus import graclus
from .knn import knn_points_idx
from .packed import packed_to_padded, padded_to_packed
from .render import (
    composite_points,
    composite_points_backward,
    interpolate_face_attributes,
    interpolate_face_attributes_backward,
    rasterize_meshes,
    rasterize_meshes_backward,
    rasterize_points,
    rasterize_points_backward,
)
from .point_face import point_face_distance_idx
from .sample_farthest_points import sample_farthest_points_idx
from .sampling import neighbor_sample, random_walk
from .softmax import neighbor_softmax, neighbor_softmax_backward

REFERENCES = {
    "gather_scatter": gather_scatter,
    "edge_dot": edge_dot,
    "gather_scatter_arg_backward": gather_scatter_arg_backward,
    "packed_to_padded": packed_to_padded,
    "padded_to_packed": padded_to_packed,
    "neighbor_softmax": neighbor_softmax,
    "neighbor_softmax_backward": neighbor_softmax_backward,
    "knn_points_idx": knn_points_idx,
    "ball_query_idx": ball_query_idx,
    "sample_farthest_points_idx": sample_farthest_points_idx,
    "rasterize_points": rasterize_points,
    "point_face_distance_idx": point_face_distance_idx,
    "rasterize_meshes": rasterize_meshes,
    "interpolate_face_attributes": interpolate_face_attributes,
    "interpolate_face_attributes_backward": interpolate_face_attributes_backward,
    "rasterize_meshes_backward": rasterize_meshes_backward,
    "composite_points": composite_points,
    "composite_points_backward": composite_points_backward,
    "rasterize_points_backward": rasterize_points_backward,
    "graclus": graclus,
    "neighbor_sample": neighbor_sample,
    "random_walk": random_walk,
}

__all__ = [
    "REFERENCES",
    "ball_query_idx",
    "composite_points",
    "composite_points_backward",
    "edge_dot",
    "gather_scatter",
    "gather_scatter_arg_backward",
    "graclus",
    "interpolate_face_attributes",
    "interpolate_face_attributes_backward",
    "knn_points_idx",
    "neighbor_sample",
    "neighbor_softmax",
    "neighbor_softmax_backward",
    "packed_to_padded",
    "padded_to_packed",
    "point_face_distance_idx",
    "random_walk",
    "rasterize_meshes",
    "rasterize_meshes_backward",
    "rasterize_points",
    "rasterize_points_backward",
    "sample_farthest_points_idx",
]

# --- geometry (issue 16)
from .symeig3x3 import symeig3x3, symeig3x3_backward  # noqa: E402

REFERENCES.update({"symeig3x3": symeig3x3, "symeig3x3_backward": symeig3x3_backward})
__all__ += ["symeig3x3", "symeig3x3_backward"]
# --- end geometry

# --- attention family (issue 13)
from .gatv2 import gatv2_edge_score, gatv2_edge_score_backward

REFERENCES.update({"gatv2_edge_score": gatv2_edge_score, "gatv2_edge_score_backward": gatv2_edge_score_backward})
__all__ += ["gatv2_edge_score", "gatv2_edge_score_backward"]
# --- end attention family

# --- implicit rendering (issue 16)
from .implicit import emission_absorption, emission_absorption_backward, sample_pdf  # noqa: E402

REFERENCES.update({"emission_absorption": emission_absorption,
                   "emission_absorption_backward": emission_absorption_backward, "sample_pdf": sample_pdf})
__all__ += ["emission_absorption", "emission_absorption_backward", "sample_pdf"]
# --- end implicit rendering
# --- volumes (issue 16)
from .points_to_volumes import add_points_to_volumes, add_points_to_volumes_backward  # noqa: E402

REFERENCES.update({"add_points_to_volumes": add_points_to_volumes,
                   "add_points_to_volumes_backward": add_points_to_volumes_backward})
__all__ += ["add_points_to_volumes", "add_points_to_volumes_backward"]
# --- end volumes
# --- marching_cubes (issue 16)
from .marching_cubes import marching_cubes as _marching_cubes_ref  # noqa: E402

REFERENCES.update({"marching_cubes": _marching_cubes_ref})
# --- end marching_cubes
# --- geometry: boxes, mesh processing (issue 16)
from .box3d import box3d_overlap  # noqa: E402
from .mesh_geometry import mesh_face_areas_normals, mesh_face_areas_normals_backward  # noqa: E402

REFERENCES.update({
    "box3d_overlap": box3d_overlap,
    "mesh_face_areas_normals": mesh_face_areas_normals,
    "mesh_face_areas_normals_backward": mesh_face_areas_normals_backward,
})
__all__ += ["box3d_overlap", "mesh_face_areas_normals", "mesh_face_areas_normals_backward"]
# --- end geometry: boxes, mesh processing
# --- mesh queries (issue 16)
from .mesh_queries import (  # noqa: E402
    bvh_closest_face_idx,
    mesh_bvh,
    ray_mesh_intersect_idx,
    winding_number,
    winding_number_backward,
)

REFERENCES.update({"winding_number": winding_number, "ray_mesh_intersect_idx": ray_mesh_intersect_idx,
                   "mesh_bvh": mesh_bvh, "winding_number_backward": winding_number_backward,
                   "bvh_closest_face_idx": bvh_closest_face_idx})
__all__ += ["ray_mesh_intersect_idx", "winding_number", "mesh_bvh", "winding_number_backward", "bvh_closest_face_idx"]
# --- end mesh queries
# --- textures (issue 14)
from .textures import sample_textures_uv, sample_textures_uv_backward  # noqa: E402

REFERENCES.update({"sample_textures_uv": sample_textures_uv, "sample_textures_uv_backward": sample_textures_uv_backward})
__all__ += ["sample_textures_uv", "sample_textures_uv_backward"]
# --- end textures
# --- segment aggregations (issue 13)
from .segment_aggregate import segment_aggregate, segment_aggregate_backward  # noqa: E402

REFERENCES.update({"segment_aggregate": segment_aggregate, "segment_aggregate_backward": segment_aggregate_backward})
__all__ += ["segment_aggregate", "segment_aggregate_backward"]
# --- end segment aggregations

# --- spline conv (issue 13)
from .spline import spline_basis, spline_basis_backward, spline_weighting, spline_weighting_backward  # noqa: E402

REFERENCES.update({
    "spline_basis": spline_basis,
    "spline_basis_backward": spline_basis_backward,
    "spline_weighting": spline_weighting,
    "spline_weighting_backward": spline_weighting_backward,
})
__all__ += ["spline_basis", "spline_basis_backward", "spline_weighting", "spline_weighting_backward"]
# --- end spline conv
