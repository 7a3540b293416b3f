"""`pytorch3d.renderer` mirror: cameras, mesh and point rasterizers, renderers, compositors, the silhouette
shader and the blending functions. Lit shaders, lights, materials, textures, implicit and pulsar rendering are
not implemented (their names are absent)."""

from .blending import BlendParams, hard_rgb_blend, sigmoid_alpha_blend, softmax_rgb_blend
from .camera_utils import join_cameras_as_batch, rotate_on_spot
from .cameras import (
    CamerasBase,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OpenGLOrthographicCameras,
    OpenGLPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    SfMOrthographicCameras,
    SfMPerspectiveCameras,
    camera_position_from_spherical_angles,
    get_world_to_view_transform,
    look_at_rotation,
    look_at_view_transform,
)
from .mesh import (
    MeshRasterizer,
    MeshRenderer,
    MeshRendererWithFragments,
    RasterizationSettings,
    SoftSilhouetteShader,
    rasterize_meshes,
)
from .points import (
    AlphaCompositor,
    NormWeightedCompositor,
    PointsRasterizationSettings,
    PointsRasterizer,
    PointsRenderer,
    rasterize_points,
)
from .utils import TensorProperties, convert_to_tensors_and_broadcast, ndc_grid_sample, ndc_to_grid_sample_coords

__all__ = [k for k in globals() if not k.startswith("_") and k not in ("blending", "camera_utils", "cameras",
                                                                       "mesh", "points", "utils")]
