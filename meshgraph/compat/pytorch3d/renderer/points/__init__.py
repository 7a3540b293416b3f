"""`pytorch3d.renderer.points` mirror (the names meshgraph has; no pulsar)."""

from .compositor import AlphaCompositor, NormWeightedCompositor
from .rasterize_points import rasterize_points
from .rasterizer import PointsRasterizationSettings, PointsRasterizer
from .renderer import PointsRenderer

__all__ = [
    "AlphaCompositor",
    "NormWeightedCompositor",
    "PointsRasterizationSettings",
    "PointsRasterizer",
    "PointsRenderer",
    "rasterize_points",
]
