"""`pytorch3d.renderer.mesh.rasterizer` mirror (meshgraph.render.rasterizer)."""

from .....render.rasterizer import Fragments, MeshRasterizer, RasterizationSettings  # noqa: F401
