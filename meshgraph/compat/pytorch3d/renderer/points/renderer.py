"""`pytorch3d.renderer.points.renderer` mirror (meshgraph.render.renderer)."""

from .....render.renderer import PointsRenderer  # noqa: F401
