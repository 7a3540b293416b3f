"""Meshes and Pointclouds: PyTorch3D's batch structures, as GraphBatch subclasses.

`Meshes(verts, faces, textures=None)` and `Pointclouds(points, normals=None, features=None)` take the inputs
PyTorch3D's constructors take (lists of per-item tensors, or padded tensors) and follow PyTorch3D 0.7's rules for
them. Each IS a GraphBatch: its storage is GraphBatch's packed storage, every meshgraph op takes it, and every
PyTorch3D method (views, counts, geometry, editing) is a GraphBatch method; the subclasses add the constructors,
what is specific to the structure (a mesh is valid only with faces; a mesh's assigned vertex normals; textures)
and keep their class through `to`, `clone`, `detach`, indexing, `extend`, `split` and pytree flattening.

Textures: `meshgraph.render.textures` (TexturesVertex, TexturesUV, TexturesAtlas), or any object with PyTorch3D's
texture protocol, is carried with the meshes: indexed, extended, cloned, detached, moved, submeshed and joined.

`as_graph_batch(obj)` turns any batch object (ours, PyTorch3D's own Meshes / Pointclouds, duck-typed on
`verts_packed` / `points_packed`) into a GraphBatch, for the functions that take PyTorch3D structures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._utils import can_inspect_values, first_from_counts, index_from_counts
from .graph import FEATURES, NORMALS, POS, GraphBatch
from .ops.points_normals import estimate_pointcloud_local_coord_frames, estimate_pointcloud_normals

__all__ = [
    "Meshes",
    "Pointclouds",
    "as_graph_batch",
    "estimate_pointcloud_local_coord_frames",
    "estimate_pointcloud_normals",
    "join_meshes_as_batch",
    "join_meshes_as_scene",
    "join_pointclouds_as_batch",
    "join_pointclouds_as_scene",
    "list_to_packed",
    "list_to_padded",
    "packed_to_list",
    "padded_to_list",
    "padded_to_packed",
]


def _rows(t: torch.Tensor, width: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A per-item tensor as (n, width); PyTorch3D lets an empty item be `torch.tensor([])` of shape (0,)."""
    if t.dim() == 1 and t.numel() == 0:
        t = t.reshape(0, width)
    return t if dtype is None else t.to(dtype)


def _one_device(tensors: Sequence[torch.Tensor], message: str) -> torch.device:
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise ValueError(message)
    return devices.pop() if devices else torch.device("cpu")


def _check_faces(faces_packed: torch.Tensor, first_vert: torch.Tensor, num_verts, num_faces) -> None:
    """ValueError naming the mesh when a face indexes outside its mesh's vertices (one pass, eager only)."""
    if faces_packed.numel() == 0 or not can_inspect_values(faces_packed):
        return
    owner = index_from_counts(torch.tensor(num_faces, device=faces_packed.device), faces_packed.shape[0])
    local = faces_packed - first_vert[owner][:, None]
    bad = (local < 0) | (local >= torch.tensor(num_verts, device=faces_packed.device)[owner][:, None])
    if bool(bad.any()):
        row = int(bad.any(1).nonzero()[0])
        i = int(owner[row])
        raise ValueError(f"faces[{i}] holds index {int(local[row][bad[row]][0])}, outside the valid range [0, {num_verts[i]})")


def _check_copies(N: Any) -> None:
    if isinstance(N, bool) or not isinstance(N, int):
        raise ValueError("N must be an integer.")
    if N <= 0:
        raise ValueError("N must be > 0.")


def _float_dtype(tensors: Sequence[torch.Tensor]) -> torch.dtype:
    return next((t.dtype for t in tensors if t.numel()), tensors[0].dtype if tensors else torch.float32)


