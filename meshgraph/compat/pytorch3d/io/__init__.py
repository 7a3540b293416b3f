"""`pytorch3d.io` mirror: OBJ and PLY reading and writing with PyTorch3D's signatures and return types.

Not mirrored (import fails): the glTF and OFF modules.
"""

from ....io.obj import load_obj, load_objs_as_meshes, save_obj
from ....io.pluggable import IO
from ....io.ply import load_ply, save_ply

__all__ = ["IO", "load_obj", "load_objs_as_meshes", "load_ply", "save_obj", "save_ply"]
