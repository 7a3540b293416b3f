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
from .blend import BlendParams, hard_blend, hard_rgb_blend, sigmoid_alpha_blend, sigmoid_alpha_rgba, softmax_blend, softmax_rgb_blend
from .clip import clip_faces_near
from .image import read_png, save_png, to_uint8
from .cameras import (
    CamerasBase,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    camera_position_from_spherical_angles,
    get_world_to_view_transform,
    join_cameras_as_batch,
    look_at_rotation,
    look_at_view_transform,
    rotate_on_spot,
)
from .rasterizer import (
    Fragments,
    MeshRasterizer,
    PointFragments,
    PointsRasterizationSettings,
    PointsRasterizer,
    RasterizationSettings,
)
from .renderer import MeshRenderer, MeshRendererWithFragments, PointsRenderer, SoftSilhouetteShader, VertexFeatureShader

__all__ = [
    "BlendParams",
    "Fragments",
    "MeshRasterizer",
    "MeshRenderer",
    "MeshRendererWithFragments",
    "PointFragments",
    "PointsRasterizationSettings",
    "PointsRasterizer",
    "PointsRenderer",
    "RasterizationSettings",
    "SoftSilhouetteShader",
    "VertexFeatureShader",
    "get_world_to_view_transform",
    "hard_rgb_blend",
    "join_cameras_as_batch",
    "rotate_on_spot",
    "sigmoid_alpha_rgba",
    "softmax_rgb_blend",
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
