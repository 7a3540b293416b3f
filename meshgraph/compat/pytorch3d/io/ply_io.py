"""`pytorch3d.io.ply_io` mirror."""

from ....io.ply import load_ply, save_ply

__all__ = ["load_ply", "save_ply"]
