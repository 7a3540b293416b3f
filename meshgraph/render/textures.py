"""Mesh textures with PyTorch3D 0.7's classes and rules: `TexturesVertex` (a C-wide feature per vertex),
`TexturesUV` (texture maps read at interpolated per-corner UVs) and `TexturesAtlas` (an R x R texel grid per face).

Each takes list or padded input, keeps both views (built lazily from the other), and is sampled at rasterized
fragments by `sample_textures(fragments)` -> (N, H, W, K, C). `Meshes(verts, faces, textures=...)` carries a texture
object through indexing, `extend`, `clone`, `detach`, `to`, `submeshes` and the joins, and hands it its per-mesh
counts (the `_num_faces_per_mesh` / `_num_verts_per_mesh` / `valid` attributes PyTorch3D's protocol uses).

Sampling goes through meshgraph's barycentric interpolation kernels: vertex features are read through the packed
faces (`interpolate_vertex_features`), never copied to an (F, 3, C) array first. A single-map TexturesUV is sampled
by the fused op `sample_textures_uv` (UV interpolation and the bilinear or nearest lookup with PyTorch3D's padding /
align_corners in one pass, no per-slot UV array; gradients reach the maps, the UVs and the barycentrics). Maps
chosen per face (`maps_ids`) are read with `torch.nn.functional.grid_sample`.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F

from ..ops.interpolate_face_attributes import interpolate_vertex_features
from ..ops.sample_textures_uv import sample_textures_uv
from ..structures import list_to_packed, list_to_padded, padded_to_list

__all__ = [
    "PackedRectangle",
    "PackedRectangles",
    "Rectangle",
    "Textures",
    "TexturesAtlas",
    "TexturesBase",
    "TexturesUV",
    "TexturesVertex",
    "pack_rectangles",
    "pack_unique_rectangles",
]


# ---------------------------------------------------------------------- (N, M, ...) <-> lists of (M_i, ...)


def _list_to_padded_wrapper(x, pad_size=None, pad_value: float = 0.0) -> torch.Tensor:
    """A list of N tensors (M_i, *rest) with one `rest` -> (N, max M_i or pad_size, *rest), filled with pad_value."""
    rest = tuple(x[0].shape[1:])
    width = 1
    for s in rest:
        width *= int(s)
    flat = []
    for y in x:
        if y.ndim != x[0].ndim and tuple(y.shape[1:]) != rest:
            raise ValueError("list_to_padded requires tensors to have the same number of dimensions")
        flat.append(y.reshape(-1, width))
    return list_to_padded(flat, pad_size=pad_size, pad_value=pad_value).reshape((len(x), -1, *rest))


def _padded_to_list_wrapper(x: torch.Tensor, split_size=None) -> list[torch.Tensor]:
    """(N, M, *rest) -> N tensors (split_size[i] or M, *rest)."""
    N, M = x.shape[:2]
    rest = tuple(x.shape[2:])
    width = 1
    for s in rest:
        width *= int(s)
    return [y.reshape((y.shape[0], *rest)) for y in padded_to_list(x.reshape(N, M, width), split_size=split_size)]


def _resize_map(image: torch.Tensor, size: tuple[int, int], align_corners: bool) -> torch.Tensor:
    """(H, W, C) bilinearly resized to size (PyTorch3D pads maps of different sizes this way)."""
    if tuple(image.shape[:2]) == tuple(size):
        return image
    out = F.interpolate(image.permute(2, 0, 1)[None], size=size, mode="bilinear", align_corners=align_corners)
    return out[0].permute(1, 2, 0)


def _pad_texture_maps(images, align_corners: bool) -> torch.Tensor:
    """N maps (H_i, W_i, C) -> (N, max H, max W, C), each resized to the largest height and width."""
    size = (max(im.shape[0] for im in images), max(im.shape[1] for im in images))
    return torch.stack([_resize_map(im, size, align_corners) for im in images], 0)


def _pad_texture_multiple_maps(sets, align_corners: bool) -> torch.Tensor:
    """N sets of maps (M_i, H_i, W_i, C) -> (N, max M, max H, max W, C): maps resized, missing maps zero."""
    M = max(s.shape[0] for s in sets)
    size = (max(s.shape[1] for s in sets), max(s.shape[2] for s in sets))
    C = sets[-1].shape[-1]
    out = []
    for s in sets:
        padded = s.new_zeros((M, *size, C))
        for j in range(s.shape[0]):
            padded[j] = _resize_map(s[j], size, align_corners)
        out.append(padded)
    return torch.stack(out, 0)


def _uv_to_grid(uv: torch.Tensor) -> torch.Tensor:
    """UV in [0, 1] (v up) -> grid_sample's [-1, 1] coordinates (y down): x = 2u - 1, y = 1 - 2v."""
    return torch.lerp(uv.new_tensor([-1.0, 1.0]), uv.new_tensor([1.0, -1.0]), uv)


def _map_coordinate(ids: torch.Tensor, M: int, like: torch.Tensor) -> torch.Tensor:
    """Map index in [0, M) -> grid_sample's depth coordinate in [-1, 1] (M == 1: the only map, -1)."""
    return 2.0 * ids.to(like.dtype) / float(max(M - 1, 1)) - 1.0


# ---------------------------------------------------------------------- the base class


