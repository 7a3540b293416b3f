"""`pytorch3d.renderer.lighting` mirror (meshgraph.render.lighting)."""

from ....render.lighting import AmbientLights, DirectionalLights, PointLights, diffuse, specular  # noqa: F401
from ....render.lighting import _check_rgb as _validate_light_properties  # noqa: F401
from .utils import TensorProperties, convert_to_tensors_and_broadcast  # noqa: F401
