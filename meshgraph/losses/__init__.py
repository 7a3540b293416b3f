"""Losses on point clouds and meshes (PyTorch3D's signatures and semantics)."""

from .chamfer import chamfer_distance
from .mesh import mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from .point_mesh import point_mesh_edge_distance, point_mesh_face_distance

__all__ = [
    "chamfer_distance",
    "mesh_edge_loss",
    "mesh_laplacian_smoothing",
    "mesh_normal_consistency",
    "point_mesh_edge_distance",
    "point_mesh_face_distance",
]