class TexturesBase:
    """What every texture class shares (PyTorch3D's TexturesBase): device moves, and the helpers that extend and
    index the per-mesh properties."""

    def isempty(self) -> bool:
        if self._N is not None and self.valid is not None:
            return self._N == 0 or bool(self.valid.eq(False).all())
        return False

    def to(self, device):
        """Moves every tensor and every list of tensors held by the texture to `device`, in place; returns self."""
        device = torch.device(device)
        for k, v in list(vars(self).items()):
            if isinstance(v, (list, tuple)) and all(torch.is_tensor(e) for e in v):
                setattr(self, k, [e.to(device) for e in v])
            elif torch.is_tensor(v) and v.device != device:
                setattr(self, k, v.to(device))
        self.device = device
        return self

    def _extend(self, N: int, props: list[str]) -> dict:
        """Each property (an attribute or a method returning a tensor or a list of scalars) with each batch
        element repeated N times in a row."""
        if isinstance(N, bool) or not isinstance(N, int):
            raise ValueError("N must be an integer.")
        if N <= 0:
            raise ValueError("N must be > 0.")
        out = {}
        for p in props:
            t = getattr(self, p)
            t = t() if callable(t) else t
            if t is None:
                out[p] = None
            elif isinstance(t, list):
                if not all(isinstance(e, (int, float)) for e in t):
                    raise ValueError("Extend only supports lists of scalars")
                out[p] = list(itertools.chain.from_iterable([e] * N for e in t))
            elif torch.is_tensor(t):
                out[p] = t.repeat_interleave(N, dim=0)
            else:
                raise ValueError(f"Property {p} has unsupported type {type(t)}.Only tensors and lists are supported.")
        return out

    def _getitem(self, index, props: list[str]) -> dict:
        """Each property at `index`: an int / slice indexes it directly; a list or an int / bool tensor gives the
        list of the selected elements."""
        out = {}
        if isinstance(index, (int, slice)):
            for p in props:
                t = getattr(self, p)
                t = t() if callable(t) else t
                out[p] = t[index] if t is not None else None
            return out
        if isinstance(index, list):
            index = torch.tensor(index)
        if isinstance(index, torch.Tensor):
            if index.dtype == torch.bool:
                index = index.nonzero()
                index = index.squeeze(1) if index.numel() > 0 else index
            index = index.tolist()
            for p in props:
                t = getattr(self, p)
                t = t() if callable(t) else t
                out[p] = [t[i] for i in index] if t is not None else None
        return out

    def sample_textures(self, fragments, **kwargs) -> torch.Tensor:
        """(N, H, W, K, C) texture values at the fragments' slots (each class samples its own way)."""
        raise NotImplementedError()

    def submeshes(self, vertex_ids_list, faces_ids_list) -> TexturesBase:
        raise NotImplementedError(f"{self.__class__} does not support submeshes")

    def faces_verts_textures_packed(self) -> torch.Tensor:
        """(sum F_i, 3, C): the texture value at each corner of each face."""
        raise NotImplementedError()

    def clone(self) -> TexturesBase:
        raise NotImplementedError()

    def detach(self) -> TexturesBase:
        raise NotImplementedError()

    def __getitem__(self, index) -> TexturesBase:
        raise NotImplementedError()


def Textures(maps=None, faces_uvs=None, verts_uvs=None, verts_rgb=None) -> TexturesBase:
    """Deprecated constructor (PyTorch3D keeps it as a function): TexturesUV from maps + faces_uvs + verts_uvs,
    else TexturesVertex from verts_rgb."""
    warnings.warn(
        "Textures class is deprecated, use TexturesUV, TexturesAtlas, TexturesVertex instead. Textures class will "
        "be removed in future releases.", PendingDeprecationWarning,
    )
    if faces_uvs is not None and verts_uvs is not None and maps is not None:
        return TexturesUV(maps=maps, faces_uvs=faces_uvs, verts_uvs=verts_uvs)
    if verts_rgb is not None:
        return TexturesVertex(verts_features=verts_rgb)
    raise ValueError("Textures either requires all three of (faces uvs, verts uvs, maps) or verts rgb")


def _copy_counts(value):
    """A copy of a per-mesh count list (PyTorch3D copies it so the copy can be reassigned on its own)."""
    if torch.is_tensor(value):
        return value.clone()
    return list(value) if isinstance(value, list) else value


# ---------------------------------------------------------------------- TexturesAtlas


