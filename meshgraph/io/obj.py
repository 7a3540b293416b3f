"""OBJ files with PyTorch3D's `load_obj` / `save_obj` / `load_objs_as_meshes` contract (PyTorch3D 0.7).

`load_obj` returns `verts, faces, aux` with the named tuples PyTorch3D returns: faces (verts_idx, normals_idx,
textures_idx, materials_idx) and aux (normals, verts_uvs, material_colors, texture_images, texture_atlas).
Polygons become triangle fans (v0, v_i, v_i+1); indices are 1-based in the file (negative: relative to the end)
and 0-based here; a face corner without a normal / uv index gets -1. Materials (`mtllib`, `usemtl`) are read from
the .mtl file (`meshgraph.io.mtl`): colours (Ka, Kd, Ks, Ns) and `map_Kd` images (Pillow needed for those), and
`create_texture_atlas=True` builds PyTorch3D's per-face (F, R, R, 3) atlas from them.

`load_objs_as_meshes` gives Meshes with `TexturesUV` (the first texture image of each file) or, with
create_texture_atlas, `TexturesAtlas`; `save_obj` writes `vt` / `vn` corners and the texture as .mtl + .png.
Face indices outside the file's v / vt / vn lists warn (as in PyTorch3D) naming the file and line.
"""

from __future__ import annotations

import io
import os
import warnings
from collections import namedtuple
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

Faces = namedtuple("Faces", "verts_idx normals_idx textures_idx materials_idx")
Properties = namedtuple("Properties", "normals verts_uvs material_colors texture_images texture_atlas")


@contextmanager
def _open(f, mode: str, path_manager=None):
    """A path (str, bytes, Path) opened with `open` or the path manager's `open`; a file object as it is."""
    if isinstance(f, (str, bytes, os.PathLike)):
        path = os.fsdecode(f)
        opener = path_manager.open if path_manager is not None else open
        with opener(path, mode) as handle:
            yield handle
    else:
        yield f


def _exists(path: str, path_manager=None) -> bool:
    return path_manager.exists(path) if path_manager is not None else os.path.exists(path)


def _lines(handle) -> list[str]:
    lines = [line.strip() for line in handle]
    return [line.decode("utf-8") if isinstance(line, bytes) else line for line in lines]


def _table(rows: list, cols: int, dtype: torch.dtype, device) -> torch.Tensor:
    if not rows:
        return torch.zeros((0, cols), dtype=dtype, device=device)
    return torch.tensor(rows, dtype=dtype, device=device).reshape(-1, cols)


def _resolve_indices(rows: list, count: int, device, what: str, lines: list | None = None, name: str = "") -> torch.Tensor:
    """1-based (or negative, end-relative) OBJ indices -> 0-based int64; 0 marks a missing index and gives -1."""
    t = _table(rows, 3, torch.int64, device)
    missing = t == 0
    t = torch.where(t > 0, t - 1, t + count)
    t[missing] = -1
    bad = (t[~missing] < 0) | (t[~missing] >= count)
    if bool(bad.any()):  # PyTorch3D warns and returns the indices
        where = ""
        if lines:
            row = int(torch.nonzero(((t < 0) | (t >= count)) & ~missing)[0, 0])
            where = f" ({name}, line {lines[row]})"
        warnings.warn(f"Faces have invalid indices: a {what} index is outside [1, {count}]{where}")
    return t


def _parse(lines: list[str], name: str = "<file object>"):
    verts, normals, uvs = [], [], []
    f_verts, f_normals, f_uvs, f_materials, f_lines = [], [], [], [], []
    material_names: list[str] = []
    mtl_file = None
    material = -1
    for number, line in enumerate(lines, 1):
        try:
            material = _parse_line(line, verts, normals, uvs, f_verts, f_normals, f_uvs, f_materials, f_lines,
                                   material_names, material, number)
        except ValueError as e:
            raise ValueError(f"{e} ({name}, line {number})") from None
        if line.startswith("mtllib"):
            tokens = line.split()
            if len(tokens) < 2:
                raise ValueError(f"material file name is not specified ({name}, line {number})")
            mtl_file = line[len(tokens[0]):].strip()
    return verts, normals, uvs, f_verts, f_normals, f_uvs, f_materials, material_names, mtl_file, f_lines


