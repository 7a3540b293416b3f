"""`pytorch3d.loss.chamfer` mirror."""

from ....losses.chamfer import chamfer_distance

__all__ = ["chamfer_distance"]
