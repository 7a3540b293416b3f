"""`pytorch3d.loss.mesh_normal_consistency` mirror."""

from ....losses.mesh import mesh_normal_consistency

__all__ = ["mesh_normal_consistency"]