def _parse_line(line, verts, normals, uvs, f_verts, f_normals, f_uvs, f_materials, f_lines, material_names,
                material, number):
    """Add one OBJ line to the lists; returns the current material index."""
    tokens = line.split()
    if not tokens:
        return material
    key = tokens[0]
    if key == "v":
        if len(tokens) < 4:
            raise ValueError(f"Vertex {tokens[1:]} does not have 3 values. Line: {line}")
        verts.append([float(x) for x in tokens[1:4]])
    elif key == "vt":
        if len(tokens) < 3:
            raise ValueError(f"Texture {tokens[1:]} does not have 2 values. Line: {line}")
        uvs.append([float(x) for x in tokens[1:3]])
    elif key == "vn":
        if len(tokens) < 4:
            raise ValueError(f"Normal {tokens[1:]} does not have 3 values. Line: {line}")
        normals.append([float(x) for x in tokens[1:4]])
    elif key == "f":
        corners = [c.split("/") for c in tokens[1:]]
        if any(len(c) > 3 for c in corners):
            raise ValueError(f"Face vertices can only have 3 properties. Line: {line}")
        vi = [int(c[0]) for c in corners]
        ti = [int(c[1]) for c in corners if len(c) > 1 and c[1] != ""]
        ni = [int(c[2]) for c in corners if len(c) > 2 and c[2] != ""]
        for idx in (ti, ni):
            if idx and len(idx) != len(vi):
                raise ValueError(f"Face {tokens[1:]} is an illegal statement. Vertex properties are inconsistent. Line: {line}")
        ti = ti or [0] * len(vi)
        ni = ni or [0] * len(vi)
        for k in range(1, len(vi) - 1):  # fan around the first corner
            f_verts.append((vi[0], vi[k], vi[k + 1]))
            f_uvs.append((ti[0], ti[k], ti[k + 1]))
            f_normals.append((ni[0], ni[k], ni[k + 1]))
            f_materials.append(material)
            f_lines.append(number)
    elif key == "usemtl" and len(tokens) > 1:
        if tokens[1] not in material_names:
            material_names.append(tokens[1])
        material = material_names.index(tokens[1])
    return material


def _source_name(f) -> str:
    if isinstance(f, (str, bytes, os.PathLike)):
        return os.fsdecode(f)
    return str(getattr(f, "name", "<file object>"))


def load_obj(
    f,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: str | None = "repeat",
    device="cpu",
    path_manager=None,
):
    """Read an OBJ file (a path or a file object) into `verts (V, 3), faces, aux` (PyTorch3D's `load_obj`).

    Returns:
        verts: (V, 3) float32.
        faces: Faces(verts_idx (F, 3) int64, normals_idx (F, 3) int64 with -1 where a corner has none,
            textures_idx (F, 3) likewise, materials_idx (F,) int64, -1 before any `usemtl`).
        aux: Properties(normals (N, 3) or None, verts_uvs (T, 2) or None, material_colors dict or None,
            texture_images dict of (H, W, 3) float32 images or None, texture_atlas (F, R, R, 3) when
            create_texture_atlas else None).
    """
    from .mtl import load_mtl, make_mesh_texture_atlas

    if texture_wrap is not None and texture_wrap not in ("repeat", "clamp"):
        raise ValueError(f"texture_wrap must be one of ['repeat', 'clamp'] or None, got {texture_wrap}")
    data_dir = os.path.dirname(os.fsdecode(f)) if isinstance(f, (str, bytes, os.PathLike)) else "./"
    name = _source_name(f)
    with _open(f, "r", path_manager) as handle:
        lines = _lines(handle)
    parsed = _parse(lines, name)
    verts, normals, uvs, f_verts, f_normals, f_uvs, f_materials, material_names, mtl_file, f_lines = parsed
    verts = _table(verts, 3, torch.float32, device)
    normals = _table(normals, 3, torch.float32, device)
    uvs = _table(uvs, 2, torch.float32, device)
    verts_idx = _resolve_indices(f_verts, verts.shape[0], device, "vertex", f_lines, name)
    normals_idx = _resolve_indices(f_normals, normals.shape[0], device, "normal", f_lines, name) if f_normals else []
    uvs_idx = _resolve_indices(f_uvs, uvs.shape[0], device, "texture", f_lines, name) if f_uvs else []
    materials_idx = torch.tensor(f_materials, dtype=torch.int64, device=device) if f_materials else []

    colors = images = None
    if load_textures:
        if mtl_file is None:
            warnings.warn("No mtl file provided")
        else:
            path = os.path.join(data_dir, mtl_file)
            if not _exists(path, path_manager):
                warnings.warn(f"Mtl file does not exist: {path}")
            else:
                colors, images = load_mtl(path, material_names=material_names, data_dir=data_dir, device=device,
                                          path_manager=path_manager)
    if colors and not material_names:
        material_names.append(next(iter(colors)))  # the one material of the file applies to every face
        if torch.is_tensor(materials_idx):
            materials_idx.clamp_(min=0)
    atlas = None
    if create_texture_atlas:
        idx = materials_idx.cpu().numpy() if torch.is_tensor(materials_idx) else np.zeros(0, np.int64)
        face_material_names = np.array([""] + material_names)[idx + 1]
        faces_uvs = uvs_idx if torch.is_tensor(uvs_idx) else torch.full((len(f_verts), 3), -1, dtype=torch.int64,
                                                                          device=device)
        try:
            atlas = make_mesh_texture_atlas(colors, images, face_material_names, faces_uvs, uvs, texture_atlas_size,
                                            texture_wrap)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
    faces = Faces(verts_idx=verts_idx, normals_idx=normals_idx, textures_idx=uvs_idx, materials_idx=materials_idx)
    aux = Properties(
        normals=normals if len(normals) else None,
        verts_uvs=uvs if len(uvs) else None,
        material_colors=colors,
        texture_images=images,
        texture_atlas=atlas,
    )
    return verts, faces, aux