class TexturesAtlas(TexturesBase):
    """An R x R texel grid per face (SoftRasterizer's texture atlas, PyTorch3D's TexturesAtlas).

    atlas: (N, F, R, R, C) tensor or a list of (F_i, R, R, C) tensors with one R. Sampling picks the texel of the
    cell the first two barycentrics fall in (nearest, differentiable w.r.t. the atlas only); cells above the
    diagonal are read mirrored, as PyTorch3D does.
    """

    def __init__(self, atlas) -> None:
        if isinstance(atlas, (list, tuple)):
            ok = all(torch.is_tensor(a) and a.ndim == 4 and a.shape[1] == a.shape[2] and a.shape[1] == atlas[0].shape[1]
                     for a in atlas)
            if not ok:
                raise ValueError("Expected atlas to be a list of tensors of shape (F, R, R, C) with the same value of R.")
            self._atlas_list, self._atlas_padded = atlas, None
            self._N = len(atlas)
            self._num_faces_per_mesh = [len(a) for a in atlas]
            self.device = atlas[0].device if self._N > 0 else torch.device("cpu")
        elif torch.is_tensor(atlas):
            if atlas.ndim != 5:
                raise ValueError("Expected atlas to be of shape (N, F, R, R, C); got %r" % repr(atlas.ndim))
            self._atlas_padded, self._atlas_list = atlas, None
            self.device = atlas.device
            self._N = len(atlas)
            self._num_faces_per_mesh = [atlas.shape[1]] * self._N
        else:
            raise ValueError("Expected atlas to be a tensor or list")
        # Meshes(..., textures=) overwrites the counts and valid with the meshes' own
        self.valid = torch.ones((self._N,), dtype=torch.bool, device=self.device)

    def _copy(self, fn) -> TexturesAtlas:
        tex = self.__class__(atlas=fn(self.atlas_padded()))
        if self._atlas_list is not None:
            tex._atlas_list = [fn(a) for a in self._atlas_list]
        tex.valid = fn(self.valid)
        tex._num_faces_per_mesh = (fn(self._num_faces_per_mesh) if torch.is_tensor(self._num_faces_per_mesh)
                                   else self._num_faces_per_mesh)
        return tex

    def clone(self) -> TexturesAtlas:
        return self._copy(torch.clone)

    def detach(self) -> TexturesAtlas:
        return self._copy(torch.Tensor.detach)

    def __getitem__(self, index) -> TexturesAtlas:
        props = self._getitem(index, props=["atlas_list", "_num_faces_per_mesh"])
        atlas = props["atlas_list"]
        if isinstance(atlas, list):
            tex = self.__class__(atlas=atlas)
        elif torch.is_tensor(atlas):
            tex = self.__class__(atlas=[atlas])
        else:
            raise ValueError("Not all values are provided in the correct format")
        tex._num_faces_per_mesh = props["_num_faces_per_mesh"]
        return tex

    def atlas_padded(self) -> torch.Tensor:
        """(N, F_max, R, R, C), zero past each mesh's faces."""
        if self._atlas_padded is None:
            if self.isempty():
                self._atlas_padded = torch.zeros((self._N, 0, 0, 0, 3), dtype=torch.float32, device=self.device)
            else:
                self._atlas_padded = _list_to_padded_wrapper(self._atlas_list, pad_value=0.0)
        return self._atlas_padded

    def atlas_list(self) -> list[torch.Tensor]:
        """N tensors (F_i, R, R, C)."""
        if self._atlas_list is None:
            if self.isempty():
                self._atlas_list = [torch.empty((0, 0, 0, 3), dtype=torch.float32, device=self.device)] * self._N
            else:
                self._atlas_list = _padded_to_list_wrapper(self._atlas_padded, split_size=self._num_faces_per_mesh)
        return self._atlas_list

    def atlas_packed(self) -> torch.Tensor:
        """(sum F_i, R, R, C)."""
        if self.isempty():
            return torch.zeros((self._N, 0, 0, 3), dtype=torch.float32, device=self.device)
        return list_to_packed(self.atlas_list())[0]

    def extend(self, N: int) -> TexturesAtlas:
        props = self._extend(N, ["atlas_padded", "_num_faces_per_mesh"])
        tex = self.__class__(atlas=props["atlas_padded"])
        tex._num_faces_per_mesh = props["_num_faces_per_mesh"]
        return tex

    def sample_textures(self, fragments, **kwargs) -> torch.Tensor:
        """(N, H, W, K, C): the texel of the atlas cell holding (bary_0, bary_1) of each slot, zero where empty."""
        atlas = self.atlas_packed()
        R = atlas.shape[1]
        p2f = fragments.pix_to_face
        empty = (p2f < 0)[..., None]
        w01 = torch.where(empty, torch.zeros_like(fragments.bary_coords[..., :2]), fragments.bary_coords[..., :2])
        # blurred rasterization gives barycentrics beyond [0, 1]: the cell index is clamped into the grid
        cell = (w01 * R).to(torch.int64).clamp(max=R - 1)
        below_diag = (w01.sum(-1) * R - cell.to(w01.dtype).sum(-1)) <= 1.0
        cx, cy = cell.unbind(-1)
        cx = torch.where(below_diag, cx, R - 1 - cx)
        cy = torch.where(below_diag, cy, R - 1 - cy)
        texels = atlas[p2f.clamp(min=0), cy, cx]
        return texels * (p2f >= 0)[..., None].to(texels.dtype)

    def submeshes(self, vertex_ids_list, faces_ids_list) -> TexturesAtlas:
        """The atlas rows of each submesh's faces (see Meshes.submeshes)."""
        atlases = self.atlas_list()
        if len(faces_ids_list) != len(atlases):
            raise IndexError("faces_ids_list must be of the same length as atlas_list.")
        return self.__class__([a[ids] for a, picks in zip(atlases, faces_ids_list) for ids in picks])

    def faces_verts_textures_packed(self) -> torch.Tensor:
        """(sum F_i, 3, C): the atlas cells at the corners, (1, 0) -> v0, (0, 1) -> v1, (0, 0) -> v2."""
        a = self.atlas_packed()
        return torch.stack((a[:, 0, -1], a[:, -1, 0], a[:, 0, 0]), dim=1)

    def join_batch(self, textures: list[TexturesAtlas]) -> TexturesAtlas:
        if not all(isinstance(t, TexturesAtlas) for t in textures):
            raise ValueError("All textures must be of type TexturesAtlas.")
        atlas = list(self.atlas_list())
        counts = list(self._num_faces_per_mesh)
        for t in textures:
            atlas += t.atlas_list()
            counts += t._num_faces_per_mesh
        tex = self.__class__(atlas=atlas)
        tex._num_faces_per_mesh = counts
        return tex

    def join_scene(self) -> TexturesAtlas:
        return self.__class__(atlas=[torch.cat(self.atlas_list())])

    def check_shapes(self, batch_size: int, max_num_verts: int, max_num_faces: int) -> bool:
        """Whether the atlas has one row per mesh and per face slot (N, F)."""
        return tuple(self.atlas_padded().shape[0:2]) == (batch_size, max_num_faces)


# ---------------------------------------------------------------------- TexturesUV


