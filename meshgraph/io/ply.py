"""PLY files with PyTorch3D's `load_ply` / `save_ply` contract (PyTorch3D 0.7).

`load_ply` returns (verts (V, 3) float32, faces (F, 3) int64). Polygons become fans (v0, v_i, v_i+1): when every
polygon has n corners, all first triangles come first, then all second ones (PyTorch3D's order); otherwise
polygon by polygon. Unlike PyTorch3D, a `tristrips` element (Stanford / Cyberware scans) is read too.
`save_ply` writes float32 x, y, z (+ nx, ny, nz) and uchar-counted int faces, ascii or binary.
"""

from __future__ import annotations

import io
import sys
import warnings

import numpy as np
import torch

from .mesh import tristrips_to_triangles
from .obj import _open


def _faces_from_lists(polygons) -> np.ndarray:
    lengths = np.fromiter((len(p) for p in polygons), dtype=np.int64, count=len(polygons))
    if lengths.size and lengths.min() < 3:
        raise ValueError("Faces must have at least 3 vertices.")
    if lengths.size and (lengths == lengths[0]).all():
        table = np.stack([np.asarray(p, dtype=np.int64) for p in polygons])
        return np.concatenate([table[:, [0, k, k + 1]] for k in range(1, table.shape[1] - 1)])
    tris = [(p[0], p[k], p[k + 1]) for p in polygons for k in range(1, len(p) - 1)]
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def _read(f, path_manager=None, extras: bool = False):
    """(verts (V, 3), faces (F, 3) or None without a face element, normals (V, 3) or None, colors (V, 3) or None)
    of a PLY file, float32 / int64, and with extras also (texture_u/texture_v uvs (V, 2) or None, header
    comments). Colors are red, green, blue; 1-byte (char / uchar) colors are scaled by 1/255, as in PyTorch3D."""
    from plyfile import PlyData

    with _open(f, "rb", path_manager) as handle:
        data = handle.read()
    if isinstance(data, str):
        data = data.encode("latin-1")
    if not data.startswith(b"ply"):
        raise ValueError("Invalid file header.")
    try:
        ply = PlyData.read(io.BytesIO(data))
    except Exception as e:  # plyfile's parse errors, truncated data
        raise ValueError(f"Invalid PLY file: {e}") from e
    names = [e.name for e in ply.elements]
    if "vertex" not in names:
        raise ValueError("The ply file has no vertex element.")
    vert = ply["vertex"].data
    fields = vert.dtype.names or ()
    if not {"x", "y", "z"} <= set(fields):
        raise ValueError("x, y, z vertex properties are needed.")

    def columns(props):
        return torch.from_numpy(np.stack([np.asarray(vert[p], dtype=np.float32) for p in props], axis=1).reshape(-1, len(props)))

    verts = columns(("x", "y", "z"))
    normals = columns(("nx", "ny", "nz")) if {"nx", "ny", "nz"} <= set(fields) else None
    colors = None
    if {"red", "green", "blue"} <= set(fields):
        colors = columns(("red", "green", "blue"))
        if all(vert[p].dtype.itemsize == 1 for p in ("red", "green", "blue")):
            colors = colors / 255.0
    parts = []
    for element in ("face", "tristrips"):
        if element not in names:
            continue
        rows = ply[element].data
        props = rows.dtype.names or ()
        if len(props) != 1:
            raise ValueError("Unexpected form of faces data.")
        lists = rows[props[0]]
        if element == "face":
            parts.append(_faces_from_lists(lists) if len(lists) else np.zeros((0, 3), np.int64))
        else:
            parts.extend(tristrips_to_triangles(np.asarray(s, dtype=np.int64)) for s in lists)
    faces = torch.from_numpy(np.concatenate(parts)).to(torch.int64) if parts else None
    if faces is not None and faces.numel() and (int(faces.min()) < 0 or int(faces.max()) >= verts.shape[0]):
        warnings.warn("Faces have invalid indices")
    if not extras:
        return verts, faces, normals, colors
    uvs = columns(("texture_u", "texture_v")) if {"texture_u", "texture_v"} <= set(fields) else None
    return verts, faces, normals, colors, uvs, list(ply.comments)