class _PeerNames:
    """PyTorch3D's private names that its own tests and some user code read, on meshgraph's storage: the sizes
    `_N`, `_V` / `_P`, `_F`, `_C`, the per-item counts, the list views, and the `_compute_*(refresh=False)` calls
    that make the lazy views ready (here: build and cache them now; refresh=True rebuilds them)."""

    _INTERNAL_TENSORS = ()  # nothing beyond the GraphBatch storage for a copy to carry over (pytree does it)

    @property
    def _N(self) -> int:
        return len(self)

    @property
    def _V(self) -> int:
        return self.max_verts

    _P = _V

    @property
    def _F(self) -> int:
        return max(self._num_faces, default=0)

    @property
    def _C(self) -> int | None:
        return self._vfeats[FEATURES].shape[1] if FEATURES in self._vfeats else None

    @property
    def _num_verts_per_mesh(self) -> torch.Tensor:
        return self.num_verts_per_graph

    _num_points_per_cloud = _num_verts_per_mesh

    @property
    def _num_faces_per_mesh(self) -> torch.Tensor:
        return self.num_faces_per_graph

    @property
    def _verts_list(self) -> list[torch.Tensor]:
        return self.verts_list()

    _points_list = _verts_list

    @property
    def _faces_list(self) -> list[torch.Tensor]:
        return self.faces_list()

    def _refresh(self, refresh: bool, *keys: tuple) -> None:
        if refresh:
            for k in keys:
                self._cache.pop(k, None)

    def _compute_packed(self, refresh: bool = False) -> None:
        self._refresh(refresh, ("face_graph_index", None), ("graph_index", None))
        self.verts_packed_to_mesh_idx(), self.faces_packed_to_mesh_idx(), self.mesh_to_faces_packed_first_idx()

    def _compute_padded(self, refresh: bool = False) -> None:
        self._refresh(refresh, *[("padded", k) for k in self._vfeats], ("faces_padded", None))
        for k in self._vfeats:
            self.padded(k)
        self.faces_padded()

    def __getitem__(self, index):
        """PyTorch3D raises IndexError for every index it does not take (floats, float tensors, ...)."""
        try:
            return super().__getitem__(index)
        except TypeError as e:
            raise IndexError(str(e)) from None


