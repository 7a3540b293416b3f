"""`pytorch3d.loss.point_mesh_distance` mirror."""

from ....losses.point_mesh import point_mesh_face_distance as _point_mesh_face_distance
from ....losses.point_mesh import point_mesh_edge_distance as _point_mesh_edge_distance

__all__ = ["point_mesh_edge_distance", "point_mesh_face_distance"]

_DEFAULT_MIN_TRIANGLE_AREA: float = 5e-3


def point_mesh_face_distance(meshes, pcls, min_triangle_area: float = _DEFAULT_MIN_TRIANGLE_AREA):
    """PyTorch3D's point_mesh_face_distance(meshes, pcls, min_triangle_area=5e-3): triangles smaller than
    min_triangle_area count by their sides only, as in PyTorch3D."""
    return _point_mesh_face_distance(meshes, pcls, min_triangle_area=min_triangle_area)


def point_mesh_edge_distance(meshes, pcls):
    """PyTorch3D's point_mesh_edge_distance(meshes, pcls)."""
    return _point_mesh_edge_distance(meshes, pcls)
