"""`pytorch3d.renderer.points.rasterizer` mirror (meshgraph.render.rasterizer)."""

from .....render.rasterizer import PointFragments, PointsRasterizationSettings, PointsRasterizer  # noqa: F401
