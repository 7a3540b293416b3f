"""`pytorch3d.renderer.points.rasterize_points` mirror (meshgraph.ops.rasterize_points without its `lengths`)."""

from .....ops.rasterize_points import rasterize_points as _rasterize_points
from .....ops.rasterize_points import rasterize_points_python  # noqa: F401


def rasterize_points(pointclouds, image_size=256, radius=0.01, points_per_pixel: int = 8, bin_size=None,
                     max_points_per_bin=None):
    """PyTorch3D's signature of meshgraph.ops.rasterize_points (see there); idx is int32 as in PyTorch3D."""
    idx, zbuf, dists = _rasterize_points(pointclouds, image_size, radius, points_per_pixel, bin_size,
                                         max_points_per_bin)
    return idx.int(), zbuf, dists
