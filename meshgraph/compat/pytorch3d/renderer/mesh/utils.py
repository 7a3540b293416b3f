"""`pytorch3d.renderer.mesh.utils` mirror: the two helpers PyTorch3D's rasterizer tests use."""

from .....ops.interpolate_face_attributes import clip_barycentric_coords as _clip_barycentric_coordinates  # noqa: F401
from .....ops.interpolate_face_attributes import interpolate_zbuf as _interpolate_zbuf  # noqa: F401
