"""`pytorch3d.renderer` mirror: cameras, mesh and point rasterizers, renderers, compositors, the shaders, lights,
materials and textures, and the blending functions. Implicit, splatting and pulsar rendering are not implemented
(their names are absent)."""

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

# --- textures, lights, shading (issue 14)
from .lighting import AmbientLights, DirectionalLights, PointLights, diffuse, specular  # noqa: E402
from .materials import Materials  # noqa: E402
from .mesh import (  # noqa: E402
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    SoftGouraudShader,
    SoftPhongShader,
    Textures,
    TexturesAtlas,
    TexturesUV,
    TexturesVertex,
    gouraud_shading,
    phong_shading,
)
# --- end textures, lights, shading

__all__ = [k for k in globals() if not k.startswith("_") and k not in ("blending", "camera_utils", "cameras",
                                                                       "mesh", "points", "utils", "lighting",
                                                                       "materials")]

# --- implicit rendering (issue 16)
from .implicit import (  # noqa: E402
    AbsorptionOnlyRaymarcher,
    EmissionAbsorptionRaymarcher,
    GridRaysampler,
    HarmonicEmbedding,
    HeterogeneousRayBundle,
    ImplicitRenderer,
    MonteCarloRaysampler,
    MultinomialRaysampler,
    NDCGridRaysampler,
    NDCMultinomialRaysampler,
    RayBundle,
    ray_bundle_to_ray_points,
    ray_bundle_variables_to_ray_points,
)

__all__ += [
    "AbsorptionOnlyRaymarcher", "EmissionAbsorptionRaymarcher", "GridRaysampler", "HarmonicEmbedding",
    "HeterogeneousRayBundle", "ImplicitRenderer", "MonteCarloRaysampler", "MultinomialRaysampler",
    "NDCGridRaysampler", "NDCMultinomialRaysampler", "RayBundle", "ray_bundle_to_ray_points",
    "ray_bundle_variables_to_ray_points",
]
# --- end implicit rendering
# --- volumes (issue 16)
from .implicit._volume import VolumeRenderer, VolumeSampler  # noqa: E402

__all__ += ["VolumeRenderer", "VolumeSampler"]
# --- end volumes