class Meshes(_PeerNames, GraphBatch):
    """A batch of triangle meshes, PyTorch3D's `Meshes(verts, faces, textures=None, *, verts_normals=None)`.

    Args:
        verts: a list of (V_i, 3) float tensors, or a padded (N, V, 3) tensor (then every mesh has V vertices).
        faces: a list of (F_i, 3) int tensors (rows holding a -1 are dropped), or a padded (N, F, 3) tensor padded
            with -1 rows at the end.
        textures: optional texture object (PyTorch3D's protocol), carried as data.
        verts_normals: optional vertex normals, a list of (V_i, 3) or a padded (N, V, 3) tensor; used by
            `verts_normals_*` until the vertices move per vertex (`offset_verts_` with (sum_V, 3) offsets).

    A mesh is valid when it has vertices and faces (`valid`); `isempty()` is True when none is.
    """

    def __init__(self, verts, faces, textures=None, *, verts_normals=None) -> None:
        if textures is not None and not hasattr(textures, "sample_textures"):
            raise ValueError("Expected textures to be an instance of type TexturesBase; got %r" % type(textures))
        if isinstance(verts, list) and isinstance(faces, list):
            if len(verts) != len(faces):
                raise ValueError(f"verts and faces must have the same length, got {len(verts)} and {len(faces)}")
            device = _one_device([*verts, *faces], "All Verts and Faces tensors should be on same device.")
            verts_list = [_rows(v, 3) for v in verts]
            faces_list = [_rows(f, 3, torch.int64) for f in faces]
            faces_list = [f[f.gt(-1).all(1)] if len(f) else f for f in faces_list]
        elif torch.is_tensor(verts) and torch.is_tensor(faces):
            if verts.dim() != 3 or faces.dim() != 3 or verts.size(2) != 3 or faces.size(2) != 3:
                raise ValueError("Verts or Faces tensors have incorrect dimensions.")
            if verts.device != faces.device:
                raise ValueError(
                    f"Verts and Faces tensors should be on same device. \n Got {verts.device} and {faces.device}."
                )
            if verts.shape[0] != faces.shape[0]:
                raise ValueError(f"verts and faces must hold the same number of meshes, got {verts.shape[0]} and {faces.shape[0]}")
            device = verts.device
            faces = faces.to(torch.int64)
            kept = faces.gt(-1).all(2)
            if (kept[:, :-1] < kept[:, 1:]).any():
                raise ValueError("Padding of faces must be at the end")
            num_faces = kept.sum(1).tolist()
            verts_list = list(verts.unbind(0))
            faces_list = [f[:n] for f, n in zip(faces.unbind(0), num_faces)]
        else:
            raise ValueError(
                "Verts and Faces must be either a list or a tensor with shape (batch_size, N, 3) where N is either "
                "the maximum number of verts or faces respectively."
            )
        for i, v in enumerate(verts_list):
            if v.dim() != 2 or v.shape[1] != 3 or not v.dtype.is_floating_point:
                raise ValueError(f"verts[{i}] must be a float tensor of shape (V, 3), got {tuple(v.shape)} {v.dtype}")
        num_verts = tuple(int(v.shape[0]) for v in verts_list)
        num_faces = tuple(int(f.shape[0]) for f in faces_list)
        dtype = _float_dtype(verts_list)
        pos = torch.cat([v.to(dtype) for v in verts_list]) if verts_list else torch.zeros((0, 3), device=device)
        offsets = np.concatenate([[0], np.cumsum(num_verts)]).tolist()
        faces_packed = (
            torch.cat([f + offsets[i] for i, f in enumerate(faces_list)])
            if faces_list else torch.zeros((0, 3), dtype=torch.int64, device=device)
        )
        _check_faces(faces_packed, torch.tensor(offsets[:-1], dtype=torch.int64, device=device), num_verts, num_faces)
        self._set_meshes_packed(num_verts, num_faces, {POS: pos}, faces_packed)
        # the list views are the tensors given (as in PyTorch3D), when no conversion was needed
        self._cache[("list", POS)] = [v if v.dtype == dtype else v.to(dtype) for v in verts_list]
        self._cache[("faces_list", None)] = faces_list
        self.textures = textures
        if verts_normals is not None:
            self._set_verts_normals(verts_normals)
        if textures is not None:
            self._attach_textures()

    def _compute_edges_packed(self, refresh: bool = False) -> None:
        self._refresh(refresh, ("undirected_edges", None))
        self.edges_packed()

    def _compute_face_areas_normals(self, refresh: bool = False) -> None:
        self._refresh(refresh, ("face_cross", POS), ("faces_areas", POS), ("faces_normals", POS))
        self.faces_areas_packed(), self.faces_normals_packed()

    def _compute_vertex_normals(self, refresh: bool = False) -> None:
        self._refresh(refresh, ("face_cross", POS), ("verts_normals", POS))
        self.verts_normals_packed()

    def _attach_textures(self) -> None:
        """PyTorch3D's texture protocol: shapes checked, counts handed to the texture object."""
        tex = self.textures
        if hasattr(tex, "check_shapes") and not tex.check_shapes(len(self), self.max_verts, max(self._num_faces, default=0)):
            raise ValueError("Textures do not match the dimensions of Meshes.")
        tex._num_faces_per_mesh = list(self._num_faces)
        tex._num_verts_per_mesh = list(self._num_verts)
        tex.valid = self.valid

    def _set_verts_normals(self, verts_normals) -> None:
        if isinstance(verts_normals, list):
            if len(verts_normals) != len(self) or any(
                not isinstance(n, torch.Tensor) or n.ndim != 2 or n.shape[1] != 3 or n.shape[0] != v
                for n, v in zip(verts_normals, self._num_verts)
            ):
                raise ValueError("Invalid verts_normals input")
            packed = torch.cat(verts_normals) if verts_normals else self.pos.new_zeros((0, 3))
        elif torch.is_tensor(verts_normals):
            if verts_normals.ndim != 3 or verts_normals.size(2) != 3 or verts_normals.size(0) != len(self):
                raise ValueError("Vertex normals tensor has incorrect dimensions.")
            packed = torch.cat([n[:v] for n, v in zip(verts_normals.unbind(0), self._num_verts)])
        else:
            raise ValueError("verts_normals must be a list or tensor")
        self.update_features(NORMALS, packed.to(self.device))

    # ---------------------------------------------------------------- structure-specific state
    def _extra_context(self) -> tuple:
        return (self.textures,)

    def _restore_extra(self, extra: tuple) -> None:
        self.textures = extra[0] if extra else None

    @property
    def valid(self) -> torch.Tensor:
        """(N,) bool: which meshes have both vertices and faces."""
        return self._cached(("valid", None), lambda: torch.tensor(
            [v > 0 and f > 0 for v, f in zip(self._num_verts, self._num_faces)], dtype=torch.bool, device=self.device))

    def has_verts_normals(self) -> bool:
        """Whether vertex normals were assigned (verts_normals=) or have been computed."""
        return NORMALS in self._vfeats or ("verts_normals", POS) in self._cache

    def verts_normals_packed(self) -> torch.Tensor:
        if NORMALS in self._vfeats:
            return self._vfeats[NORMALS]
        return super().verts_normals_packed()

    def offset_verts_(self, vert_offsets_packed: torch.Tensor) -> Meshes:
        per_vertex = vert_offsets_packed.shape != (3,)
        super().offset_verts_(vert_offsets_packed)
        if per_vertex:  # the assigned normals no longer describe the surface: PyTorch3D recomputes them
            self._drop_assigned_normals()
        return self

    def _drop_assigned_normals(self) -> None:
        if NORMALS in self._vfeats:
            del self._vfeats[NORMALS], self._vpresent[NORMALS]
            self._invalidate(NORMALS)

    def update_padded(self, new_verts_padded: torch.Tensor) -> Meshes:
        """Meshes with vertices from an (N, V_max, 3) tensor and this batch's faces, textures and topology caches;
        assigned vertex normals are dropped (they are recomputed from the new vertices)."""
        out = super().update_padded(new_verts_padded)
        out._drop_assigned_normals()
        return out

    def _select(self, picks: list[int]) -> Meshes:
        out = super()._select(picks)
        if self.textures is not None:
            out.textures = self.textures[picks]
            out._attach_textures()
        return out

    def extend(self, N: int) -> Meshes:
        """A Meshes holding each mesh N times in a row, as separate copies (textures extended too)."""
        _check_copies(N)
        verts, faces = self.verts_list(), self.faces_list()
        return Meshes(
            verts=[v.clone() for v in verts for _ in range(N)],
            faces=[f.clone() for f in faces for _ in range(N)],
            textures=None if self.textures is None else self.textures.extend(N),
        )

    def submeshes(self, face_indices) -> Meshes:
        """The submeshes made of the given faces of each mesh (PyTorch3D's `Meshes.submeshes`).

        face_indices: one entry per mesh, each a list of (F_k,) int tensors or an (S, F_k) tensor (S submeshes of
        that mesh); or an (N, S, F_k) tensor. A submesh keeps the vertices its faces use, in their order.
        """
        if len(face_indices) != len(self):
            raise ValueError("You must specify exactly one set of submeshes for each mesh in this Meshes object.")
        verts, faces, kept = [], [], []
        for picks, mesh_faces, mesh_verts in zip(face_indices, self.faces_list(), self.verts_list()):
            kept.append([])
            for face_ids in picks:
                chosen = mesh_faces[face_ids]
                used, local = torch.unique(chosen, sorted=True, return_inverse=True)
                verts.append(mesh_verts[used])
                faces.append(local)
                kept[-1].append(used)
        textures = self.textures.submeshes(kept, face_indices) if self.textures is not None else None
        return Meshes(verts=verts, faces=faces, textures=textures)

    def clone(self) -> Meshes:
        out = super().clone()
        if self.textures is not None and hasattr(self.textures, "clone"):
            out.textures = self.textures.clone()
        return out

    def detach(self) -> Meshes:
        out = super().detach()
        if self.textures is not None and hasattr(self.textures, "detach"):
            out.textures = self.textures.detach()
        return out

    def to(self, *args, copy: bool = False, **kwargs) -> Meshes:
        out = super().to(*args, copy=copy, **kwargs)
        if out is not self and self.textures is not None and hasattr(self.textures, "to"):
            # a copy of the textures moves (a texture's `to` moves in place): self keeps its own, as in PyTorch3D
            tex = self.textures.clone() if hasattr(self.textures, "clone") else self.textures
            out.textures = tex.to(out.device)
        return out

    def sample_textures(self, fragments):
        """The textures' `sample_textures(fragments, faces_packed=...)` (PyTorch3D's texture protocol)."""
        if self.textures is None:
            raise ValueError("Meshes does not have textures")
        tex = self.textures
        if hasattr(tex, "check_shapes") and not tex.check_shapes(len(self), self.max_verts, max(self._num_faces, default=0)):
            raise ValueError("Textures do not match the dimensions of Meshes.")
        return tex.sample_textures(fragments, faces_packed=self.faces_packed())

    def __repr__(self) -> str:
        return f"Meshes(num_meshes={len(self)}, num_verts={self.num_verts}, num_faces={self.num_faces}, device={self.device})"


