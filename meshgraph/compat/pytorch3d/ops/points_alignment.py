"""`pytorch3d.ops.points_alignment` mirror."""

from ....ops.points_alignment import (
    ICPSolution,
    SimilarityTransform,
    corresponding_points_alignment,
    iterative_closest_point,
)

__all__ = ["ICPSolution", "SimilarityTransform", "corresponding_points_alignment", "iterative_closest_point"]
