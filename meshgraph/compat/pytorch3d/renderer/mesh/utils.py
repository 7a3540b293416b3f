"""`pytorch3d.renderer.mesh.utils` mirror: the two helpers PyTorch3D's rasterizer tests use."""

from .....ops.interpolate_face_attributes import clip_barycentric_coords as _clip_barycentric_coordinates  # noqa: F401
from .....ops.interpolate_face_attributes import interpolate_zbuf as _interpolate_zbuf  # noqa: F401

# --- textures (issue 14): the rectangle packing TexturesUV.join_scene uses
from .....render.textures import (  # noqa: F401,E402
    PackedRectangle,
    PackedRectangles,
    Rectangle,
    _place_right_of_skyline as _try_place_rectangle,
    _Unplaced as _UnplacedRectangle,
    pack_rectangles,
    pack_unique_rectangles,
)
# --- end textures
