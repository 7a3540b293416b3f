"""`pytorch3d.loss.mesh_edge_loss` mirror."""

from ....losses.mesh import mesh_edge_loss

__all__ = ["mesh_edge_loss"]