class TexturesUV(TexturesBase):
    """Texture maps read at per-corner UV coordinates (PyTorch3D's TexturesUV).

    Args:
        maps: one map per mesh, a list of (H_i, W_i, C) or an (N, H, W, C) tensor (maps of different sizes are
            resized to the largest, bilinearly); with maps_ids, M maps per mesh: (M_i, H, W, C) / (N, M, H, W, C).
        faces_uvs: (N, F, 3) or a list of (F_i, 3) int tensors: each face corner's row of verts_uvs.
        verts_uvs: (N, V, 2) or a list of (V_i, 2): u to the right, v up, in [0, 1].
        maps_ids: optional (N, F) or a list of (F_i,): which of the M maps each face reads.
        padding_mode, align_corners, sampling_mode: as grid_sample's padding_mode / align_corners / mode.
    """

    def __init__(self, maps, faces_uvs, verts_uvs, *, maps_ids=None, padding_mode: str = "border",
                 align_corners: bool = True, sampling_mode: str = "bilinear") -> None:
        self.padding_mode = padding_mode
        self.align_corners = align_corners
        self.sampling_mode = sampling_mode
        if isinstance(faces_uvs, (list, tuple)):
            for fv in faces_uvs:
                if fv.ndim != 2 or fv.shape[-1] != 3:
                    raise ValueError("Expected faces_uvs to be of shape (F, 3); got %r" % repr(fv.shape))
            self._faces_uvs_list, self._faces_uvs_padded = faces_uvs, None
            self._N = len(faces_uvs)
            self._num_faces_per_mesh = [len(fv) for fv in faces_uvs]
            self.device = faces_uvs[0].device if self._N > 0 else torch.device("cpu")
        elif torch.is_tensor(faces_uvs):
            if faces_uvs.ndim != 3 or faces_uvs.shape[-1] != 3:
                raise ValueError("Expected faces_uvs to be of shape (N, F, 3); got %r" % repr(faces_uvs.shape))
            self._faces_uvs_padded, self._faces_uvs_list = faces_uvs, None
            self.device = faces_uvs.device
            self._N = len(faces_uvs)
            self._num_faces_per_mesh = [faces_uvs.shape[1]] * self._N
        else:
            raise ValueError("Expected faces_uvs to be a tensor or list")

        if isinstance(verts_uvs, (list, tuple)):
            for vu in verts_uvs:
                if vu.ndim != 2 or vu.shape[-1] != 2:
                    raise ValueError("Expected verts_uvs to be of shape (V, 2); got %r" % repr(vu.shape))
            if len(verts_uvs) != self._N:
                raise ValueError("verts_uvs and faces_uvs must have the same batch dimension")
            if not all(vu.device == self.device for vu in verts_uvs):
                raise ValueError("verts_uvs and faces_uvs must be on the same device")
            self._verts_uvs_list, self._verts_uvs_padded = verts_uvs, None
        elif torch.is_tensor(verts_uvs):
            if verts_uvs.ndim != 3 or verts_uvs.shape[-1] != 2 or verts_uvs.shape[0] != self._N:
                raise ValueError("Expected verts_uvs to be of shape (N, V, 2); got %r" % repr(verts_uvs.shape))
            if verts_uvs.device != self.device:
                raise ValueError("verts_uvs and faces_uvs must be on the same device")
            self._verts_uvs_padded, self._verts_uvs_list = verts_uvs, None
        else:
            raise ValueError("Expected verts_uvs to be a tensor or list")

        self._maps_ids_padded, self._maps_ids_list = self._format_maps_ids(maps_ids)
        self._maps_list = maps if isinstance(maps, (list, tuple)) else None
        self._maps_padded = self._format_maps_padded(maps)
        if self._maps_padded.device != self.device:
            raise ValueError("maps must be on the same device as verts/faces uvs.")
        self.valid = torch.ones((self._N,), dtype=torch.bool, device=self.device)

    def _format_maps_ids(self, maps_ids):
        if maps_ids is None:
            return None, None
        if isinstance(maps_ids, (list, tuple)):
            for mid in maps_ids:
                if mid.ndim != 1:
                    raise ValueError("Expected maps_ids to be of shape (F,); got %r" % repr(mid.shape))
            if len(maps_ids) != self._N:
                raise ValueError("map_ids, faces_uvs and verts_uvs must have the same batch dimension")
            if not all(mid.device == self.device for mid in maps_ids):
                raise ValueError("maps_ids and verts/faces uvs must be on the same device")
            if not all(mid.shape[0] == n for mid, n in zip(maps_ids, self._num_faces_per_mesh)):
                raise ValueError("map_ids and faces_uvs must have the same number of faces per mesh")
            if not self._num_faces_per_mesh:
                return torch.Tensor(), maps_ids
            return list_to_padded(list(maps_ids), pad_value=0), maps_ids
        if isinstance(maps_ids, torch.Tensor):
            if maps_ids.ndim != 2 or maps_ids.shape[0] != self._N:
                raise ValueError("Expected maps_ids to be of shape (N, F); got %r" % repr(maps_ids.shape))
            if maps_ids.shape[1] != max(self._num_faces_per_mesh):
                raise ValueError("map_ids and faces_uvs must have the same number of faces per mesh")
            if maps_ids.device != self.device:
                raise ValueError("maps_ids and verts/faces uvs must be on the same device")
            return maps_ids, None
        raise ValueError("Expected maps_ids to be a tensor or list")

    def _format_maps_padded(self, maps) -> torch.Tensor:
        single = self._maps_ids_padded is None
        if isinstance(maps, torch.Tensor):
            if not single:
                if maps.ndim != 5 or maps.shape[0] != self._N:
                    raise ValueError("Expected maps to be of shape (N, M, H, W, C); got %r" % repr(maps.shape))
            elif maps.ndim != 4 or maps.shape[0] != self._N:
                raise ValueError("Expected maps to be of shape (N, H, W, C); got %r" % repr(maps.shape))
            return maps
        if isinstance(maps, (list, tuple)):
            if len(maps) != self._N:
                raise ValueError("Expected one texture map per mesh in the batch.")
            if self._N == 0:
                shape = (0, 0, 0, 3) if single else (0, 0, 0, 0, 3)
                return torch.empty(shape, dtype=torch.float32, device=self.device)
            if not all(m.ndim == (3 if single else 4) for m in maps):
                raise ValueError("Invalid number of dimensions in texture maps")
            if not all(m.shape[-1] == maps[0].shape[-1] for m in maps):
                raise ValueError("Inconsistent number of channels in maps")
            if single:
                return _pad_texture_maps(maps, align_corners=self.align_corners)
            return _pad_texture_multiple_maps(maps, align_corners=self.align_corners)
        raise ValueError("Expected maps to be a tensor or list of tensors.")

    def _copy(self, fn) -> TexturesUV:
        tex = self.__class__(
            fn(self.maps_padded()), fn(self.faces_uvs_padded()), fn(self.verts_uvs_padded()),
            maps_ids=fn(self._maps_ids_padded) if self._maps_ids_padded is not None else None,
            align_corners=self.align_corners, padding_mode=self.padding_mode, sampling_mode=self.sampling_mode,
        )
        for name in ("_maps_list", "_verts_uvs_list", "_faces_uvs_list", "_maps_ids_list"):
            value = getattr(self, name)
            if value is not None:
                setattr(tex, name, [fn(t) for t in value])
        tex._num_faces_per_mesh = (fn(self._num_faces_per_mesh) if torch.is_tensor(self._num_faces_per_mesh)
                                   else self._num_faces_per_mesh)
        tex.valid = fn(self.valid)
        return tex

    def clone(self) -> TexturesUV:
        return self._copy(torch.clone)

    def detach(self) -> TexturesUV:
        return self._copy(torch.Tensor.detach)

    def _like(self, **kwargs) -> TexturesUV:
        return self.__class__(padding_mode=self.padding_mode, align_corners=self.align_corners,
                              sampling_mode=self.sampling_mode, **kwargs)

    def __getitem__(self, index) -> TexturesUV:
        props = self._getitem(index, ["faces_uvs_list", "verts_uvs_list", "maps_list", "maps_ids_list",
                                      "_num_faces_per_mesh"])
        faces_uvs, verts_uvs, maps, maps_ids = (props[k] for k in ("faces_uvs_list", "verts_uvs_list", "maps_list",
                                                                    "maps_ids_list"))
        if all(isinstance(t, (list, tuple)) for t in (faces_uvs, verts_uvs, maps)):
            if maps_ids is not None and not isinstance(maps_ids, (list, tuple)):
                raise ValueError("Maps ids are  not in the correct format expected list or tuple")
            tex = self._like(faces_uvs=faces_uvs, verts_uvs=verts_uvs, maps=maps, maps_ids=maps_ids)
        elif all(torch.is_tensor(t) for t in (faces_uvs, verts_uvs, maps)):
            if maps_ids is not None and not torch.is_tensor(maps_ids):
                raise ValueError("Maps ids are not in the correct format expected tensor")
            tex = self._like(faces_uvs=[faces_uvs], verts_uvs=[verts_uvs], maps=[maps],
                             maps_ids=[maps_ids] if maps_ids is not None else None)
        else:
            raise ValueError("Not all values are provided in the correct format")
        tex._num_faces_per_mesh = props["_num_faces_per_mesh"]
        return tex

    # ------------------------------------------------------------ views
    def faces_uvs_padded(self) -> torch.Tensor:
        """(N, F_max, 3), zero past each mesh's faces."""
        if self._faces_uvs_padded is None:
            if self.isempty():
                self._faces_uvs_padded = torch.zeros((self._N, 0, 3), dtype=torch.float32, device=self.device)
            else:
                self._faces_uvs_padded = list_to_padded(list(self._faces_uvs_list), pad_value=0.0)
        return self._faces_uvs_padded

    def faces_uvs_list(self) -> list[torch.Tensor]:
        """N tensors (F_i, 3)."""
        if self._faces_uvs_list is None:
            if self.isempty():
                self._faces_uvs_list = [torch.empty((0, 3), dtype=torch.float32, device=self.device)] * self._N
            else:
                self._faces_uvs_list = padded_to_list(self._faces_uvs_padded, split_size=self._num_faces_per_mesh)
        return self._faces_uvs_list

    def verts_uvs_padded(self) -> torch.Tensor:
        """(N, V_max, 2), zero past each mesh's UVs."""
        if self._verts_uvs_padded is None:
            if self.isempty():
                self._verts_uvs_padded = torch.zeros((self._N, 0, 2), dtype=torch.float32, device=self.device)
            else:
                self._verts_uvs_padded = list_to_padded(list(self._verts_uvs_list), pad_value=0.0)
        return self._verts_uvs_padded

    def verts_uvs_list(self) -> list[torch.Tensor]:
        """N tensors (V_i, 2); from padded input every item keeps all V_max rows (a mesh's number of UVs is not
        its number of vertices, so nothing tells where its UVs end)."""
        if self._verts_uvs_list is None:
            if self.isempty():
                self._verts_uvs_list = [torch.empty((0, 2), dtype=torch.float32, device=self.device)] * self._N
            else:
                self._verts_uvs_list = list(self._verts_uvs_padded.unbind(0))
        return self._verts_uvs_list

    def verts_uvs_packed(self) -> torch.Tensor:
        """(sum V_i, 2): the items of `verts_uvs_list` one after the other (meshgraph's)."""
        items = self.verts_uvs_list()
        if not items:
            return torch.zeros((0, 2), dtype=torch.float32, device=self.device)
        return torch.cat(list(items), 0)

    def faces_uvs_packed(self) -> torch.Tensor:
        """(sum F_i, 3) int64 rows of `verts_uvs_packed()` (each mesh's faces_uvs shifted by its first UV row;
        meshgraph's)."""
        faces, uvs = self.faces_uvs_list(), self.verts_uvs_list()
        if not faces:
            return torch.zeros((0, 3), dtype=torch.int64, device=self.device)
        out, first = [], 0
        for f, vu in zip(faces, uvs):
            out.append(f.to(torch.int64) + first)
            first += vu.shape[0]
        return torch.cat(out, 0)

    def maps_ids_padded(self) -> torch.Tensor | None:
        return self._maps_ids_padded

    def maps_ids_list(self) -> list[torch.Tensor] | None:
        if self._maps_ids_list is not None:
            return self._maps_ids_list
        if self._maps_ids_padded is not None:
            return self._maps_ids_padded.unbind(0)
        return None

    def maps_padded(self) -> torch.Tensor:
        """(N, H, W, C) (or (N, M, H, W, C) with maps_ids): what sampling reads."""
        return self._maps_padded

    def maps_list(self) -> list[torch.Tensor]:
        """The maps as given (a list), else the rows of maps_padded."""
        if self._maps_list is not None:
            return self._maps_list
        return self._maps_padded.unbind(0)

    def extend(self, N: int) -> TexturesUV:
        props = self._extend(N, ["maps_padded", "verts_uvs_padded", "faces_uvs_padded", "maps_ids_padded",
                                 "_num_faces_per_mesh"])
        tex = self._like(maps=props["maps_padded"], faces_uvs=props["faces_uvs_padded"],
                         verts_uvs=props["verts_uvs_padded"], maps_ids=props["maps_ids_padded"])
        tex._num_faces_per_mesh = props["_num_faces_per_mesh"]
        return tex

    # ------------------------------------------------------------ sampling
    def _pixel_uvs(self, fragments) -> torch.Tensor:
        """(N, H, W, K, 2) UV of each slot (zero where empty): the corners' UVs interpolated with the barycentrics,
        read through the packed faces_uvs (no per-face copy)."""
        p2f, bary = fragments.pix_to_face, fragments.bary_coords
        if self.isempty():
            return bary.new_zeros((*p2f.shape, 2))
        return interpolate_vertex_features(p2f, bary, self.faces_uvs_packed(), self.verts_uvs_packed())

    def sample_textures(self, fragments, **kwargs) -> torch.Tensor:
        """(N, H, W, K, C): the maps read (grid_sample's rules: sampling_mode, padding_mode, align_corners) at each
        slot's interpolated UV. Empty slots read the map at UV (0, 0); blending ignores them."""
        maps = self.maps_padded()
        p2f = fragments.pix_to_face
        if maps.device != p2f.device:
            maps = maps.to(p2f.device)
        ids = self.maps_ids_padded()
        if ids is None:  # one fused pass: UV interpolation + texel lookup (csrc/ops/sample_textures_uv)
            return sample_textures_uv(p2f, fragments.bary_coords, self.faces_uvs_packed(), self.verts_uvs_packed(),
                                      maps, sampling_mode=self.sampling_mode, padding_mode=self.padding_mode,
                                      align_corners=self.align_corners)
        uv = self._pixel_uvs(fragments).to(maps.dtype)
        N, H, W, K = p2f.shape
        opts = dict(mode=self.sampling_mode, align_corners=self.align_corners, padding_mode=self.padding_mode)
        M = maps.shape[1]
        face_map = ids.reshape(-1).gather(0, fragments.pix_to_face.clamp(min=0).reshape(-1)).view(N, H, W, K, 1)
        grid = torch.cat((_uv_to_grid(uv), _map_coordinate(face_map, M, uv)), dim=4).permute(0, 3, 1, 2, 4)
        texels = F.grid_sample(maps.permute(0, 4, 1, 2, 3), grid, **opts)  # (N, C, K, H, W)
        return texels.permute(0, 3, 4, 2, 1).contiguous()

    def faces_verts_textures_packed(self) -> torch.Tensor:
        """(sum F_i, 3, C): the maps read at each face corner's UV."""
        maps = self.maps_padded()
        if self.isempty():
            return torch.zeros((0, 3, maps.shape[-1]), dtype=torch.float32, device=self.device)
        corners = [vu[f] for vu, f in zip(self.verts_uvs_list(), self.faces_uvs_list())]
        grid = _uv_to_grid(_list_to_padded_wrapper(corners, pad_value=0.0)).to(maps.dtype)  # (N, F_max, 3, 2)
        opts = dict(mode=self.sampling_mode, align_corners=self.align_corners, padding_mode=self.padding_mode)
        ids = self.maps_ids_padded()
        if ids is None:
            tex = F.grid_sample(maps.permute(0, 3, 1, 2), grid, **opts)  # (N, C, F_max, 3)
        else:
            depth = _map_coordinate(ids[:, :, None, None].expand(-1, -1, 3, -1), maps.shape[1], grid)
            tex = F.grid_sample(maps.permute(0, 4, 1, 2, 3), torch.cat((grid, depth), 3)[:, None], **opts)[:, :, 0]
        tex = _padded_to_list_wrapper(tex.permute(0, 2, 3, 1), split_size=self._num_faces_per_mesh)
        return list_to_packed(tex)[0]

    # ------------------------------------------------------------ joins
    def _check_joinable(self, textures) -> None:
        if self.maps_ids_padded() is not None:
            raise NotImplementedError("join_batch does not support TexturesUV with multiple maps")
        if not all(isinstance(t, TexturesUV) for t in textures):
            raise ValueError("All textures must be of type TexturesUV.")
        if not all(t.padding_mode == self.padding_mode for t in textures):
            raise ValueError("All textures must have the same padding_mode.")
        if not all(t.align_corners == self.align_corners for t in textures):
            raise ValueError("All textures must have the same align_corners value.")
        if not all(t.sampling_mode == self.sampling_mode for t in textures):
            raise ValueError("All textures must have the same sampling_mode.")

    def join_batch(self, textures: list[TexturesUV]) -> TexturesUV:
        """One TexturesUV holding self's meshes then those of each of `textures` (same modes, one map each)."""
        self._check_joinable(textures)
        faces, uvs, maps = list(self.faces_uvs_list()), list(self.verts_uvs_list()), list(self.maps_list())
        counts = list(self._num_faces_per_mesh)
        for t in textures:
            faces += t.faces_uvs_list()
            uvs += t.verts_uvs_list()
            maps += t.maps_list()
            counts += t._num_faces_per_mesh
        tex = self._like(maps=maps, faces_uvs=faces, verts_uvs=uvs)
        tex._num_faces_per_mesh = counts
        return tex

    def _place_map_into_single_map(self, single_map: torch.Tensor, map_: torch.Tensor, location) -> None:
        """Copies map_ (transposed when location.flipped) into single_map at location; without align_corners a
        one-texel border around it repeats its edge (unless padding_mode is "zeros")."""
        src = map_.transpose(0, 1) if location.flipped else map_
        b = 0 if self.align_corners else 1
        u0, v0 = location.x + b, location.y + b
        u1, v1 = u0 + src.shape[0], v0 + src.shape[1]
        single_map[u0:u1, v0:v1] = src
        if self.padding_mode != "zeros" and not self.align_corners:
            single_map[u0 - 1, v0:v1] = single_map[u0, v0:v1]
            single_map[u1, v0:v1] = single_map[u1 - 1, v0:v1]
            single_map[u0:u1, v0 - 1] = single_map[u0:u1, v0]
            single_map[u0:u1, v1] = single_map[u0:u1, v1 - 1]
            single_map[u0 - 1, v0 - 1] = single_map[u0, v0]
            single_map[u0 - 1, v1] = single_map[u0, v1 - 1]
            single_map[u1, v0 - 1] = single_map[u1 - 1, v0]
            single_map[u1, v1] = single_map[u1 - 1, v1 - 1]

    def join_scene(self) -> TexturesUV:
        """One mesh's texture: every map packed into one large map (`pack_unique_rectangles`; the same map
        object given twice is stored once), the UVs rescaled to point into it. UVs outside [0, 1] no longer wrap
        or clamp as before."""
        if self.maps_ids_padded() is not None:
            raise NotImplementedError("join_scene does not support multiple maps.")
        maps = self.maps_list()
        border = 0 if self.align_corners else 2
        plan = pack_unique_rectangles([Rectangle(m.shape[0] + border, m.shape[1] + border, id(m)) for m in maps])
        total_h, total_w = plan.total_size
        single = maps[0].new_zeros((total_h, total_w, maps[0].shape[-1]))
        a = 1 if self.align_corners else 0
        merged = []
        for map_, loc, uvs in zip(maps, plan.locations, self.verts_uvs_list()):
            if loc.is_first:
                self._place_map_into_single_map(single, map_, loc)
            new = uvs.clone()
            if loc.flipped:  # the map is transposed: u and v swap, and both run the other way
                new = 1.0 - new[:, [1, 0]]
            rows = map_.shape[1] if loc.flipped else map_.shape[0]
            cols = map_.shape[0] if loc.flipped else map_.shape[1]
            # v indexes rows from the bottom; u indexes columns (see PyTorch3D's derivation for both alignments)
            new[:, 1] *= (rows - a) / (total_h - a)
            new[:, 1] += (total_h - rows - loc.x - (1 - a)) / (total_h - a)
            new[:, 0] *= (cols - a) / (total_w - a)
            new[:, 0] += (loc.y + (1 - a)) / (total_w - a)
            merged.append(new)
        faces, first = [], 0
        for f, uvs in zip(self.faces_uvs_list(), self.verts_uvs_list()):
            faces.append(first + f)
            first += uvs.shape[0]
        return self._like(maps=[single], faces_uvs=[torch.cat(faces)], verts_uvs=[torch.cat(merged)])

    def centers_for_image(self, index: int) -> torch.Tensor:
        """(V, 2) texel coordinates (x, y) that mesh `index`'s UVs point at, for plotting (one mesh only)."""
        if self.maps_ids_padded() is not None:
            raise NotImplementedError("This function does not support multiple maps.")
        if self._N != 1:
            raise ValueError("This function only supports plotting textures for one mesh.")
        image = self.maps_padded()
        uvs = self.verts_uvs_list()[index][None]
        _, H, W, _ = image.shape
        coords = torch.stack([torch.arange(W).expand(H, W), torch.arange(H)[:, None].expand(H, W)])[None]
        with torch.no_grad():
            centers = F.grid_sample(torch.flip(coords.to(image), [2]), uvs[:, None] * 2.0 - 1,
                                    mode=self.sampling_mode, align_corners=self.align_corners,
                                    padding_mode=self.padding_mode).cpu()
        return centers[0, :, 0].T

    def check_shapes(self, batch_size: int, max_num_verts: int, max_num_faces: int) -> bool:
        """Whether faces_uvs is (N, F, 3) for the meshes' N and F and verts_uvs has N items."""
        return (tuple(self.faces_uvs_padded().shape[0:2]) == (batch_size, max_num_faces)
                and self.verts_uvs_padded().shape[0] == batch_size)

    def submeshes(self, vertex_ids_list, faces_ids_list) -> TexturesUV:
        """Per submesh: its faces' rows of faces_uvs, and its mesh's whole verts_uvs and map."""
        if self.maps_ids_padded() is not None:
            raise NotImplementedError("This function does not support multiple maps.")
        if len(faces_ids_list) != len(self.faces_uvs_padded()):
            raise IndexError("faces_uvs_padded must be of the same length as face_ids_list.")
        faces, uvs, maps = [], [], []
        for picks, f, vu, m in zip(faces_ids_list, self.faces_uvs_padded(), self.verts_uvs_padded(), self.maps_padded()):
            for ids in picks:
                faces.append(f[ids])
                uvs.append(vu)
                maps.append(m)
        return self._like(maps=maps, faces_uvs=faces, verts_uvs=uvs)


