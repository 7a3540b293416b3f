"""`pytorch3d.ops.mesh_face_areas_normals` mirror."""

import torch

from ....ops import mesh_geometry


def mesh_face_areas_normals(verts, faces):
    """PyTorch3D's op: float32 areas (F,) and unit normals (F, 3), whatever the float dtype of verts (PyTorch3D
    casts to float32); meshgraph's native `meshgraph.ops.mesh_face_areas_normals` keeps the input dtype."""
    if isinstance(verts, torch.Tensor) and verts.is_floating_point() and verts.dtype != torch.float32:
        verts = verts.float()
    return mesh_geometry.mesh_face_areas_normals(verts, faces)


__all__ = ["mesh_face_areas_normals"]
