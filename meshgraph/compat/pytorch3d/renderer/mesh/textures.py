"""`pytorch3d.renderer.mesh.textures` mirror (meshgraph.render.textures)."""

from .....render.textures import (  # noqa: F401
    Textures,
    TexturesAtlas,
    TexturesBase,
    TexturesUV,
    TexturesVertex,
    _list_to_padded_wrapper,
    _pad_texture_maps,
    _pad_texture_multiple_maps,
    _padded_to_list_wrapper,
)
from .utils import PackedRectangle, Rectangle, pack_unique_rectangles  # noqa: F401