# ---------------------------------------------------------------------- TexturesVertex


class TexturesVertex(TexturesBase):
    """A C-wide feature per vertex (PyTorch3D's TexturesVertex; C is any width: colours or latent features).

    verts_features: (N, V, C) or a list of (V_i, C). Sampling interpolates the corners' features with the
    barycentrics (meshgraph's fused kernel, reading the features through the faces).
    """

    def __init__(self, verts_features) -> None:
        if isinstance(verts_features, (tuple, list)):
            if not all(torch.is_tensor(v) and v.ndim == 2 for v in verts_features):
                raise ValueError("Expected verts_features to be a list of tensors of shape (V, C).")
            self._verts_features_list, self._verts_features_padded = verts_features, None
            self._N = len(verts_features)
            self._num_verts_per_mesh = [len(v) for v in verts_features]
            self.device = verts_features[0].device if self._N > 0 else torch.device("cpu")
        elif torch.is_tensor(verts_features):
            if verts_features.ndim != 3:
                raise ValueError("Expected verts_features to be of shape (N, V, C); got %r" % repr(verts_features.shape))
            self._verts_features_padded, self._verts_features_list = verts_features, None
            self.device = verts_features.device
            self._N = len(verts_features)
            self._num_verts_per_mesh = [verts_features.shape[1]] * self._N
        else:
            raise ValueError("verts_features must be a tensor or list of tensors")
        self.valid = torch.ones((self._N,), dtype=torch.bool, device=self.device)

    def _copy(self, fn) -> TexturesVertex:
        tex = self.__class__(fn(self.verts_features_padded()))
        if self._verts_features_list is not None:
            tex._verts_features_list = [fn(f) for f in self._verts_features_list]
        tex._num_verts_per_mesh = _copy_counts(self._num_verts_per_mesh)
        tex.valid = fn(self.valid)
        return tex

    def clone(self) -> TexturesVertex:
        return self._copy(torch.clone)

    def detach(self) -> TexturesVertex:
        return self._copy(torch.Tensor.detach)

    def __getitem__(self, index) -> TexturesVertex:
        props = self._getitem(index, ["verts_features_list", "_num_verts_per_mesh"])
        feats = props["verts_features_list"]
        if isinstance(feats, list):
            if len(feats) == 0:
                feats = torch.empty((0, 0, 3), dtype=torch.float32, device=self.verts_features_padded().device)
            tex = self.__class__(verts_features=feats)
        elif torch.is_tensor(feats):
            tex = self.__class__(verts_features=[feats])
        else:
            raise ValueError("Not all values are provided in the correct format")
        tex._num_verts_per_mesh = props["_num_verts_per_mesh"]
        return tex

    def verts_features_padded(self) -> torch.Tensor:
        """(N, V_max, C), zero past each mesh's vertices."""
        if self._verts_features_padded is None:
            if self.isempty():
                self._verts_features_padded = torch.zeros((self._N, 0, 3, 0), dtype=torch.float32, device=self.device)
            else:
                self._verts_features_padded = list_to_padded(list(self._verts_features_list), pad_value=0.0)
        return self._verts_features_padded

    def verts_features_list(self) -> list[torch.Tensor]:
        """N tensors (V_i, C)."""
        if self._verts_features_list is None:
            if self.isempty():
                self._verts_features_list = [torch.empty((0, 3), dtype=torch.float32, device=self.device)] * self._N
            else:
                self._verts_features_list = padded_to_list(self._verts_features_padded,
                                                           split_size=self._num_verts_per_mesh)
        return self._verts_features_list

    def verts_features_packed(self) -> torch.Tensor:
        """(sum V_i, C)."""
        if self.isempty():
            return torch.zeros((self._N, 3, 0), dtype=torch.float32, device=self.device)
        return list_to_packed(list(self.verts_features_list()))[0]

    def extend(self, N: int) -> TexturesVertex:
        props = self._extend(N, ["verts_features_padded", "_num_verts_per_mesh"])
        tex = self.__class__(verts_features=props["verts_features_padded"])
        tex._num_verts_per_mesh = props["_num_verts_per_mesh"]
        return tex

    def sample_textures(self, fragments, faces_packed=None) -> torch.Tensor:
        """(N, H, W, K, C): the features of each slot's face corners (faces_packed (F, 3), the meshes' packed
        faces) interpolated with its barycentrics; zero where empty."""
        if faces_packed is None:
            raise ValueError("TexturesVertex.sample_textures needs faces_packed (the meshes' packed faces)")
        feats = self.verts_features_packed()
        return interpolate_vertex_features(fragments.pix_to_face, fragments.bary_coords, faces_packed, feats)

    def submeshes(self, vertex_ids_list, faces_ids_list) -> TexturesVertex:
        """The features of each submesh's vertices (see Meshes.submeshes)."""
        feats = self.verts_features_list()
        if len(vertex_ids_list) != len(feats):
            raise IndexError("verts_features_list must be of the same length as vertex_ids_list.")
        return self.__class__([f[ids] for f, picks in zip(feats, vertex_ids_list) for ids in picks])

    def faces_verts_textures_packed(self, faces_packed=None) -> torch.Tensor:
        """(F, 3, C): the features at each face's corners."""
        return self.verts_features_packed()[faces_packed]

    def join_batch(self, textures: list[TexturesVertex]) -> TexturesVertex:
        if not all(isinstance(t, TexturesVertex) for t in textures):
            raise ValueError("All textures must be of type TexturesVertex.")
        feats = list(self.verts_features_list())
        counts = list(self._num_verts_per_mesh)
        for t in textures:
            feats += t.verts_features_list()
            counts += t._num_verts_per_mesh
        tex = self.__class__(verts_features=feats)
        tex._num_verts_per_mesh = counts
        return tex

    def join_scene(self) -> TexturesVertex:
        return self.__class__(verts_features=[torch.cat(list(self.verts_features_list()))])

    def check_shapes(self, batch_size: int, max_num_verts: int, max_num_faces: int) -> bool:
        """Whether the features are (N, V, C) for the meshes' N and V."""
        return tuple(self.verts_features_padded().shape[:-1]) == (batch_size, max_num_verts)