class Pointclouds(_PeerNames, GraphBatch):
    """A batch of point clouds, PyTorch3D's `Pointclouds(points, normals=None, features=None)`.

    Args:
        points: a list of (P_i, 3) float tensors, or a padded (N, P, 3) tensor (then every cloud has P points).
        normals: optional, a list of (P_i, 3) or a padded (N, P, 3) tensor; stored as vertex feature NORMALS.
        features: optional, a list of (P_i, C) or a padded (N, P, C) tensor; stored as vertex feature FEATURES.

    In a list, an empty cloud's normals / features may be None.
    """

    def __init__(self, points, normals=None, features=None) -> None:
        if isinstance(points, list):
            device = _one_device(points, "All points must be on the same device")
            points_list = [_rows(p, 3) for p in points]
            for p in points_list:
                if len(p) > 0 and (p.dim() != 2 or p.shape[1] != 3):
                    raise ValueError("Clouds in list must be of shape Px3 or empty")
            num_points = tuple(int(p.shape[0]) for p in points_list)
        elif torch.is_tensor(points):
            if points.dim() != 3 or points.shape[2] != 3:
                raise ValueError("Points tensor has incorrect dimensions.")
            device = points.device
            points_list = list(points.unbind(0))
            num_points = (int(points.shape[1]),) * int(points.shape[0])
        else:
            raise ValueError(
                "Points must be either a list or a tensor with shape (batch_size, P, 3) where P is the maximum "
                "number of points in a cloud."
            )
        dtype = _float_dtype(points_list)
        feats = {POS: torch.cat([p.to(dtype) for p in points_list]) if points_list else torch.zeros((0, 3), device=device)}
        self._padded_inputs = {}
        for name, value in ((NORMALS, normals), (FEATURES, features)):
            packed = self._parse_auxiliary(value, num_points, device)
            if packed is not None:
                if name == NORMALS and packed.shape[1] != 3:
                    raise ValueError("Normals are expected to be 3-dimensional")
                feats[name] = packed
        self._set_meshes_packed(num_points, (0,) * len(num_points), feats,
                                torch.zeros((0, 3), dtype=torch.int64, device=device))
        self._valid_all = torch.is_tensor(points)
        if isinstance(points, list):  # the list views are the tensors given (as in PyTorch3D)
            self._cache[("list", POS)] = [p if p.dtype == dtype else p.to(dtype) for p in points_list]
            for name, value in ((NORMALS, normals), (FEATURES, features)):
                if name in feats and isinstance(value, list) and all(
                    d is not None and d.dim() == 2 and d.shape[0] == n for d, n in zip(value, num_points)
                ):
                    self._cache[("list", name)] = list(value)

    def extend(self, N: int) -> Pointclouds:
        """A Pointclouds holding each cloud N times in a row, as separate copies."""
        _check_copies(N)
        def copies(items):
            return None if items is None else [t.clone() for t in items for _ in range(N)]
        return Pointclouds(copies(self.points_list()), copies(self.normals_list()), copies(self.features_list()))

    @staticmethod
    def _parse_auxiliary(value, num_points: tuple[int, ...], device: torch.device) -> torch.Tensor | None:
        """Normals / features as a (sum_P, C) packed tensor, or None (PyTorch3D's rules for list and padded input)."""
        n = len(num_points)
        if value is None or n == 0:
            return None
        if isinstance(value, list):
            if len(value) != n:
                raise ValueError("Points and auxiliary input must be the same length.")
            width = None
            for p, d in zip(num_points, value):
                if p > 0 or (d is not None and d.ndim == 2):
                    if d.dim() != 2:
                        raise ValueError("A cloud auxiliary input must be of shape PxC or empty")
                    if p != d.shape[0]:
                        raise ValueError("A cloud has mismatched numbers of points and inputs")
                    if width is None:
                        width = d.shape[1]
                    elif width != d.shape[1]:
                        raise ValueError("The clouds must have the same number of channels")
                    if d.device != device:
                        raise ValueError("All auxiliary inputs must be on the same device as the points.")
            if width is None:
                return None
            rows = [d if (p > 0 or (d is not None and d.ndim == 2)) else None for p, d in zip(num_points, value)]
            ref = next(d for d in rows if d is not None)
            return torch.cat([d if d is not None else ref.new_zeros((0, width)) for d in rows])
        if torch.is_tensor(value):
            if value.dim() != 3:
                raise ValueError("Auxiliary input tensor has incorrect dimensions.")
            if value.shape[0] != n:
                raise ValueError("Points and inputs must be the same length.")
            if value.shape[1] != max(num_points, default=0):
                raise ValueError("Inputs tensor must have the right maximum number of points in each cloud.")
            if value.device != device:
                raise ValueError("All auxiliary inputs must be on the same device as the points.")
            return torch.cat([v[:p] for v, p in zip(value.unbind(0), num_points)])
        raise ValueError(
            "Auxiliary input must be either a list or a tensor with shape (batch_size, P, C) where P is the maximum "
            "number of points in a cloud."
        )

    @property
    def valid(self) -> torch.Tensor:
        """(N,) bool: which clouds have points (all of them for padded input, as PyTorch3D)."""
        if getattr(self, "_valid_all", False):
            return self._cached(("valid", None), lambda: torch.ones(len(self), dtype=torch.bool, device=self.device))
        return super().valid

    def _extra_context(self) -> tuple:
        return (getattr(self, "_valid_all", False),)

    def _restore_extra(self, extra: tuple) -> None:
        self._valid_all = bool(extra[0]) if extra else False

    def _select(self, picks: list[int]) -> Pointclouds:
        out = super()._select(picks)
        out._valid_all = False  # rebuilt from a list: a cloud is valid when it has points
        return out

    def subsample(self, max_points: int | Sequence[int]) -> Pointclouds:
        """At most max_points (an int, or one per cloud) points per cloud, drawn without replacement with numpy's
        global generator (as PyTorch3D); self when no cloud has more."""
        if isinstance(max_points, int):
            max_points = [max_points] * len(self)
        elif len(max_points) != len(self):
            raise ValueError("wrong number of max_points supplied")
        if all(int(n) <= int(m) for n, m in zip(self._num_verts, max_points)):
            return self
        keep = []
        for first, n, m in zip(np.concatenate([[0], np.cumsum(self._num_verts)]).tolist(), self._num_verts, max_points):
            idx = np.random.choice(n, int(m), replace=False) if n > int(m) else np.arange(n)
            keep.append(torch.as_tensor(idx, dtype=torch.int64) + int(first))
        keep = torch.cat(keep).to(self.device) if keep else torch.zeros(0, dtype=torch.int64, device=self.device)
        sizes = [min(n, int(m)) for n, m in zip(self._num_verts, max_points)]
        out = Pointclouds.__new__(Pointclouds)
        out._set_meshes_packed(sizes, (0,) * len(sizes), {k: v[keep] for k, v in self._vfeats.items()},
                               torch.zeros((0, 3), dtype=torch.int64, device=self.device))
        out._valid_all = False
        return out

    def estimate_normals(self, neighborhood_size: int = 50, disambiguate_directions: bool = True,
                         assign_to_self: bool = False) -> torch.Tensor:
        """(N, P_max, 3) normals estimated from each point's neighbourhood (`estimate_pointcloud_normals`);
        assign_to_self=True also stores them as this cloud's normals."""
        normals = estimate_pointcloud_normals(self, neighborhood_size, disambiguate_directions)
        if assign_to_self:
            self.update_features(NORMALS, padded_to_packed(normals, split_size=list(self._num_verts)))
        return normals

    def __repr__(self) -> str:
        return f"Pointclouds(num_clouds={len(self)}, num_points={self.num_verts}, device={self.device})"


