"""`pytorch3d.ops.mesh_face_areas_normals` mirror."""

from ....ops.mesh_geometry import mesh_face_areas_normals

__all__ = ["mesh_face_areas_normals"]
