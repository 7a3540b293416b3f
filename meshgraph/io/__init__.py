"""Mesh files to and from `meshgraph.Graph`: OBJ, PLY (ascii/binary, face lists and tristrips), OFF, STL."""

from .mesh import MeshFileError, load_mesh, save_mesh

__all__ = ["MeshFileError", "load_mesh", "save_mesh"]
