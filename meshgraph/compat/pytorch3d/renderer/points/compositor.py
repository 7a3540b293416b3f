"""`pytorch3d.renderer.points.compositor` mirror (meshgraph.ops.composite_points)."""

from .....ops.composite_points import AlphaCompositor, NormWeightedCompositor  # noqa: F401
