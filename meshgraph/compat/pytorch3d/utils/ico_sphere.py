"""`pytorch3d.utils.ico_sphere` mirror: meshgraph's icosphere returned as Meshes."""

from ....structures import Meshes
from ....utils import ico_sphere as _ico_sphere


def ico_sphere(level: int = 0, device=None) -> Meshes:
    """Unit icosphere subdivided `level` times, as Meshes of one mesh (PyTorch3D's `ico_sphere`)."""
    if level < 0:
        raise ValueError("level must be >= 0.")
    g = _ico_sphere(level, device=device)
    return Meshes(verts=[g.pos], faces=[g.faces])


__all__ = ["ico_sphere"]