def load_objs_as_meshes(
    files: list,
    device=None,
    load_textures: bool = True,
    create_texture_atlas: bool = False,
    texture_atlas_size: int = 4,
    texture_wrap: str | None = "repeat",
    path_manager=None,
):
    """Meshes holding one mesh per OBJ file (PyTorch3D's `load_objs_as_meshes`), on `device`.

    Each mesh gets `TexturesAtlas` (create_texture_atlas) or, when its file has a texture image, `TexturesUV`
    with the first image, the file's vt list and the faces' vt indices; material colours and normals are dropped.
    """
    from ..render.textures import TexturesAtlas, TexturesUV
    from ..structures import Meshes, join_meshes_as_batch

    meshes = []
    for path in files:
        verts, faces, aux = load_obj(
            path, load_textures=load_textures, create_texture_atlas=create_texture_atlas,
            texture_atlas_size=texture_atlas_size, texture_wrap=texture_wrap, path_manager=path_manager,
        )
        tex = None
        if create_texture_atlas:
            tex = TexturesAtlas(atlas=[aux.texture_atlas.to(device)])
        elif aux.texture_images:
            if aux.verts_uvs is None or not torch.is_tensor(faces.textures_idx):
                raise ValueError(f"{_source_name(path)}: the material has a texture image but the faces have no "
                                 "texture (vt) coordinates")
            bad = (faces.textures_idx < 0) | (faces.textures_idx >= len(aux.verts_uvs))
            if bool(bad.any()):
                raise ValueError(f"{_source_name(path)}: a face has no texture (vt) index or one outside "
                                 f"[1, {len(aux.verts_uvs)}]; TexturesUV needs one per corner")
            image = next(iter(aux.texture_images.values())).to(device)[None]
            tex = TexturesUV(verts_uvs=[aux.verts_uvs.to(device)], faces_uvs=[faces.textures_idx.to(device)],
                             maps=image)
        meshes.append(Meshes(verts=[verts.to(device)], faces=[faces.verts_idx.to(device)], textures=tex))
    return meshes[0] if len(meshes) == 1 else join_meshes_as_batch(meshes)


def _fmt(decimal_places: int | None) -> str:
    return "%f" if decimal_places is None else f"%.{decimal_places}f"


