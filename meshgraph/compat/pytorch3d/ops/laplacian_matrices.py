"""`pytorch3d.ops.laplacian_matrices` mirror."""

from ....ops.laplacian import cot_laplacian, laplacian, norm_laplacian

__all__ = ["cot_laplacian", "laplacian", "norm_laplacian"]