def load_ply(f, *, path_manager=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(verts (V, 3) float32, faces (F, 3) int64) of a PLY file: a path or a binary (or ascii text) file object."""
    verts, faces, _, _ = _read(f, path_manager)
    return verts, faces if faces is not None else torch.zeros((0, 3), dtype=torch.int64)


def _check_shapes(verts, faces, verts_normals) -> None:
    if len(verts) and not (verts.dim() == 2 and verts.size(1) == 3):
        raise ValueError("Argument 'verts' should either be empty or of shape (num_verts, 3).")
    if faces is not None and len(faces) and not (faces.dim() == 2 and faces.size(1) == 3):
        raise ValueError("Argument 'faces' should either be empty or of shape (num_faces, 3).")
    if verts_normals is not None and len(verts_normals) and not (
        verts_normals.dim() == 2 and verts_normals.size(1) == 3 and verts_normals.size(0) == verts.size(0)
    ):
        raise ValueError("Argument 'verts_normals' should either be empty or of shape (num_verts, 3).")


def _write(f, verts, faces, verts_normals, verts_colors, ascii: bool, decimal_places, colors_as_uint8: bool,
           path_manager=None) -> None:
    """PLY bytes as PyTorch3D writes them: float32 x y z [nx ny nz] [red green blue as float32 or uchar],
    then uchar-counted int32 triangles (no face element without faces or without vertices)."""
    out = io.BytesIO()
    fmt = "ascii" if ascii else ("binary_big_endian" if sys.byteorder == "big" else "binary_little_endian")
    header = [f"ply\nformat {fmt} 1.0\nelement vertex {verts.shape[0]}\n",
              "property float x\nproperty float y\nproperty float z\n"]
    if verts_normals is not None:
        header.append("property float nx\nproperty float ny\nproperty float nz\n")
    if verts_colors is not None:
        kind = "uchar" if colors_as_uint8 else "float"
        header.append("".join(f"property {kind} {c}\n" for c in ("red", "green", "blue")))
    if len(verts) and faces is not None:
        header.append(f"element face {faces.shape[0]}\nproperty list uchar int vertex_index\n")
    header.append("end_header\n")
    out.write("".join(header).encode("ascii"))
    if not len(verts):
        warnings.warn("Empty 'verts' provided")
    else:
        fields = [("verts", np.float32, 3)]
        if verts_normals is not None:
            fields.append(("normals", np.float32, 3))
        if verts_colors is not None:
            fields.append(("colors", np.uint8 if colors_as_uint8 else np.float32, 3))
        rec = np.zeros(verts.shape[0], dtype=fields)
        rec["verts"] = verts.detach().cpu().numpy()
        if verts_normals is not None:
            rec["normals"] = verts_normals.detach().cpu().numpy()
        if verts_colors is not None:
            c = verts_colors.detach().cpu().numpy()
            rec["colors"] = np.rint(c * 255) if colors_as_uint8 else c
        if ascii:
            num = "%f" if decimal_places is None else f"%.{decimal_places}f"
            formats = [" ".join([num] * 3)] * (1 + (verts_normals is not None))
            if verts_colors is not None:
                formats.append("%d %d %d" if colors_as_uint8 else " ".join([num] * 3))
            line = " ".join(formats) + "\n"
            for row in rec:
                out.write((line % tuple(v for part in row for v in part)).encode("ascii"))
        else:
            out.write(rec.tobytes())
        if faces is not None and len(faces):
            tri = faces.detach().cpu().numpy()
            if int(tri.min()) < 0 or int(tri.max()) >= len(verts):
                warnings.warn("Faces have invalid indices")
            if ascii:
                np.savetxt(out, tri, fmt="3 %d %d %d")
            else:
                recs = np.zeros(len(tri), dtype=[("count", np.uint8), ("vertex_indices", np.uint32, 3)])
                recs["count"] = 3
                recs["vertex_indices"] = tri
                out.write(recs.tobytes())
    with _open(f, "wb", path_manager) as handle:
        handle.write(out.getvalue())


def save_ply(
    f,
    verts: torch.Tensor,
    faces: torch.Tensor | None = None,
    verts_normals: torch.Tensor | None = None,
    ascii: bool = False,
    decimal_places: int | None = None,
    path_manager=None,
) -> None:
    """Write a mesh (or, without faces, a point cloud) to a PLY file (PyTorch3D's `save_ply`)."""
    _check_shapes(verts, faces, verts_normals)
    _write(f, verts, faces, verts_normals, None, ascii, decimal_places, False, path_manager)


__all__ = ["load_ply", "save_ply"]
