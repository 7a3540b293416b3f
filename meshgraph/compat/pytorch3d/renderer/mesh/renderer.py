"""`pytorch3d.renderer.mesh.renderer` mirror (meshgraph.render.renderer)."""

from .....render.renderer import MeshRenderer, MeshRendererWithFragments  # noqa: F401