# ---------------------------------------------------------------------- rectangle packing (TexturesUV.join_scene)


class Rectangle(NamedTuple):
    xsize: int
    ysize: int
    identifier: int


class PackedRectangle(NamedTuple):
    x: int
    y: int
    flipped: bool
    is_first: bool


class PackedRectangles(NamedTuple):
    total_size: tuple[int, int]
    locations: list[PackedRectangle]


class _Unplaced(NamedTuple):
    size: tuple[int, int]
    ind: int
    flipped: bool


def _place_right_of_skyline(rect: _Unplaced, placed: list, skyline: list) -> bool:
    """Place rect to the right of the rightmost placed boxes, within the current width, if a run of skyline steps
    tall enough has room for it. skyline: (right edge x, top y) steps from the bottom up; placed and skyline are
    updated on success."""
    width = skyline[0][0]
    need = rect.size[1]
    start, run_right, run_height, prev_top = None, 0, 0, 0
    for idx, (right, top) in enumerate(skyline):
        if right <= width - rect.size[0]:
            run_height += top - prev_top
            run_right = max(right, run_right)
            if start is None:
                start = idx
            if run_height >= need:
                base = skyline[start - 1][1]
                placed[rect.ind] = PackedRectangle(run_right, base, rect.flipped, True)
                step = (run_right + rect.size[0], base + need)
                if run_height == need:
                    skyline[idx] = step
                    del skyline[start:idx]
                elif idx > start:
                    skyline[idx - 1] = step
                    del skyline[start:idx - 1]
                else:
                    skyline.insert(idx, step)
                return True
        else:
            start, run_right, run_height = None, 0, 0
        prev_top = top
    return False


