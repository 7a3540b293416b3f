"""`pytorch3d.renderer.mesh.shader` mirror: the shaders meshgraph has (lit shaders come with another issue)."""

from .....render.blend import BlendParams  # noqa: F401
from .....render.renderer import SoftSilhouetteShader  # noqa: F401
