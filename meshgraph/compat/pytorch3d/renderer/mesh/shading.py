"""`pytorch3d.renderer.mesh.shading` mirror (meshgraph.render.shading)."""

from .....render.shading import _apply_lighting, _phong_shading_with_pixels  # noqa: F401
from .....render.shading import flat_shading, gouraud_shading, phong_shading  # noqa: F401
from .textures import TexturesVertex  # noqa: F401
