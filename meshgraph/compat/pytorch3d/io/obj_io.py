"""`pytorch3d.io.obj_io` mirror."""

from ....io.obj import load_obj, load_objs_as_meshes, save_obj

__all__ = ["load_obj", "load_objs_as_meshes", "save_obj"]