# ---------------------------------------------------------------------- joining


def join_meshes_as_batch(meshes: Sequence[Any], include_textures: bool = True) -> Meshes:
    """One Meshes holding every mesh of the given Meshes objects (ours or PyTorch3D's), in order; textures are
    joined with the texture objects' `join_batch` when every input has them (include_textures=True)."""
    if isinstance(meshes, GraphBatch) or hasattr(meshes, "verts_packed"):
        raise ValueError("Wrong first argument to join_meshes_as_batch.")
    meshes = list(meshes)
    verts = [v for m in meshes for v in m.verts_list()]
    faces = [f for m in meshes for f in m.faces_list()]
    if not meshes or not include_textures:
        return Meshes(verts=verts, faces=faces)
    textures = [getattr(m, "textures", None) for m in meshes]
    if textures[0] is None:
        if any(t is not None for t in textures):
            raise ValueError("Inconsistent textures in join_meshes_as_batch.")
        return Meshes(verts=verts, faces=faces)
    if any(t is None for t in textures):
        raise ValueError("Inconsistent textures in join_meshes_as_batch.")
    if not all(type(t) is type(textures[0]) for t in textures):
        raise ValueError("All meshes in the batch must have the same type of texture.")
    return Meshes(verts=verts, faces=faces, textures=textures[0].join_batch(textures[1:]))