def save_obj(
    f,
    verts: torch.Tensor,
    faces: torch.Tensor,
    decimal_places: int | None = None,
    path_manager=None,
    *,
    normals: torch.Tensor | None = None,
    faces_normals_idx: torch.Tensor | None = None,
    verts_uvs: torch.Tensor | None = None,
    faces_uvs: torch.Tensor | None = None,
    texture_map: torch.Tensor | None = None,
) -> None:
    """Write a mesh to an OBJ file (PyTorch3D's `save_obj`): `v`, optional `vn` / `vt`, and 1-based `f` lines.

    normals with faces_normals_idx write `vn` lines and `f a//n`; verts_uvs, faces_uvs and a (H, W, 3)
    texture_map in [0, 1] together write `vt` lines, `f a/t` and the map as <name>.png with a <name>.mtl beside f.
    """
    if len(verts) and (verts.dim() != 2 or verts.size(1) != 3):
        raise ValueError("Argument 'verts' should either be empty or of shape (num_verts, 3).")
    if len(faces) and (faces.dim() != 2 or faces.size(1) != 3):
        raise ValueError("Argument 'faces' should either be empty or of shape (num_faces, 3).")
    if (normals is None) != (faces_normals_idx is None):
        raise ValueError("normals and faces_normals_idx must both be None or neither.")
    if faces_normals_idx is not None and (faces_normals_idx.dim() != 2 or faces_normals_idx.size(1) != 3):
        raise ValueError("Argument 'faces_normals_idx' should be of shape (num_faces, 3).")
    if normals is not None and (normals.dim() != 2 or normals.size(1) != 3):
        raise ValueError("Argument 'normals' should be of shape (num_normals, 3).")
    if faces_uvs is not None and (faces_uvs.dim() != 2 or faces_uvs.size(1) != 3):
        raise ValueError("Argument 'faces_uvs' should be of shape (num_faces, 3).")
    if verts_uvs is not None and (verts_uvs.dim() != 2 or verts_uvs.size(1) != 2):
        raise ValueError("Argument 'verts_uvs' should be of shape (num_verts, 2).")
    if texture_map is not None and (texture_map.dim() != 3 or texture_map.size(2) != 3):
        raise ValueError("Argument 'texture_map' should be of shape (H, W, 3).")
    # uvs are written with a texture only (PyTorch3D: faces_uvs, verts_uvs and texture_map all given)
    with_texture = faces_uvs is not None and verts_uvs is not None and texture_map is not None
    with_normals = normals is not None
    out = io.StringIO()
    stem = Path(os.fsdecode(f)).stem if isinstance(f, (str, bytes, os.PathLike)) else "mesh"
    if with_texture:
        out.write(f"\nmtllib {stem}.mtl\nusemtl mesh\n\n")
    if not (len(verts) or len(faces)):
        warnings.warn("Empty 'verts' and 'faces' arguments provided")
    else:
        num = _fmt(decimal_places)
        if len(verts):
            np.savetxt(out, verts.detach().cpu().numpy(), fmt=f"v {num} {num} {num}")
        if with_normals:
            np.savetxt(out, normals.detach().cpu().numpy(), fmt=f"vn {num} {num} {num}")
        if with_texture and len(verts_uvs):
            np.savetxt(out, verts_uvs.detach().cpu().numpy(), fmt=f"vt {num} {num}")
        if bool((faces >= verts.shape[0]).any()) or bool((faces < 0).any()):
            warnings.warn("Faces have invalid indices")
        if len(faces):
            cols, pattern = [faces.detach().cpu().numpy().astype(np.int64) + 1], "%d"
            if with_texture and with_normals:
                cols += [faces_uvs.cpu().numpy() + 1, faces_normals_idx.cpu().numpy() + 1]
                pattern = "%d/%d/%d"
            elif with_normals:
                cols += [faces_normals_idx.cpu().numpy() + 1]
                pattern = "%d//%d"
            elif with_texture:
                cols += [faces_uvs.cpu().numpy() + 1]
                pattern = "%d/%d"
            table = np.stack(cols, axis=2).reshape(len(faces), -1)  # (F, 3 * k): corner by corner
            lines = io.StringIO()
            np.savetxt(lines, table, fmt="f " + " ".join([pattern] * 3))
            out.write(lines.getvalue()[:-1])  # no newline after the last face, as PyTorch3D writes it
    with _open(f, "w", path_manager) as handle:
        handle.write(out.getvalue())
    if with_texture:
        from PIL import Image

        base = os.path.splitext(os.fsdecode(f))[0]
        image = (texture_map.detach().cpu() * 255.0).numpy().astype(np.uint8)
        with _open(base + ".png", "wb", path_manager) as handle:
            Image.fromarray(image).save(handle, format="PNG")
        with _open(base + ".mtl", "w", path_manager) as handle:
            handle.write(f"newmtl mesh\nmap_Kd {stem}.png\n")


__all__ = ["Faces", "Properties", "load_obj", "load_objs_as_meshes", "save_obj"]

