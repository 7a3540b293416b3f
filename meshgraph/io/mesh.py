"""load_mesh / save_mesh.

Parsing is done by well-kept libraries: trimesh's exchange loaders for OBJ, OFF and STL, plyfile for PLY. What
they lack is added here: PLY `tristrips` face elements (as in the Stanford/Cyberware scans) turned into
triangles, polygon fans, STL vertex welding, and validation of the result, so a malformed or truncated file
raises `MeshFileError` naming the file and the problem instead of crashing or returning a wrong mesh.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from ..graph import Graph

FORMATS = ("obj", "ply", "off", "stl")


class MeshFileError(ValueError):
    """A mesh file could not be read or written; the message names the file and what is wrong."""


def _format(path: Path, file_format: str | None) -> str:
    fmt = (file_format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise MeshFileError(f"{path}: unsupported mesh format {fmt!r} (supported: {', '.join(FORMATS)})")
    return fmt


def load_mesh(
    path: str | os.PathLike,
    *,
    file_format: str | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Graph:
    """Read a triangle mesh into a `Graph` (pos (V, 3), faces (F, 3), edges derived from the faces).

    Per-vertex data the file carries become vertex features: "normal" (V, 3) and, for PLY, "color" (V, C) and
    any other numeric vertex property by its name. Polygons are split into triangle fans; PLY `tristrips` are
    turned into triangles with the winding alternating along each strip, degenerate joins dropped.
    """
    path = Path(path)
    fmt = _format(path, file_format)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such mesh file")
    try:
        with open(path, "rb") as f:
            verts, faces, feats = {"obj": _read_obj, "ply": _read_ply, "off": _read_off, "stl": _read_stl}[fmt](f)
    except MeshFileError as e:
        raise MeshFileError(f"{path}: {e}") from None
    except ImportError:
        raise
    except Exception as e:  # anything a parser raises on a malformed file
        raise MeshFileError(f"{path}: malformed {fmt.upper()} file ({type(e).__name__}: {e})") from e
    verts = np.asarray(verts, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if verts.ndim != 2 or verts.shape[1] != 3:
        raise MeshFileError(f"{path}: vertices must have 3 coordinates, got shape {verts.shape}")
    if verts.shape[0] == 0:
        raise MeshFileError(f"{path}: the file holds no vertices")
    if not np.isfinite(verts).all():
        raise MeshFileError(f"{path}: vertex coordinates hold NaN or infinity")
    if faces.size and (faces.min() < 0 or faces.max() >= verts.shape[0]):
        raise MeshFileError(
            f"{path}: a face references vertex {int(faces.max() if faces.max() >= verts.shape[0] else faces.min())}, "
            f"but the file has {verts.shape[0]} vertices"
        )
    to = dict(device=device)
    vfeats = {}
    for k, v in feats.items():
        v = np.asarray(v)
        if v.shape[0] != verts.shape[0]:
            raise MeshFileError(f"{path}: vertex property {k!r} has {v.shape[0]} rows for {verts.shape[0]} vertices")
        t = torch.from_numpy(np.ascontiguousarray(v))
        vfeats[k] = (t.to(dtype) if t.is_floating_point() else t).to(**to)
    return Graph(
        torch.from_numpy(verts).to(dtype=dtype, **to), torch.from_numpy(faces).to(**to), vertex_features=vfeats
    )


# ---------------------------------------------------------------------- readers: (verts, faces, features)


def _trimesh_result(kwargs: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    if "geometry" in kwargs:  # a scene: one entry per object; concatenate
        parts = list(kwargs["geometry"].values())
        if not parts:
            raise MeshFileError("the file holds no geometry")
        verts, faces, normals, off = [], [], [], 0
        for p in parts:
            v = np.asarray(p.get("vertices", np.zeros((0, 3))), dtype=np.float64).reshape(-1, 3)
            verts.append(v)
            faces.append(np.asarray(p.get("faces", np.zeros((0, 3))), dtype=np.int64).reshape(-1, 3) + off)
            normals.append(p.get("vertex_normals"))
            off += v.shape[0]
        feats = {}
        if all(n is not None and len(n) == len(v) for n, v in zip(normals, verts)):
            feats["normal"] = np.concatenate(normals).astype(np.float64)
        return np.concatenate(verts), np.concatenate(faces), feats
    if "vertices" not in kwargs:
        raise MeshFileError("the file holds no vertices")
    feats = {}
    if kwargs.get("vertex_normals") is not None and len(kwargs["vertex_normals"]) == len(kwargs["vertices"]):
        feats["normal"] = np.asarray(kwargs["vertex_normals"], dtype=np.float64)
    return np.asarray(kwargs["vertices"]), np.asarray(kwargs.get("faces", np.zeros((0, 3))), dtype=np.int64), feats


def _read_obj(f):
    from trimesh.exchange.obj import load_obj

    text = f.read()
    if b"\0" in text:
        raise MeshFileError("binary data in an OBJ (text) file")
    # maintain_order keeps vertices in file order (no welding or splitting); materials are not needed.
    return _trimesh_result(load_obj(io.BytesIO(text), skip_materials=True, maintain_order=True))


def _read_off(f):
    from trimesh.exchange.off import load_off

    return _trimesh_result(load_off(f))


def _read_stl(f):
    from trimesh.exchange.stl import load_stl

    verts, faces, _ = _trimesh_result(load_stl(f))
    # STL is a triangle soup: weld exactly equal corners so the mesh has connectivity.
    uniq, inverse = np.unique(verts, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)[faces], {}


def _read_ply(f):
    from plyfile import PlyData

    ply = PlyData.read(f)
    names = [e.name for e in ply.elements]
    if "vertex" not in names:
        raise MeshFileError(f"no 'vertex' element (elements: {names})")
    vert = ply["vertex"].data
    fields = vert.dtype.names or ()
    if not {"x", "y", "z"} <= set(fields):
        raise MeshFileError(f"the vertex element lacks x, y, z (properties: {list(fields)})")
    verts = np.stack([vert["x"], vert["y"], vert["z"]], axis=1).astype(np.float64)
    feats = {}
    taken = {"x", "y", "z"}
    groups = {"normal": ("nx", "ny", "nz"), "color": ("red", "green", "blue", "alpha")}
    for name, props in groups.items():
        have = [p for p in props if p in fields]
        if have:
            feats[name] = np.stack([vert[p] for p in have], axis=1)
            taken |= set(have)
    for p in fields:
        if p not in taken and vert[p].dtype.kind in "iuf" and vert[p].ndim == 1:
            feats[p] = vert[p]
    faces = []
    if "face" in names:
        data = ply["face"].data
        key = next((k for k in ("vertex_indices", "vertex_index") if k in (data.dtype.names or ())), None)
        if key is None:
            raise MeshFileError(f"the face element has no vertex_indices list (properties: {data.dtype.names})")
        faces.append(_fans(data[key]))
    if "tristrips" in names:
        data = ply["tristrips"].data
        key = next((k for k in ("vertex_indices", "vertex_index") if k in (data.dtype.names or ())), None)
        if key is None:
            raise MeshFileError("the tristrips element has no vertex_indices list")
        faces.extend(tristrips_to_triangles(np.asarray(s, dtype=np.int64)) for s in data[key])
    faces = np.concatenate(faces) if faces else np.zeros((0, 3), dtype=np.int64)
    return verts, faces, feats


def _fans(polygons) -> np.ndarray:
    """PLY face lists -> triangles; an n-gon becomes the fan (v0, v_i, v_i+1)."""
    lengths = np.fromiter((len(p) for p in polygons), dtype=np.int64, count=len(polygons))
    if lengths.size and (lengths < 3).any():
        raise MeshFileError(f"face {int(np.argmax(lengths < 3))} has {int(lengths[lengths < 3][0])} vertices (need >= 3)")
    if lengths.size and (lengths == 3).all():
        return np.stack([np.asarray(p, dtype=np.int64) for p in polygons]) if len(polygons) else np.zeros((0, 3), np.int64)
    tris = []
    for p in polygons:
        p = np.asarray(p, dtype=np.int64)
        tris.append(np.stack([np.full(len(p) - 2, p[0]), p[1:-1], p[2:]], axis=1))
    return np.concatenate(tris) if tris else np.zeros((0, 3), np.int64)


def tristrips_to_triangles(strip: np.ndarray) -> np.ndarray:
    """One PLY tristrips list (strips separated by -1) -> (T, 3) triangles.

    Triangle i of a strip is (s[i], s[i+1], s[i+2]) for even i and (s[i+1], s[i], s[i+2]) for odd i, so all
    share one orientation. Triangles with a repeated vertex (the joins strippers insert) are dropped.
    """
    out = []
    bounds = np.flatnonzero(strip < 0)
    starts = np.concatenate([[0], bounds + 1])
    ends = np.concatenate([bounds, [len(strip)]])
    for a, b in zip(starts, ends):
        s = strip[a:b]
        if len(s) < 3:
            continue
        i = np.arange(len(s) - 2)
        t = np.stack([s[i], s[i + 1], s[i + 2]], axis=1)
        odd = i % 2 == 1
        t[odd, 0], t[odd, 1] = s[i[odd] + 1], s[i[odd]]
        out.append(t)
    if not out:
        return np.zeros((0, 3), dtype=np.int64)
    t = np.concatenate(out)
    keep = (t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2]) & (t[:, 0] != t[:, 2])
    return t[keep]


# ---------------------------------------------------------------------- writing


def save_mesh(
    path: str | os.PathLike,
    mesh: Graph,
    *,
    file_format: str | None = None,
    binary: bool = True,
) -> None:
    """Write a mesh `Graph` (pos (V, 3) and faces) to OBJ, PLY (binary unless binary=False), OFF or STL.

    PLY keeps every vertex feature with a 1-D or 2-D numeric tensor as vertex properties.
    """
    path = Path(path)
    fmt = _format(path, file_format)
    if not isinstance(mesh, Graph):
        raise TypeError(f"mesh must be a meshgraph.Graph, got {type(mesh).__name__}")
    if mesh.pos is None or mesh.pos.shape[1] != 3:
        raise ValueError("mesh must have 3-D positions (pos of shape (V, 3)) to be saved")
    verts = mesh.pos.detach().cpu().double().numpy()
    faces = (mesh.faces if mesh.faces is not None else torch.zeros((0, 3), dtype=torch.int64)).cpu().numpy()
    if fmt == "ply":
        _write_ply(path, verts, faces, mesh, binary)
        return
    import trimesh

    data = trimesh.Trimesh(vertices=verts, faces=faces, process=False).export(file_type=fmt)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def _write_ply(path: Path, verts: np.ndarray, faces: np.ndarray, mesh: Graph, binary: bool) -> None:
    from plyfile import PlyData, PlyElement

    cols = [("x", "f4"), ("y", "f4"), ("z", "f4")]
    values = [verts[:, 0], verts[:, 1], verts[:, 2]]
    names = {"normal": ("nx", "ny", "nz"), "color": ("red", "green", "blue", "alpha")}
    for k, t in mesh.vertex_features.items():
        if k == "pos" or t.dim() > 2 or t.dtype in (torch.bool, torch.complex64, torch.complex128):
            continue
        a = t.detach().cpu().numpy()
        a = a[:, None] if a.ndim == 1 else a
        props = names.get(k, ())
        for j in range(a.shape[1]):
            prop = props[j] if j < len(props) else (k if a.shape[1] == 1 else f"{k}_{j}")
            cols.append((prop, a.dtype.str))
            values.append(a[:, j])
    vert = np.empty(len(verts), dtype=cols)
    for (name, _), v in zip(cols, values):
        vert[name] = v
    face = np.empty(len(faces), dtype=[("vertex_indices", "i4", (3,))])
    face["vertex_indices"] = faces
    PlyData(
        [PlyElement.describe(vert, "vertex"), PlyElement.describe(face, "face")], text=not binary
    ).write(str(path))
