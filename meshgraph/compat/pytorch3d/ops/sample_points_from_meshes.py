"""`pytorch3d.ops.sample_points_from_meshes` mirror."""

from __future__ import annotations

from ....ops.sample_points import sample_points_from_meshes as _sample

__all__ = ["sample_points_from_meshes"]


def sample_points_from_meshes(meshes, num_samples: int = 10000, return_normals: bool = False,
                              return_textures: bool = False):
    """PyTorch3D's sample_points_from_meshes: samples (N, S, 3)[, normals (N, S, 3)][, textures (N, S, C)]."""
    return _sample(meshes, num_samples, return_normals, return_textures)
