"""`pytorch3d.renderer.mesh.shader` mirror (meshgraph.render.shader). SplatterPhongShader is not mirrored (it needs
PyTorch3D's SplatterBlender)."""

from .....render.blend import BlendParams  # noqa: F401
from .....render.blend import hard_rgb_blend, softmax_rgb_blend  # noqa: F401
from .....render.blend import sigmoid_alpha_rgba as sigmoid_alpha_blend  # noqa: F401
from .....render.lighting import Materials, PointLights  # noqa: F401
from .....render.renderer import SoftSilhouetteShader  # noqa: F401
from .....render.shader import (  # noqa: F401
    HardDepthShader,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    ShaderBase,
    SoftDepthShader,
    SoftGouraudShader,
    SoftPhongShader,
    TexturedSoftPhongShader,
)
from .....render.shading import _phong_shading_with_pixels, flat_shading, gouraud_shading, phong_shading  # noqa: F401
from .rasterizer import Fragments  # noqa: F401
