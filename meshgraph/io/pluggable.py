"""IO: PyTorch3D's pluggable loader, `IO().load_mesh(path)` / `save_mesh` / `load_pointcloud` / `save_pointcloud`.

Interpreters are tried newest first; each reads or writes only the files its suffixes name (a file object is
offered to every interpreter). Built in: OBJ meshes, PLY meshes and PLY point clouds.

Textures as in PyTorch3D: an OBJ mesh gets `TexturesUV` (or `TexturesAtlas` with create_texture_atlas) from its
materials and is saved with its TexturesUV map; a PLY mesh's vertex colours become `TexturesVertex` (its UVs with
a `TextureFile` comment, `TexturesUV`) and a TexturesVertex of width 3 is saved as colours. Point clouds carry
colours as `features`.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from .obj import load_objs_as_meshes, save_obj
from .ply import _check_shapes, _read, _write



def endswith(path, suffixes: tuple[str, ...]) -> bool:
    """Whether a path names one of the suffixes (case-insensitive); True for a file object."""
    if isinstance(path, (str, bytes, os.PathLike)):
        return os.fsdecode(path).lower().endswith(suffixes)
    return True


class MeshFormatInterpreter:
    """A mesh file format for IO: `read` returns Meshes or None (not this format), `save` True when it wrote."""

    def read(self, path, include_textures: bool, device, path_manager, **kwargs):
        raise NotImplementedError()

    def save(self, data, path, path_manager, binary: bool | None, **kwargs) -> bool:
        raise NotImplementedError()


class PointcloudFormatInterpreter:
    """A point cloud file format for IO: `read` returns Pointclouds or None, `save` True when it wrote."""

    def read(self, path, device, path_manager, **kwargs):
        raise NotImplementedError()

    def save(self, data, path, path_manager, binary: bool | None, **kwargs) -> bool:
        raise NotImplementedError()


class MeshObjFormat(MeshFormatInterpreter):
    known_suffixes = (".obj",)

    def read(self, path, include_textures, device, path_manager, create_texture_atlas=False, texture_atlas_size=4,
             texture_wrap="repeat", **kwargs):
        if not endswith(path, self.known_suffixes):
            return None
        return load_objs_as_meshes([path], device=device, load_textures=include_textures,
                                   create_texture_atlas=create_texture_atlas, texture_atlas_size=texture_atlas_size,
                                   texture_wrap=texture_wrap, path_manager=path_manager)

    def save(self, data, path, path_manager, binary, decimal_places=None, **kwargs) -> bool:
        from ..render.textures import TexturesUV

        if not endswith(path, self.known_suffixes):
            return False
        verts, faces = data.verts_list()[0], data.faces_list()[0]
        verts_uvs = faces_uvs = texture_map = None
        if isinstance(data.textures, TexturesUV):
            verts_uvs = data.textures.verts_uvs_padded()[0]
            faces_uvs = data.textures.faces_uvs_padded()[0]
            texture_map = data.textures.maps_padded()[0]
        save_obj(path, verts, faces, decimal_places=decimal_places, path_manager=path_manager, verts_uvs=verts_uvs,
                 faces_uvs=faces_uvs, texture_map=texture_map)
        return True


class MeshPlyFormat(MeshFormatInterpreter):
    known_suffixes = (".ply",)

    def read(self, path, include_textures, device, path_manager, **kwargs):
        import torch

        from ..render.textures import TexturesUV, TexturesVertex
        from ..structures import Meshes
        from .mtl import _read_image

        if not endswith(path, self.known_suffixes):
            return None
        verts, faces, normals, colors, uvs, comments = _read(path, path_manager, extras=True)
        faces = faces if faces is not None else torch.zeros((0, 3), dtype=torch.int64)
        texture = None
        if include_textures:
            if colors is not None:
                texture = TexturesVertex([colors.to(device)])
            elif uvs is not None:
                image_path = None
                for comment in comments:
                    if "TextureFile" in comment:
                        image_path = os.path.join(os.path.dirname(str(path)), comment.split(" ")[-1])
                if image_path is not None:
                    image = _read_image(image_path, path_manager)
                    texture = TexturesUV([image.to(device)], [faces.to(device)], [uvs.to(device)])
        return Meshes(verts=[verts.to(device)], faces=[faces.to(device)], textures=texture,
                      verts_normals=None if normals is None else [normals.to(device)])

    def save(self, data, path, path_manager, binary, decimal_places=None, colors_as_uint8=False, **kwargs) -> bool:
        import warnings

        from ..render.textures import TexturesVertex

        if not endswith(path, self.known_suffixes):
            return False
        verts, faces = data.verts_list()[0], data.faces_list()[0]
        normals = data.verts_normals_list()[0] if data.has_verts_normals() else None
        colors = None
        if isinstance(data.textures, TexturesVertex):
            colors = data.textures.verts_features_list()[0]
            if colors.shape[1] != 3:
                warnings.warn(f"Texture will not be saved as it has {colors.shape[1]} colors, not 3.")
                colors = None
        _check_shapes(verts, faces, normals)
        _write(path, verts, faces, normals, colors, binary is False, decimal_places, colors_as_uint8, path_manager)
        return True


class PointcloudPlyFormat(PointcloudFormatInterpreter):
    known_suffixes = (".ply",)

    def read(self, path, device, path_manager, **kwargs):
        from ..structures import Pointclouds

        if not endswith(path, self.known_suffixes):
            return None
        verts, _, normals, colors = _read(path, path_manager)
        return Pointclouds(points=[verts.to(device)], normals=None if normals is None else [normals.to(device)],
                           features=None if colors is None else [colors.to(device)])

    def save(self, data, path, path_manager, binary, decimal_places=None, colors_as_uint8=False, **kwargs) -> bool:
        if not endswith(path, self.known_suffixes):
            return False
        points = data.points_list()[0]
        _write(path, points, None, data.normals_packed(), data.features_packed(), binary is False, decimal_places,
               colors_as_uint8, path_manager)
        return True


class IO:
    """Reads and writes meshes and point clouds by file format (PyTorch3D's `pytorch3d.io.IO`).

    Args:
        include_default_formats: register the OBJ / PLY mesh and PLY point cloud formats.
        path_manager: optional object with `open(path, mode)` and `exists(path)` (iopath's PathManager).
    """

    def __init__(self, include_default_formats: bool = True, path_manager=None) -> None:
        self.path_manager = path_manager
        self.mesh_interpreters: deque[MeshFormatInterpreter] = deque()
        self.pointcloud_interpreters: deque[PointcloudFormatInterpreter] = deque()
        if include_default_formats:
            self.register_default_formats()

    def register_default_formats(self) -> None:
        self.register_meshes_format(MeshObjFormat())
        self.register_meshes_format(MeshPlyFormat())
        self.register_pointcloud_format(PointcloudPlyFormat())

    def register_meshes_format(self, interpreter: MeshFormatInterpreter) -> None:
        """Add a mesh format, tried before those registered earlier."""
        if not isinstance(interpreter, MeshFormatInterpreter):
            raise ValueError("Invalid interpreter")
        self.mesh_interpreters.appendleft(interpreter)

    def register_pointcloud_format(self, interpreter: PointcloudFormatInterpreter) -> None:
        """Add a point cloud format, tried before those registered earlier."""
        if not isinstance(interpreter, PointcloudFormatInterpreter):
            raise ValueError("Invalid interpreter")
        self.pointcloud_interpreters.appendleft(interpreter)

    def load_mesh(self, path: str | Path, include_textures: bool = True, device="cpu", **kwargs):
        """Meshes of the one mesh in the file."""
        for interpreter in self.mesh_interpreters:
            mesh = interpreter.read(path, include_textures=include_textures, path_manager=self.path_manager,
                                    device=device, **kwargs)
            if mesh is not None:
                return mesh
        raise ValueError(f"No mesh interpreter found to read {path}.")

    def save_mesh(self, data, path: str | Path, binary: bool | None = None, include_textures: bool = True,
                  **kwargs) -> None:
        """Write a Meshes of one mesh; binary=None lets the format choose (PLY: binary)."""
        from ..structures import Meshes

        if not isinstance(data, Meshes):
            raise ValueError("Meshes object expected.")
        if len(data) != 1:
            raise ValueError("Can only save a single mesh.")
        for interpreter in self.mesh_interpreters:
            if interpreter.save(data, path, path_manager=self.path_manager, binary=binary, **kwargs):
                return
        raise ValueError(f"No mesh interpreter found to write to {path}.")

    def load_pointcloud(self, path: str | Path, device="cpu", **kwargs):
        """Pointclouds of the one cloud in the file (colours as features, normals)."""
        for interpreter in self.pointcloud_interpreters:
            cloud = interpreter.read(path, path_manager=self.path_manager, device=device, **kwargs)
            if cloud is not None:
                return cloud
        raise ValueError(f"No point cloud interpreter found to read {path}.")

    def save_pointcloud(self, data, path: str | Path, binary: bool | None = None, **kwargs) -> None:
        """Write a Pointclouds of one cloud; its features are written as colours."""
        from ..structures import Pointclouds

        if not isinstance(data, Pointclouds):
            raise ValueError("Pointclouds object expected.")
        if len(data) != 1:
            raise ValueError("Can only save a single point cloud.")
        for interpreter in self.pointcloud_interpreters:
            if interpreter.save(data, path, path_manager=self.path_manager, binary=binary, **kwargs):
                return
        raise ValueError(f"No point cloud interpreter found to write to {path}.")


__all__ = ["IO", "MeshFormatInterpreter", "PointcloudFormatInterpreter"]
