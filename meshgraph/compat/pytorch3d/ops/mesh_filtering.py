"""`pytorch3d.ops.mesh_filtering` mirror."""

from ....ops.mesh_processing import taubin_smoothing

__all__ = ["taubin_smoothing"]
