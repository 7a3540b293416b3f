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

# --- textures, lights, shading (issue 14)
from .shader import (  # noqa: E402
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    SoftGouraudShader,
    SoftPhongShader,
    TexturedSoftPhongShader,
)
from .shading import gouraud_shading, phong_shading  # noqa: E402
from .textures import Textures, TexturesAtlas, TexturesBase, TexturesUV, TexturesVertex  # noqa: E402

__all__ += [
    "HardFlatShader", "HardGouraudShader", "HardPhongShader", "SoftGouraudShader", "SoftPhongShader",
    "TexturedSoftPhongShader", "gouraud_shading", "phong_shading",
    "Textures", "TexturesAtlas", "TexturesBase", "TexturesUV", "TexturesVertex",
]
# --- end textures, lights, shading
