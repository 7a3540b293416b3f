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
from .fisheye import FishEyeCameras
from .volume_renderer import VolumeRenderer, VolumeSampler
from .camera_conversions import cameras_from_opencv_projection, opencv_from_cameras_projection
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
    "FishEyeCameras",
    "VolumeRenderer",
    "VolumeSampler",
    "cameras_from_opencv_projection",
    "opencv_from_cameras_projection",
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

# --- textures, lights, shading (issue 14)
from .lighting import AmbientLights, DirectionalLights, Materials, PointLights, diffuse, specular  # noqa: E402
from .shader import (  # noqa: E402
    HardDepthShader,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    ShaderBase,
    SoftDepthShader,
    SoftGouraudShader,
    SoftPhongShader,
    TexturedSoftPhongShader,
)
from .shading import flat_shading, gouraud_shading, phong_shading  # noqa: E402
from .textures import Textures, TexturesAtlas, TexturesBase, TexturesUV, TexturesVertex  # noqa: E402

__all__ += [
    "AmbientLights", "DirectionalLights", "Materials", "PointLights", "diffuse", "specular",
    "HardDepthShader", "HardFlatShader", "HardGouraudShader", "HardPhongShader", "ShaderBase", "SoftDepthShader",
    "SoftGouraudShader", "SoftPhongShader", "TexturedSoftPhongShader",
    "flat_shading", "gouraud_shading", "phong_shading",
    "Textures", "TexturesAtlas", "TexturesBase", "TexturesUV", "TexturesVertex",
]
# --- end textures, lights, shading

# --- transparency and one-pass blending (issue 14)
from .blend import alpha_blend, alpha_rgb_blend, alpha_weights, blend_with_weights, slot_alphas, softmax_weights  # noqa: E402

__all__ += ["alpha_blend", "alpha_rgb_blend", "alpha_weights", "blend_with_weights", "slot_alphas", "softmax_weights"]
# --- end transparency and one-pass blending
