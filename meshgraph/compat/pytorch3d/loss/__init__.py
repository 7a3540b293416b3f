"""`pytorch3d.loss` mirror: `from pytorch3d.loss import X` becomes `from meshgraph.compat.pytorch3d.loss import X`."""

from .chamfer import chamfer_distance
from .mesh_edge_loss import mesh_edge_loss
from .mesh_laplacian_smoothing import mesh_laplacian_smoothing
from .mesh_normal_consistency import mesh_normal_consistency
from .point_mesh_distance import point_mesh_edge_distance, point_mesh_face_distance

__all__ = [
    "chamfer_distance",
    "mesh_edge_loss",
    "mesh_laplacian_smoothing",
    "mesh_normal_consistency",
    "point_mesh_edge_distance",
    "point_mesh_face_distance",
]
