"""`pytorch3d.renderer.mesh` mirror (the names meshgraph has)."""

from .rasterize_meshes import rasterize_meshes
from .rasterizer import Fragments, MeshRasterizer, RasterizationSettings
from .renderer import MeshRenderer, MeshRendererWithFragments
from .shader import BlendParams, SoftSilhouetteShader

__all__ = [
    "BlendParams",
    "Fragments",
    "MeshRasterizer",
    "MeshRenderer",
    "MeshRendererWithFragments",
    "RasterizationSettings",
    "SoftSilhouetteShader",
    "rasterize_meshes",
]
