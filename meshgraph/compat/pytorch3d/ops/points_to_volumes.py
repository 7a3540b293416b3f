"""`pytorch3d.ops.points_to_volumes` mirror (kernels: meshgraph.ops.add_points_to_volumes)."""

from __future__ import annotations

from ....ops.add_points_to_volumes import add_points_features_to_volume_densities_features
from ....ops.add_points_to_volumes import add_points_to_volumes as _add_points_to_volumes
from ....volumes import add_pointclouds_to_volumes


def _points_to_volumes(points_3d, points_features, volume_densities, volume_features, grid_sizes,
                       point_weight: float, mask, align_corners: bool, splat: bool):
    """PyTorch3D's private raw call: adds the votes into volume_densities / volume_features in place (as its
    kernel does; the addition itself is meshgraph's functional op, copied back) and returns them."""
    densities, features = _add_points_to_volumes(points_3d, points_features, volume_densities, volume_features,
                                                 grid_sizes, mask, point_weight, align_corners,
                                                 "trilinear" if splat else "nearest")
    volume_densities.copy_(densities)
    volume_features.copy_(features)
    return volume_densities, volume_features


__all__ = ["add_pointclouds_to_volumes", "add_points_features_to_volume_densities_features"]
