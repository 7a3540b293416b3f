"""`pytorch3d.ops` mirror: `from pytorch3d.ops import X` becomes `from meshgraph.compat.pytorch3d.ops import X`.

Deep modules mirror PyTorch3D's (`.knn`, `.graph_conv`, `.subdivide_meshes`, ...). Names meshgraph does not
implement are absent.
"""

from .ball_query import ball_query
from .cubify import cubify
from .graph_conv import GraphConv
from .interp_face_attrs import interpolate_face_attributes
from .knn import knn_gather, knn_points
from .laplacian_matrices import cot_laplacian, laplacian, norm_laplacian
from .mesh_face_areas_normals import mesh_face_areas_normals
from .packed_to_padded import packed_to_padded, padded_to_packed
from .points_normals import estimate_pointcloud_local_coord_frames, estimate_pointcloud_normals
from .sample_farthest_points import sample_farthest_points
from .sample_points_from_meshes import sample_points_from_meshes
from .subdivide_meshes import SubdivideMeshes
from .vert_align import vert_align

__all__ = [
    "GraphConv",
    "SubdivideMeshes",
    "ball_query",
    "cot_laplacian",
    "cubify",
    "estimate_pointcloud_local_coord_frames",
    "estimate_pointcloud_normals",
    "interpolate_face_attributes",
    "knn_gather",
    "knn_points",
    "laplacian",
    "mesh_face_areas_normals",
    "norm_laplacian",
    "packed_to_padded",
    "padded_to_packed",
    "sample_farthest_points",
    "sample_points_from_meshes",
    "vert_align",
]

# --- volumes (issue 16)
from .points_to_volumes import add_pointclouds_to_volumes, add_points_features_to_volume_densities_features  # noqa: E402

__all__ += ["add_pointclouds_to_volumes", "add_points_features_to_volume_densities_features"]
# --- end volumes
# --- geometry: alignment, boxes, mesh processing (issue 16)
from .iou_box3d import box3d_overlap  # noqa: E402
from .mesh_filtering import taubin_smoothing  # noqa: E402
from .points_alignment import corresponding_points_alignment, iterative_closest_point  # noqa: E402

__all__ += [
    "box3d_overlap",
    "corresponding_points_alignment",
    "iterative_closest_point",
    "taubin_smoothing",
]
# --- end geometry: alignment, boxes, mesh processing