def pack_rectangles(sizes: Sequence[tuple[int, int]]) -> PackedRectangles:
    """Packs rectangles (x size, y size) into one large rectangle, largest first, each one lying flat or turned by
    90 degrees (`flipped`): the largest two stacked, the rest placed right of the skyline when they fit, else on
    top. -> (total size, one location per input; is_first always True)."""
    if len(sizes) < 2:
        raise ValueError("Cannot pack less than two boxes")
    queue = sorted(_Unplaced((s[1], s[0]), i, True) if s[0] < s[1] else _Unplaced((s[0], s[1]), i, False)
                   for i, s in enumerate(sizes))
    placed = [PackedRectangle(-1, -1, False, False)] * len(sizes)
    first = queue.pop()
    width, height = first.size
    placed[first.ind] = PackedRectangle(0, 0, first.flipped, True)
    second = queue.pop()
    placed[second.ind] = PackedRectangle(0, height, second.flipped, True)
    height += second.size[1]
    skyline = [first.size, (second.size[0], height)]
    for rect in reversed(queue):
        if _place_right_of_skyline(rect, placed, skyline):
            continue
        if _place_right_of_skyline(_Unplaced((rect.size[1], rect.size[0]), rect.ind, not rect.flipped), placed, skyline):
            continue
        placed[rect.ind] = PackedRectangle(0, height, rect.flipped, True)
        height += rect.size[1]
        skyline.append((rect.size[0], height))
    return PackedRectangles((width, height), placed)


def pack_unique_rectangles(rectangles: Sequence[Rectangle]) -> PackedRectangles:
    """`pack_rectangles` of the distinct identifiers; every input gets its identifier's location, is_first True
    for the first input of each identifier only."""
    if len(rectangles) < 2:
        raise ValueError("Cannot pack less than two boxes")
    slot: dict = {}
    picks, unique = [], []
    for r in rectangles:
        if r.identifier not in slot:
            slot[r.identifier] = len(unique)
            unique.append((r.xsize, r.ysize))
            picks.append((slot[r.identifier], True))
        else:
            picks.append((slot[r.identifier], False))
    if len(unique) == 1:
        return PackedRectangles(unique[0], [PackedRectangle(0, 0, False, True)]
                                + [PackedRectangle(0, 0, False, False)] * (len(rectangles) - 1))
    total, locations = pack_rectangles(unique)
    return PackedRectangles(total, [locations[i]._replace(is_first=is_first) for i, is_first in picks])

