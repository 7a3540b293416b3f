"""`pytorch3d.renderer.materials` mirror (meshgraph.render.lighting)."""

from ....render.lighting import Materials  # noqa: F401
from .utils import TensorProperties  # noqa: F401
