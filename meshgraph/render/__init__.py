"""Differentiable rendering as a graph-to-image projection: cameras, point and mesh rasterizers, compositors.

Conventions are PyTorch3D's (see `meshgraph.render.cameras`), so `from pytorch3d.renderer import ...` code can swap
its imports. The layer that ties them together is `meshgraph.nn.GraphToImage`.
"""

from ..ops.composite_points import (
    AlphaCompositor,
    NormWeightedCompositor,
    WeightedSumCompositor,
    alpha_composite,
    composite_points,
    norm_weighted_sum,
    weighted_sum,
)
from ..ops.interpolate_face_attributes import interpolate_face_attributes, interpolate_vertex_features
from ..ops.rasterize_meshes import rasterize_meshes
from ..ops.rasterize_points import rasterize_points
from .blend import hard_blend, sigmoid_alpha_blend, softmax_blend
from .clip import clip_faces_near
from .image import read_png, save_png, to_uint8
from .cameras import (
    CamerasBase,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    camera_position_from_spherical_angles,
    look_at_rotation,
    look_at_view_transform,
)

__all__ = [
    "clip_faces_near",
    "hard_blend",
    "read_png",
    "save_png",
    "sigmoid_alpha_blend",
    "softmax_blend",
    "to_uint8",
    "AlphaCompositor",
    "NormWeightedCompositor",
    "WeightedSumCompositor",
    "alpha_composite",
    "composite_points",
    "norm_weighted_sum",
    "weighted_sum",
    "CamerasBase",
    "FoVOrthographicCameras",
    "FoVPerspectiveCameras",
    "OrthographicCameras",
    "PerspectiveCameras",
    "camera_position_from_spherical_angles",
    "look_at_rotation",
    "look_at_view_transform",
    "interpolate_face_attributes",
    "interpolate_vertex_features",
    "rasterize_meshes",
    "rasterize_points",
]
