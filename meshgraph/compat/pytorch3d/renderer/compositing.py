"""`pytorch3d.renderer.compositing` mirror (meshgraph.ops.composite_points)."""

from ....ops.composite_points import alpha_composite, norm_weighted_sum, weighted_sum  # noqa: F401
