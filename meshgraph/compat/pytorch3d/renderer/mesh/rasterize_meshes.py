"""`pytorch3d.renderer.mesh.rasterize_meshes` mirror (meshgraph.ops.rasterize_meshes, same signature)."""

from .....ops.rasterize_meshes import rasterize_meshes  # noqa: F401
from .....ops.rasterize_meshes import rasterize_meshes_python  # noqa: F401,E402