def join_meshes_as_scene(meshes, include_textures: bool = True) -> Meshes:
    """All meshes (a Meshes, or a list joined as a batch first) as one mesh: packed vertices and faces; textures
    joined with `join_scene`. A batch of one mesh comes back as it is. The vertex features of a meshgraph batch
    (e.g. a "latent", besides the positions and assigned normals) come along, packed as they are."""
    if not isinstance(include_textures, (bool, int)):
        raise ValueError(f"include_textures argument cannot be {type(include_textures)}")
    if isinstance(meshes, list):
        meshes = join_meshes_as_batch(meshes, include_textures=include_textures)
    if len(meshes) == 1:
        return meshes
    textures = meshes.textures.join_scene() if include_textures and getattr(meshes, "textures", None) is not None else None
    out = Meshes(verts=meshes.verts_packed()[None], faces=meshes.faces_packed()[None], textures=textures)
    if isinstance(meshes, GraphBatch):
        for name in meshes.vertex_feature_names:
            if name not in (POS, NORMALS):
                out.update_features(name, meshes.packed(name))
    return out


def join_pointclouds_as_batch(pointclouds: Sequence[Any]) -> Pointclouds:
    """One Pointclouds holding every cloud of the given Pointclouds objects (ours or PyTorch3D's), in order.
    Normals / features must be given for all inputs or none."""
    if isinstance(pointclouds, GraphBatch) or hasattr(pointclouds, "points_packed") or not isinstance(pointclouds, Sequence):
        raise ValueError("Wrong first argument to join_points_as_batch.")
    if len({p.device for p in pointclouds}) > 1:
        raise ValueError("Pointclouds must all be on the same device")
    kwargs = {}
    for field in ("points", "normals", "features"):
        lists = [getattr(p, field + "_list")() for p in pointclouds]
        if any(x is None for x in lists):
            if field == "points":
                raise ValueError("Pointclouds cannot have their points set to None!")
            if not all(x is None for x in lists):
                raise ValueError(f"Pointclouds in the batch have some fields '{field}' defined and some set to None.")
            kwargs[field] = None
            continue
        flat = [t for x in lists for t in x]
        if field == "features" and any(t.shape[1] != flat[0].shape[1] for t in flat[1:]):
            raise ValueError("Pointclouds must have the same number of features")
        kwargs[field] = flat
    return Pointclouds(**kwargs)


