"""`pytorch3d.renderer.blending` mirror (meshgraph.render.blend; PyTorch3D's sigmoid_alpha_blend is meshgraph's
sigmoid_alpha_rgba, meshgraph's own sigmoid_alpha_blend being the alpha-only form)."""

from ....render.blend import BlendParams, hard_rgb_blend, softmax_rgb_blend  # noqa: F401
from ....render.blend import sigmoid_alpha_rgba as sigmoid_alpha_blend  # noqa: F401
