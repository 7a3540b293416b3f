"""MTL material files and per-face texture atlases with PyTorch3D 0.7's `pytorch3d.io.mtl_io` contract.

`_parse_mtl` reads `newmtl`, `Ka`, `Kd`, `Ks`, `Ns` and `map_Kd` (the rest of the line: names may hold spaces);
`load_mtl` keeps the materials the OBJ uses (the only one of the file when it uses none) and reads their `map_Kd`
images with Pillow as float (H, W, 3) RGB in [0, 1]. A missing image is a warning (as in PyTorch3D); a malformed
colour line, or a colour before any `newmtl`, is a ValueError naming the file and the line.

`make_mesh_texture_atlas` builds PyTorch3D's (F, R, R, 3) atlas: white, then each face's material diffuse colour,
then the material's image sampled at the centroids of the R x R sub-triangles of the face's UV triangle
(SoftRas' layout, see `make_material_atlas`), with the UVs wrapped (`repeat`), clamped (`clamp`) or left (None).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from .obj import _exists, _open

_COLORS = {"Ka": ("ambient_color", 3), "Kd": ("diffuse_color", 3), "Ks": ("specular_color", 3), "Ns": ("shininess", 1)}


def _name(f) -> str:
    return os.fsdecode(f) if isinstance(f, (str, bytes, os.PathLike)) else getattr(f, "name", "<file object>")


def _parse_mtl(f, path_manager=None, device="cpu") -> tuple[dict, dict]:
    """(material -> {ambient_color, diffuse_color, specular_color (3,), shininess (1,)}, material -> image file
    name as written) of an .mtl file."""
    properties: dict[str, dict[str, torch.Tensor]] = {}
    files: dict[str, str] = {}
    name = None
    with _open(f, "r", path_manager) as handle:
        for number, line in enumerate(handle, 1):
            if isinstance(line, bytes):
                line = line.decode("utf-8")
            line = line.strip()
            tokens = line.split()
            if not tokens:
                continue
            key = tokens[0]
            if key == "newmtl":
                if len(tokens) < 2:
                    raise ValueError(f"{_name(f)}:{number}: newmtl without a material name. Line: {line}")
                name = tokens[1]
                properties[name] = {}
            elif key == "map_Kd":
                files[name if name is not None else ""] = line[7:]
            elif key in _COLORS:
                prop, count = _COLORS[key]
                if name is None:
                    raise ValueError(f"{_name(f)}:{number}: {key} before any newmtl. Line: {line}")
                try:
                    values = np.array(tokens[1 : 1 + count]).astype(np.float32)
                except ValueError:
                    values = None
                if values is None or values.size == 0 or (count == 3 and values.size != 3):
                    raise ValueError(f"{_name(f)}:{number}: {key} needs {count} number(s). Line: {line}")
                properties[name][prop] = torch.from_numpy(values).to(device)
    return properties, files


def _read_image(path: str, path_manager=None) -> torch.Tensor:
    """(H, W, 3) float32 RGB in [0, 1] of an image file (Pillow)."""
    from PIL import Image

    with _open(path, "rb", path_manager) as handle:
        try:
            image = Image.open(handle)
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        except Exception as e:  # Pillow's UnidentifiedImageError, truncated data
            raise ValueError(f"{path}: cannot read the texture image ({type(e).__name__}: {e})") from e
    return torch.from_numpy(np.ascontiguousarray(pixels))


def _load_texture_images(material_names, data_dir, material_properties, texture_files, path_manager=None):
    used = list(material_names)
    if not used and material_properties:
        if len(material_properties) > 1:
            raise ValueError("Multiple materials but no usemtl declarations in the obj file")
        used.append(next(iter(material_properties)))
    colors, images = {}, {}
    for m in used:
        if m in texture_files:
            path = os.path.join(data_dir, texture_files[m])
            if _exists(path, path_manager):
                images[m] = _read_image(path, path_manager)
            else:
                warnings.warn(f"Texture file does not exist: {path}")
        if m in material_properties:
            colors[m] = material_properties[m]
    return colors, images


def load_mtl(f, *, material_names: list[str], data_dir: str, device="cpu", path_manager=None) -> tuple[dict, dict]:
    """(material colours, material -> (H, W, 3) image) for the materials of `material_names` (PyTorch3D's
    `load_mtl`); images are looked up in data_dir."""
    properties, files = _parse_mtl(f, path_manager, device)
    return _load_texture_images(material_names, data_dir, properties, files, path_manager)


def _bilinear_interpolation_vectorized(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """image (H, W, D) read bilinearly at grid (N, R, R, 2) of (u, v) in [0, 1] (u along W, v along H, texel
    centres at 0 and 1): (N, R, R, D). SoftRas' formula: corners at floor and floor + 1 (no bounds handling, as
    in PyTorch3D: a coordinate of exactly 1 reads one texel past the edge)."""
    H, W, _ = image.shape
    g = grid * torch.tensor([W - 1, H - 1], dtype=grid.dtype, device=grid.device)
    w1 = g - g.int()
    w0 = 1.0 - w1
    x0 = g[..., 0].to(torch.int64)
    y0 = g[..., 1].to(torch.int64)
    x1, y1 = x0 + 1, y0 + 1
    return (image[y0, x0] * (w0[..., 0] * w0[..., 1])[..., None]
            + image[y1, x0] * (w0[..., 0] * w1[..., 1])[..., None]
            + image[y0, x1] * (w1[..., 0] * w0[..., 1])[..., None]
            + image[y1, x1] * (w1[..., 0] * w1[..., 1])[..., None])


def _bilinear_interpolation_grid_sample(image: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """image (H, W, D) read bilinearly at grid (N, R, R, 2) of (u, v) in [0, 1]: (N, R, R, D), through
    `grid_sample` (align_corners=True, zero padding outside)."""
    N = grid.shape[0]
    planes = image.permute(2, 0, 1)[None].expand(N, -1, -1, -1)
    return F.grid_sample(planes, grid * 2.0 - 1.0, mode="bilinear", align_corners=True).permute(0, 2, 3, 1)


def _atlas_barycentrics(R: int, device) -> torch.Tensor:
    """(R, R, 3) barycentric weights of the R x R cells: cell (y, x) with x + y < R is the sub-triangle whose
    centroid is ((x, y) + 1/3) / R; the others mirror it, ((R - 1 - (x, y)) + 2/3) / R; w2 = 1 - w0 - w1."""
    r = torch.arange(R, device=device, dtype=torch.float32)
    Y, X = torch.meshgrid(r, r, indexing="ij")
    xy = torch.stack([X, Y], dim=-1)
    below = (xy.sum(-1) < R)[..., None]
    w01 = torch.where(below, (xy + 1.0 / 3.0) / R, ((R - 1.0 - xy) + 2.0 / 3.0) / R)
    return torch.cat([w01, 1 - w01.sum(-1, keepdim=True)], dim=-1)


def make_material_atlas(image: torch.Tensor, faces_verts_uvs: torch.Tensor, texture_size: int) -> torch.Tensor:
    """(F, R, R, 3) texels of one image (H, W, 3, already flipped so row 0 is v = 0) for the UV triangles
    faces_verts_uvs (F, 3, 2): cell (y, x) reads the image at the UV point of its barycentric weights."""
    bary = _atlas_barycentrics(texture_size, faces_verts_uvs.device).to(faces_verts_uvs.dtype)
    uv = (faces_verts_uvs[:, None, None] * bary[..., None]).sum(-2)  # (F, R, R, 2)
    return _bilinear_interpolation_grid_sample(image, uv)


def make_mesh_texture_atlas(material_properties, texture_images, face_material_names, faces_uvs, verts_uvs,
                            texture_size: int, texture_wrap: str | None) -> torch.Tensor:
    """(F, R, R, 3) per-face texture atlas (PyTorch3D's `make_mesh_texture_atlas`).

    Args:
        material_properties: material -> colours (`diffuse_color` fills its faces).
        texture_images: material -> (H, W, 3) image (sampled over its faces' UV triangles).
        face_material_names: (F,) numpy array of material names, "" for faces without one (they stay white).
        faces_uvs: (F, 3) int64 indices into verts_uvs. verts_uvs: (T, 2).
        texture_size: R. texture_wrap: "repeat" (UVs mod 1, with a warning when some lie outside [0, 1]),
            "clamp" or None.
    """
    R = int(texture_size)
    F_ = faces_uvs.shape[0]
    atlas = torch.ones((F_, R, R, 3), dtype=torch.float32, device=faces_uvs.device)
    if not material_properties and not texture_images:
        return atlas
    for name, props in material_properties.items():
        mask = torch.from_numpy(face_material_names == name).to(faces_uvs.device)
        if bool(mask.any()) and "diffuse_color" in props:
            atlas[mask] = props["diffuse_color"].to(atlas)[None, :]
    if len(verts_uvs) == 0:
        return atlas
    if faces_uvs.numel() and (int(faces_uvs.min()) < 0 or int(faces_uvs.max()) >= len(verts_uvs)):
        raise ValueError(f"texture atlas: faces use texture (vt) indices outside [0, {len(verts_uvs)}) "
                         "(faces without vt indices, or out-of-range ones)")
    uvs = verts_uvs[faces_uvs]
    if texture_wrap == "repeat":
        if bool((uvs > 1).any()) or bool((uvs < 0).any()):
            warnings.warn("Texture UV coordinates outside the range [0, 1]. "
                          "The integer part will be ignored to form a repeating pattern.")
            uvs = uvs % 1
    elif texture_wrap == "clamp":
        uvs = uvs.clamp(0.0, 1.0)
    for name, image in list(texture_images.items()):
        image = torch.flip(image[:, :, :3], [0]).type_as(uvs)
        mask = torch.from_numpy(face_material_names == name).to(uvs.device)
        atlas[mask] = make_material_atlas(image, uvs[mask], R).to(atlas)
    return atlas


__all__ = ["load_mtl", "make_material_atlas", "make_mesh_texture_atlas"]