def join_pointclouds_as_scene(pointclouds) -> Pointclouds:
    """All clouds (a Pointclouds, or a list joined as a batch first) as one cloud."""
    if isinstance(pointclouds, list):
        pointclouds = join_pointclouds_as_batch(pointclouds)
    if len(pointclouds) == 1:
        return pointclouds
    normals, features = pointclouds.normals_packed(), pointclouds.features_packed()
    return Pointclouds(
        points=pointclouds.points_packed()[None],
        normals=None if normals is None else normals[None],
        features=None if features is None else features[None],
    )


# ---------------------------------------------------------------------- other libraries' structures


_FOREIGN_CACHE = "_meshgraph_graph_batch"  # attribute a converted foreign structure keeps its GraphBatch in


def _foreign_signature(obj: Any, lists: tuple[str, ...]):
    """What a conversion of obj read: each list's tensors with their version counters, plus obj.textures. None
    when the conversion must not be cached: a tensor requires grad (a cached batch would share one autograd graph
    between calls) or is an inference tensor (its version counter cannot be read)."""
    sig = [getattr(obj, "textures", None)]
    for name in lists:
        items = getattr(obj, name)() if hasattr(obj, name) else None
        if items is None:
            sig.append(None)
            continue
        for t in items:
            if not isinstance(t, torch.Tensor) or t.requires_grad or t.is_inference():
                return None
            sig.append((t, t._version))
    return sig


def _same_signature(a, b) -> bool:
    if a is None or b is None or len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, tuple) and isinstance(y, tuple):
            if x[0] is not y[0] or x[1] != y[1]:
                return False
        elif x is not y:
            return False
    return True


def as_graph_batch(obj: Any) -> GraphBatch:
    """A GraphBatch for any batch structure: a GraphBatch (ours, Meshes and Pointclouds included) as it is;
    PyTorch3D's own Meshes (duck-typed on `verts_packed` + `faces_list`) as our Meshes (textures carried);
    PyTorch3D's Pointclouds (`points_packed`) as our Pointclouds (normals, features carried).

    A foreign structure's conversion is kept on the object itself (attribute `_meshgraph_graph_batch`) and reused
    while the tensors it was built from are the same objects at the same version (an in-place edit or PyTorch3D's
    `offset_verts_` makes the next call convert again). Conversions of tensors that require grad are never kept."""
    if isinstance(obj, GraphBatch):
        return obj
    if hasattr(obj, "verts_packed") and hasattr(obj, "faces_list"):
        lists = ("verts_list", "faces_list")
    elif hasattr(obj, "points_packed") and hasattr(obj, "points_list"):
        lists = ("points_list", "normals_list", "features_list")
    else:
        raise TypeError(f"expected a GraphBatch, Meshes or Pointclouds, got {type(obj).__name__}")
    sig = _foreign_signature(obj, lists)
    cached = getattr(obj, _FOREIGN_CACHE, None)
    if sig is not None and cached is not None and _same_signature(cached[0], sig):
        return cached[1]
    if lists[0] == "verts_list":
        out = Meshes(
            verts=[_rows(v, 3) for v in obj.verts_list()],
            faces=[_rows(f, 3) for f in obj.faces_list()],
            textures=getattr(obj, "textures", None),
        )
    else:
        out = Pointclouds(
            points=[_rows(p, 3) for p in obj.points_list()],
            normals=obj.normals_list() if hasattr(obj, "normals_list") else None,
            features=obj.features_list() if hasattr(obj, "features_list") else None,
        )
    if sig is not None:
        try:
            setattr(obj, _FOREIGN_CACHE, (sig, out))
        except (AttributeError, TypeError):  # an object that takes no new attributes: convert every call
            pass
    return out


