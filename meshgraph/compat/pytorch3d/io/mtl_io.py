"""`pytorch3d.io.mtl_io` mirror: .mtl parsing, texture images and per-face texture atlases."""

from ....io.mtl import (
    _bilinear_interpolation_grid_sample,
    _bilinear_interpolation_vectorized,
    _load_texture_images,
    _parse_mtl,
    load_mtl,
    make_material_atlas,
    make_mesh_texture_atlas,
)

__all__ = ["load_mtl", "make_material_atlas", "make_mesh_texture_atlas"]
