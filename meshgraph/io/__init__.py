"""Mesh files: `load_mesh` / `save_mesh` to and from `meshgraph.Graph` (OBJ, PLY ascii/binary with face lists and
tristrips, OFF, STL), and PyTorch3D's contract: `load_obj` / `save_obj` / `load_objs_as_meshes`, `load_ply` /
`save_ply`, and the pluggable `IO` loader."""

from .mesh import MeshFileError, load_mesh, save_mesh
from .obj import load_obj, load_objs_as_meshes, save_obj
from .pluggable import IO
from .ply import load_ply, save_ply

__all__ = ["IO", "MeshFileError", "load_mesh", "load_obj", "load_objs_as_meshes", "load_ply", "save_mesh", "save_obj", "save_ply"]