# ---------------------------------------------------------------------- list / padded / packed tensors
# PyTorch3D's pytorch3d.structures.utils, on plain tensors.


def list_to_padded(x, pad_size=None, pad_value: float = 0.0, equisized: bool = False) -> torch.Tensor:
    """Stack a list of tensors of equal ndim into (N, *pad_size), filling with pad_value; pad_size defaults to
    the largest size per dimension. A 1-D empty tensor counts as an empty item of any ndim."""
    if equisized:
        return torch.stack(x, 0)
    if not all(torch.is_tensor(y) for y in x):
        raise ValueError("All items have to be instances of a torch.Tensor.")
    ndim = max(y.ndim for y in x)
    x = [y.new_zeros([0] * ndim) if (y.ndim == 1 and y.nelement() == 0) else y for y in x]
    if any(y.ndim != x[0].ndim for y in x):
        raise ValueError("All items have to have the same number of dimensions!")
    if pad_size is None:
        dims = [max(y.shape[d] for y in x if len(y) > 0) for d in range(x[0].ndim)]
    else:
        if any(len(pad_size) != y.ndim for y in x):
            raise ValueError("Pad size must contain target size for all dimensions.")
        dims = list(pad_size)
    out = x[0].new_full((len(x), *dims), pad_value)
    for i, y in enumerate(x):
        if len(y) > 0:
            out[(i, *(slice(0, s) for s in y.shape))] = y
    return out


def padded_to_list(x: torch.Tensor, split_size=None) -> list[torch.Tensor]:
    """(N, ...) -> list of N tensors, item i cut to split_size[i] (an int: rows; a sequence: one size per dim)."""
    out = list(x.unbind(0))
    if split_size is None:
        return out
    if x.shape[0] != len(split_size):
        raise ValueError("Split size must be of same length as inputs first dimension")
    for i, s in enumerate(split_size):
        out[i] = out[i][:s] if isinstance(s, int) else out[i][tuple(slice(0, k) for k in s)]
    return out


def list_to_packed(x: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(packed rows, (N,) sizes, (N,) first row of each item, (sum,) item of each row), all int64 but the first."""
    if not x:
        raise ValueError("Input list is empty")
    device = x[0].device
    sizes = torch.tensor([y.shape[0] for y in x], dtype=torch.int64, device=device)
    first = first_from_counts(sizes)
    owner = index_from_counts(sizes, sum(y.shape[0] for y in x))
    return torch.cat(x, dim=0), sizes, first, owner


def packed_to_list(x: torch.Tensor, split_size) -> tuple[torch.Tensor, ...]:
    """Split packed rows into items of split_size rows (torch.split)."""
    return x.split(split_size, dim=0)


def padded_to_packed(x: torch.Tensor, split_size=None, pad_value=None) -> torch.Tensor:
    """(N, M, D) -> packed rows: all N * M rows, or the first split_size[i] rows of item i, or the rows not
    entirely equal to pad_value (give at most one of split_size and pad_value)."""
    if x.ndim != 3:
        raise ValueError("Supports only 3-dimensional input tensors")
    if split_size is not None and pad_value is not None:
        raise ValueError("Only one of split_size or pad_value should be provided.")
    flat = x.reshape(-1, x.shape[2])
    if split_size is None and pad_value is None:
        return flat
    if pad_value is not None:
        return flat[flat.ne(pad_value).any(-1)]
    if x.shape[0] != len(split_size):
        raise ValueError("Split size must be of same length as inputs first dimension")
    if not all(isinstance(s, int) for s in split_size):
        raise ValueError("Support only 1-dimensional unbinded tensor. Split size for more dimensions provided")
    return torch.cat([x[i, :s] for i, s in enumerate(split_size)]) if split_size else flat[:0]
