"""Mesh and point rasterizer modules with PyTorch3D's interface: settings dataclasses, `MeshRasterizer` /
`PointsRasterizer` (cameras + settings, per-call overrides as keyword arguments) and their `Fragments` /
`PointFragments` outputs. The kernels are meshgraph's (`rasterize_meshes`, `rasterize_points`).

Meshes and clouds may be meshgraph's (GraphBatch, Meshes, Pointclouds) or PyTorch3D's own objects (duck-typed
on verts_packed / points_packed); cameras are any object with PyTorch3D's camera methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from .._utils import first_from_counts, index_from_counts
from ..ops.rasterize_meshes import mesh_arrays, rasterize_face_verts
from ..ops.rasterize_points import pack_clouds, packed_radius, rasterize_packed_points
from .cameras import try_get_projection_transform


@dataclass(frozen=True)
class Fragments:
    """Mesh rasterizer output, each (N, H, W, K) (bary_coords (N, H, W, K, 3)), -1 where a slot is empty:
    pix_to_face packed face indices sorted by depth, zbuf their depth, bary_coords the barycentrics, dists the
    signed squared 2D distance of the pixel to the face (negative inside)."""

    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary_coords: torch.Tensor
    dists: torch.Tensor | None

    def detach(self) -> Fragments:
        return Fragments(pix_to_face=self.pix_to_face, zbuf=self.zbuf.detach(), bary_coords=self.bary_coords.detach(),
                         dists=self.dists.detach() if self.dists is not None else self.dists)


@dataclass
class RasterizationSettings:
    """MeshRasterizer settings (PyTorch3D's fields and defaults). None for perspective_correct means "if the
    camera is perspective", for clip_barycentric_coords "if blur_radius > 0"; z_clip_value None means znear / 2
    for perspective-correct rasterization of cameras with a znear. max_faces_opengl and max_faces_per_bin are
    accepted and unused (meshgraph's bins cannot overflow)."""

    image_size: int | tuple[int, int] = 256
    blur_radius: float = 0.0
    faces_per_pixel: int = 1
    bin_size: int | None = None
    max_faces_opengl: int = 10_000_000
    max_faces_per_bin: int | None = None
    perspective_correct: bool | None = None
    clip_barycentric_coords: bool | None = None
    cull_backfaces: bool = False
    z_clip_value: float | None = None
    cull_to_frustum: bool = False


class PointFragments(NamedTuple):
    """Point rasterizer output, each (N, H, W, K), -1 where empty: idx packed point indices (int32, as in
    PyTorch3D) sorted by depth, zbuf their depth, dists their squared NDC distance to the pixel centre."""

    idx: torch.Tensor
    zbuf: torch.Tensor
    dists: torch.Tensor


@dataclass
class PointsRasterizationSettings:
    """PointsRasterizer settings (PyTorch3D's fields and defaults); max_points_per_bin is accepted and unused."""

    image_size: int | tuple[int, int] = 256
    radius: float | torch.Tensor = 0.01
    points_per_pixel: int = 8
    bin_size: int | None = None
    max_points_per_bin: int | None = None


def to_raster_space(cams, points: torch.Tensor, item: torch.Tensor, n_items: int, width: int | None = None,
                    **kwargs) -> torch.Tensor:
    """Packed world points (P, 3) of items (P,) (mesh / cloud of each point) -> raster space: NDC x, y and the view
    depth z, through `cams` (one camera or one per item), as PyTorch3D's rasterizers do it (on the padded
    batch: world -> view, then projection and the camera's NDC transform; kwargs go to the camera methods, eps
    from them too). width: the largest item's point count when the caller knows it on the host (a GraphBatch's
    `max_verts`); read from the data otherwise (a device sync)."""
    n_cameras = len(cams)
    if n_cameras not in (1, n_items):
        raise ValueError(f"Wrong number ({n_cameras!r}) of cameras for {n_items!r} meshes")
    eps = kwargs.get("eps", None)
    counts = torch.bincount(item, minlength=n_items)
    slot = torch.arange(points.shape[0], device=points.device) - first_from_counts(counts)[item]
    if width is None:
        width = int(counts.max()) if points.shape[0] else 0
    padded = points.new_zeros(n_items, width, 3).index_put((item, slot), points)
    view = cams.get_world_to_view_transform(**kwargs).transform_points(padded, eps=eps)
    to_ndc = cams.get_ndc_camera_transform(**kwargs)
    projection = try_get_projection_transform(cams, kwargs)
    if projection is not None:
        ndc = projection.compose(to_ndc).transform_points(view, eps=eps)
    else:
        ndc = to_ndc.transform_points(cams.transform_points(padded, eps=eps), eps=eps)
    raster = torch.cat([ndc[..., :2], view[..., 2:].to(ndc.dtype)], -1)
    return raster[item, slot]


def _item_index(sizes: torch.Tensor, total: int) -> torch.Tensor:
    return index_from_counts(sizes, total)


def _mesh_vertex_counts(meshes, V: int, device) -> torch.Tensor:
    from ..graph import GraphBatch

    if isinstance(meshes, GraphBatch):
        return meshes.num_verts_per_graph.to(device)
    if hasattr(meshes, "num_verts_per_mesh"):
        return meshes.num_verts_per_mesh().to(device)
    verts = meshes[0]
    return torch.tensor([v.shape[0] for v in verts], dtype=torch.int64, device=device)


def _host_width(batch) -> int | None:
    """The largest graph's vertex count of a GraphBatch (a host int); None for other inputs."""
    from ..graph import GraphBatch

    return batch.max_verts if isinstance(batch, GraphBatch) else None


class _Rasterizer(torch.nn.Module):
    """cameras + raster_settings (the settings class's defaults when None); `to` moves the cameras."""

    _settings = RasterizationSettings

    def __init__(self, cameras=None, raster_settings=None) -> None:
        super().__init__()
        self.cameras = cameras
        self.raster_settings = self._settings() if raster_settings is None else raster_settings

    def to(self, device):
        if self.cameras is not None:
            self.cameras = self.cameras.to(device)
        return self


def _cameras(module, kwargs):
    cameras = kwargs.get("cameras", module.cameras)
    if cameras is None:
        raise ValueError(f"Cameras must be specified either at initialization or in the forward pass of "
                         f"{type(module).__name__}")
    return cameras


class MeshRasterizer(_Rasterizer):
    """Rasterize a batch of meshes in world space seen by `cameras` (PyTorch3D's MeshRasterizer).

    forward(meshes_world, **kwargs) -> Fragments; kwargs override `cameras`, `raster_settings` and camera
    parameters (R, T, ...) for the call.
    """

    def _raster_verts(self, meshes_world, **kwargs):
        cameras = _cameras(self, kwargs)
        verts, faces, first, size = mesh_arrays(meshes_world)
        counts = _mesh_vertex_counts(meshes_world, verts.shape[0], verts.device)
        raster = to_raster_space(cameras, verts, _item_index(counts, verts.shape[0]), counts.shape[0],
                                 _host_width(meshes_world), **kwargs)
        return cameras, raster, faces, first, size

    def transform(self, meshes_world, **kwargs):
        """The meshes with their vertices in raster space (NDC x, y and view depth z): `update_padded` of a
        Meshes, a copy with new positions of a GraphBatch."""
        _, raster, *_ = self._raster_verts(meshes_world, **kwargs)
        if hasattr(meshes_world, "update_padded") and hasattr(meshes_world, "verts_padded"):
            counts = _mesh_vertex_counts(meshes_world, raster.shape[0], raster.device)
            padded = meshes_world.verts_padded().clone()
            item = _item_index(counts, raster.shape[0])
            slot = torch.arange(raster.shape[0], device=raster.device) - first_from_counts(counts)[item]
            padded[item, slot] = raster.to(padded.dtype)
            return meshes_world.update_padded(padded)
        return meshes_world.update_features("pos", raster)

    def forward(self, meshes_world, **kwargs) -> Fragments:
        cameras, raster, faces, first, size = self._raster_verts(meshes_world, **kwargs)
        settings = kwargs.get("raster_settings", self.raster_settings)
        clip = settings.clip_barycentric_coords
        if clip is None:
            clip = settings.blur_radius > 0.0
        persp = settings.perspective_correct
        if persp is None:
            persp = cameras.is_perspective()
        z_clip = settings.z_clip_value
        if z_clip is None:
            znear = cameras.get_znear()
            if isinstance(znear, torch.Tensor):
                znear = znear.min().item()
            z_clip = None if not persp or znear is None else znear / 2
        p2f, zbuf, bary, dists = rasterize_face_verts(
            raster[faces], first, size, image_size=settings.image_size, blur_radius=settings.blur_radius,
            faces_per_pixel=settings.faces_per_pixel, bin_size=settings.bin_size, perspective_correct=persp,
            clip_barycentric_coords=clip, cull_backfaces=settings.cull_backfaces, z_clip_value=z_clip,
            cull_to_frustum=settings.cull_to_frustum)
        return Fragments(pix_to_face=p2f, zbuf=zbuf, bary_coords=bary, dists=dists)


class PointsRasterizer(_Rasterizer):
    """Rasterize a batch of point clouds in world space seen by `cameras` (PyTorch3D's PointsRasterizer).

    forward(point_clouds, **kwargs) -> PointFragments; kwargs override `cameras`, `raster_settings` and camera
    parameters for the call.
    """

    _settings = PointsRasterizationSettings

    def _raster_points(self, point_clouds, **kwargs):
        cameras = _cameras(self, kwargs)
        packed, first, size, mask = pack_clouds(point_clouds)
        raster = to_raster_space(cameras, packed, _item_index(size, packed.shape[0]), size.shape[0],
                                 _host_width(point_clouds), **kwargs)
        return raster, packed, first, size, mask

    def transform(self, point_clouds, **kwargs):
        """The clouds with their points in raster space (`update_padded` of a Pointclouds, new positions of a
        GraphBatch)."""
        raster, _, first, size, _ = self._raster_points(point_clouds, **kwargs)
        if hasattr(point_clouds, "update_padded") and hasattr(point_clouds, "points_padded"):
            padded = point_clouds.points_padded().clone()
            item = _item_index(size, raster.shape[0])
            slot = torch.arange(raster.shape[0], device=raster.device) - first[item]
            padded[item, slot] = raster.to(padded.dtype)
            return point_clouds.update_padded(padded)
        return point_clouds.update_features("pos", raster)

    def forward(self, point_clouds, **kwargs) -> PointFragments:
        raster, packed, first, size, mask = self._raster_points(point_clouds, **kwargs)
        settings = kwargs.get("raster_settings", self.raster_settings)
        radius = packed_radius(settings.radius, point_clouds, raster, size, mask)
        idx, zbuf, dists = rasterize_packed_points(raster, first, size, radius, settings.image_size,
                                                   settings.points_per_pixel, settings.bin_size)
        return PointFragments(idx=idx.int(), zbuf=zbuf, dists=dists)  # int32, as PyTorch3D's
