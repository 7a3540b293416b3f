"""`pytorch3d.loss.mesh_laplacian_smoothing` mirror."""

from ....losses.mesh import mesh_laplacian_smoothing

__all__ = ["mesh_laplacian_smoothing"]
