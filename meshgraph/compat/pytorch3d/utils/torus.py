"""`pytorch3d.utils.torus` mirror: meshgraph's torus returned as Meshes."""

from ....structures import Meshes
from ....utils import torus as _torus


def torus(r: float, R: float, sides: int, rings: int, device=None) -> Meshes:
    """Torus as Meshes of one mesh (PyTorch3D's `torus`: same vertex and face order)."""
    g = _torus(r, R, sides, rings, device=device)
    return Meshes(verts=[g.pos], faces=[g.faces])


__all__ = ["torus"]
