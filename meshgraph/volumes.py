"""Volumes: batches of voxel grids (densities and optional features of any width) with their placement in the
world, PyTorch3D's `Volumes` semantics; `Volumes.to_graph` turns the lattice into a GraphBatch so every GNN layer
runs on voxels. Also `add_pointclouds_to_volumes` (splatting through meshgraph.ops.add_points_to_volumes).

Coordinates (PyTorch3D's conventions): local coordinates span [-1, 1] over each grid (x: width, y: height,
z: depth; grid_sample's align_corners rule), and
    x_world = x_local * (grid_size_xyz - 1) * 0.5 * voxel_size - volume_translation.
Volumes are immutable; update_padded returns a new object sharing the locator.
"""

from __future__ import annotations

import copy
from typing import List, Optional, Sequence, Tuple, Union

import torch

from .structures import list_to_padded, padded_to_list
from .transforms.transform3d import Scale, Transform3d, _device

_Scalar = Union[int, float]
_Vector = Union[torch.Tensor, Tuple[_Scalar, ...], List[_Scalar]]
_TensorBatch = Union[torch.Tensor, List[torch.Tensor], Tuple[torch.Tensor]]
_ALL = slice(0, None)

# lattice neighbourhoods: offsets (dz, dy, dx) with |d|_1 <= 1, <= 2 or any (6, 18, 26 neighbours)
_CONNECTIVITY = {6: 1, 18: 2, 26: 3}


def _to_batch_tensor(x: _TensorBatch, var_name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(padded (N, dim, D, H, W), grid sizes (N, 3) int64) from a 5-D tensor or a list of 4-D tensors."""
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            raise ValueError(f"`{var_name}` must hold at least one volume")
        if any(not torch.is_tensor(x_) or x_.ndim != 4 for x_ in x):
            raise ValueError(f"`{var_name}` has to be a list of 4-dim tensors of shape: "
                             f"({var_name}_dim, depth, height, width)")
        if any(x_.shape[0] != x[0].shape[0] for x_ in x):
            raise ValueError(f"Each entry in the list of `{var_name}` has to have the same number of channels "
                             "(first dimension in the tensor).")
        padded = list_to_padded(list(x))
        sizes = torch.tensor([list(x_.shape[1:]) for x_ in x], dtype=torch.long, device=padded.device)
        return padded, sizes
    if torch.is_tensor(x):
        if x.ndim != 5:
            raise ValueError(f"`{var_name}` has to be a 5-dim tensor of shape: "
                             f"(minibatch, {var_name}_dim, depth, height, width)")
        sizes = torch.tensor(list(x.shape[2:]), dtype=torch.long, device=x.device)[None].repeat(x.shape[0], 1)
        return x, sizes
    raise ValueError(f"{var_name} must be either a list or a tensor with shape "
                     f"(batch_size, {var_name}_dim, D, H, W).")


class VolumeLocator:
    """Where the voxel centres of a batch of grids lie: grid sizes (N, 3) (D, H, W) and the local-to-world
    Transform3d built from voxel_size and volume_translation (PyTorch3D's VolumeLocator)."""

    def __init__(
        self,
        batch_size: int,
        grid_sizes: Union[torch.LongTensor, Tuple[int, int, int], List[torch.LongTensor]],
        device: torch.device,
        voxel_size: Union[_Scalar, _Vector] = 1.0,
        volume_translation: _Vector = (0.0, 0.0, 0.0),
        align_corners: bool = True,
    ):
        self.device = _device(device)
        self._batch_size = int(batch_size)
        self._grid_sizes = self._convert_grid_sizes2tensor(grid_sizes)
        self._resolution = tuple(torch.max(self._grid_sizes.cpu(), dim=0).values) if self._batch_size else (0, 0, 0)
        self._align_corners = bool(align_corners)
        self._set_local_to_world_transform(voxel_size=voxel_size, volume_translation=volume_translation)

    def _convert_grid_sizes2tensor(self, x) -> torch.Tensor:
        if isinstance(x, (list, tuple)):
            if len(x) and isinstance(x[0], (torch.Tensor, list, tuple)):
                if self._batch_size != len(x):
                    raise ValueError("x should have a batch size of 'batch_size'")
                if any(len(x_) != 3 for x_ in x):
                    raise ValueError("`grid_sizes` has to be a list of 3-dim tensors of shape: (depth, height, width)")
                return torch.stack([torch.as_tensor(list(map(int, x_)), dtype=torch.long) for x_ in x]).to(self.device)
            if len(x) == 3 and all(isinstance(v, int) for v in x):
                return torch.tensor(list(x), dtype=torch.long, device=self.device)[None].repeat(self._batch_size, 1)
            raise ValueError(f"`grid_sizes` can be a list/tuple of int or torch.Tensor, not of {type(x[0]) if x else x}.")
        if torch.is_tensor(x):
            if x.ndim != 2:
                raise ValueError("`grid_sizes` has to be a 2-dim tensor of shape: (minibatch, 3)")
            return x.to(self.device)
        raise ValueError("grid_sizes must be either a list of tensors with shape (D, H, W), a tensor with shape "
                         "(batch_size, 3) or a tuple of (D, H, W).")

    def __len__(self) -> int:
        return self._batch_size

    # --- the local <-> world transform
    def _convert_volume_property_to_tensor(self, x, batch_size: int, err_msg: str) -> torch.Tensor:
        """(N, 3) float32 from a 3-sequence or a (3,), (1, 3) or (N, 3) tensor."""
        if isinstance(x, (list, tuple)):
            if len(x) != 3:
                raise ValueError(err_msg)
            return torch.tensor(x, device=self.device, dtype=torch.float32)[None].repeat(batch_size, 1)
        if torch.is_tensor(x):
            ok = (x.ndim == 1 and x.shape[0] == 3) or (x.ndim == 2 and x.shape[1] == 3 and x.shape[0] in (1, batch_size))
            if not ok:
                raise ValueError(err_msg)
            x = x.to(self.device)
            x = x[None] if x.ndim == 1 else x
            return x.repeat(batch_size, 1) if x.shape[0] == 1 else x
        raise ValueError(err_msg)

    def _handle_voxel_size(self, voxel_size, batch_size: int) -> torch.Tensor:
        err = ("voxel_size has to be either a 3-tuple of scalars, or a scalar, or a torch.Tensor of shape (3,) or "
               "(1,) or (minibatch, 3) or (minibatch, 1).")
        if isinstance(voxel_size, (float, int)) and not isinstance(voxel_size, bool):
            voxel_size = torch.full((1, 3), float(voxel_size), device=self.device, dtype=torch.float32)
        elif torch.is_tensor(voxel_size):
            if voxel_size.numel() == 1:
                voxel_size = voxel_size.view(-1).repeat(3)
            elif voxel_size.ndim == 2 and voxel_size.shape == (batch_size, 1):
                voxel_size = voxel_size.repeat(1, 3)
        return self._convert_volume_property_to_tensor(voxel_size, batch_size, err)

    def _handle_volume_translation(self, translation, batch_size: int) -> torch.Tensor:
        err = ("`volume_translation` has to be either a 3-tuple of scalars, or a Tensor of shape (1,3) or "
               "(minibatch, 3) or (3,)`.")
        return self._convert_volume_property_to_tensor(translation, batch_size, err)

    def _set_local_to_world_transform(self, voxel_size=1.0, volume_translation=(0.0, 0.0, 0.0)) -> None:
        voxel_size = self._handle_voxel_size(voxel_size, len(self))
        volume_translation = self._handle_volume_translation(volume_translation, len(self))
        self._local_to_world_transform = self._voxel_size_translation_to_transform(voxel_size, volume_translation,
                                                                                   len(self))

    def _voxel_size_translation_to_transform(self, voxel_size, volume_translation, batch_size: int) -> Transform3d:
        size_xyz = self.get_grid_sizes().float()[:, [2, 1, 0]]
        return Scale((size_xyz - 1) * voxel_size * 0.5, device=self.device).translate(-volume_translation)

    def _copy_transform_and_sizes(self, other: "VolumeLocator", device=None, index=_ALL) -> None:
        """Copy (a selection of) the grid sizes and the transform into `other`, on `device`."""
        device = device if device is not None else self.device
        other._grid_sizes = self._grid_sizes[index].to(device)
        other._local_to_world_transform = self.get_local_to_world_coords_transform()[index].to(device)

    def get_grid_sizes(self) -> torch.LongTensor:
        """(N, 3) int64: row i holds (D_i, H_i, W_i)."""
        return self._grid_sizes

    def get_local_to_world_coords_transform(self) -> Transform3d:
        return self._local_to_world_transform

    def get_world_to_local_coords_transform(self) -> Transform3d:
        return self.get_local_to_world_coords_transform().inverse()

    def world_to_local_coords(self, points_3d_world: torch.Tensor) -> torch.Tensor:
        """(N, ..., 3) world points -> the volumes' local coordinates."""
        shape = points_3d_world.shape
        return self.get_world_to_local_coords_transform().transform_points(
            points_3d_world.reshape(shape[0], -1, 3)).view(shape)

    def local_to_world_coords(self, points_3d_local: torch.Tensor) -> torch.Tensor:
        """(N, ..., 3) local points -> world coordinates."""
        shape = points_3d_local.shape
        return self.get_local_to_world_coords_transform().transform_points(
            points_3d_local.reshape(shape[0], -1, 3)).view(shape)

    def get_coord_grid(self, world_coordinates: bool = True) -> torch.Tensor:
        """(N, D, H, W, 3) xyz of every voxel centre of the padded grid (each element's own grid spans [-1, 1])."""
        return self._calculate_coordinate_grid(world_coordinates)

    def _calculate_coordinate_grid(self, world_coordinates: bool = True) -> torch.Tensor:
        ba, (de, he, wi) = self._batch_size, (int(r) for r in self._resolution)
        grid_sizes = self.get_grid_sizes()

        def axis(r: int) -> torch.Tensor:
            adj = 0.0 if self._align_corners else 1.0 / r
            return torch.linspace(-1.0 + adj, 1.0 - adj, r, dtype=torch.float32, device=self.device)

        Z, Y, X = torch.meshgrid(axis(de), axis(he), axis(wi), indexing="ij")
        coords = torch.stack((X, Y, Z), dim=3)[None].repeat(ba, 1, 1, 1, 1)
        # an element smaller than the padded grid: rescale so its own voxels span [-1, 1]
        rel = (torch.tensor([[de, he, wi]], device=grid_sizes.device, dtype=torch.float32) - 1) / (grid_sizes - 1).float()
        if (rel != 1.0).any():
            rel = rel[:, [2, 1, 0]][:, None, None, None].to(coords.device)
            coords = coords * rel + (rel - 1)
        return self.local_to_world_coords(coords) if world_coordinates else coords

    def to(self, device, copy: bool = False) -> "VolumeLocator":
        device_ = _device(device)
        if not copy and self.device == device_:
            return self
        other = self.clone()
        if self.device == device_:
            return other
        other.device = device_
        other._grid_sizes = self._grid_sizes.to(device_)
        other._local_to_world_transform = self.get_local_to_world_coords_transform().to(device_)
        return other

    def clone(self) -> "VolumeLocator":
        return copy.deepcopy(self)

    def cpu(self) -> "VolumeLocator":
        return self.to("cpu")

    def cuda(self) -> "VolumeLocator":
        return self.to("cuda")


class Volumes:
    """A batch of voxel grids: densities (N, density_dim, D, H, W) or a list of (density_dim, D_i, H_i, W_i)
    (zero-padded), optional features of the same layout and any width, and the grids' placement (voxel_size:
    a scalar, 3 values, or (1,), (3,), (N, 1) or (N, 3) tensors; volume_translation: 3 values or (3,), (1, 3),
    (N, 3) tensors). PyTorch3D's `Volumes`, plus `to_graph`.
    """

    def __init__(
        self,
        densities: _TensorBatch,
        features: Optional[_TensorBatch] = None,
        voxel_size: Union[_Scalar, _Vector] = 1.0,
        volume_translation: _Vector = (0.0, 0.0, 0.0),
        align_corners: bool = True,
    ) -> None:
        densities_, grid_sizes = _to_batch_tensor(densities, "densities")
        self.device = densities_.device
        self._densities = densities_
        self.locator = VolumeLocator(batch_size=len(self), grid_sizes=grid_sizes, voxel_size=voxel_size,
                                     volume_translation=volume_translation, device=self.device,
                                     align_corners=align_corners)
        self._features = None
        if features is not None:
            self._set_features(features)

    def __len__(self) -> int:
        return self._densities.shape[0]

    def __getitem__(self, index) -> "Volumes":
        """The selected volumes (int, slice, list of ints, bool or int64 tensor); tensors are not copied."""
        if isinstance(index, int) and not isinstance(index, bool):
            index = torch.tensor([index], dtype=torch.long)
        elif isinstance(index, (slice, list, tuple)):
            pass
        elif torch.is_tensor(index):
            if index.dim() != 1 or index.dtype.is_floating_point:
                raise IndexError(index)
        else:
            raise IndexError(index)
        if torch.is_tensor(index):
            index = index.to(self._densities.device)
        new = self.__class__(features=self.features()[index] if self._features is not None else None,
                             densities=self.densities()[index])
        self.locator._copy_transform_and_sizes(new.locator, index=index)
        return new

    def features(self) -> Optional[torch.Tensor]:
        """(N, feature_dim, D, H, W) padded features, or None."""
        return self._features

    def densities(self) -> torch.Tensor:
        """(N, density_dim, D, H, W) padded densities."""
        return self._densities

    def densities_list(self) -> List[torch.Tensor]:
        """Per-volume (density_dim, D_i, H_i, W_i) views."""
        return self._features_densities_list(self.densities())

    def features_list(self) -> Optional[List[torch.Tensor]]:
        """Per-volume (feature_dim, D_i, H_i, W_i) views, or None."""
        return None if self._features is None else self._features_densities_list(self._features)

    def _features_densities_list(self, x: torch.Tensor) -> List[torch.Tensor]:
        sizes = [[x.shape[1], *s] for s in self.get_grid_sizes().tolist()]
        return padded_to_list(x, sizes)

    def get_align_corners(self) -> bool:
        return self.locator._align_corners

    def update_padded(self, new_densities: torch.Tensor, new_features: Optional[torch.Tensor] = None) -> "Volumes":
        """A Volumes with these padded densities (and features; None drops them), sharing the locator. Padded
        tensors of the current padded spatial size are accepted for heterogeneous batches too (PyTorch3D compares
        them with the per-volume sizes and raises, so its add_pointclouds_to_volumes fails on such batches)."""
        new = copy.copy(self)
        new._set_padded("densities", new_densities)
        if new_features is None:
            new._features = None
        else:
            new._set_padded("features", new_features)
        return new

    def _set_padded(self, var_name: str, x: torch.Tensor) -> None:
        padded = self._densities.shape
        if torch.is_tensor(x) and x.ndim == 5 and x.shape[0] == padded[0] and x.shape[2:] == padded[2:] \
                and x.device == self.device:
            setattr(self, "_" + var_name, x)
        else:
            self._set_densities_features(var_name, x)

    def _set_features(self, features: _TensorBatch) -> None:
        self._set_densities_features("features", features)

    def _set_densities(self, densities: _TensorBatch) -> None:
        self._set_densities_features("densities", densities)

    def _set_densities_features(self, var_name: str, x: _TensorBatch) -> None:
        x_tensor, grid_sizes = _to_batch_tensor(x, var_name)
        if x_tensor.device != self.device:
            raise ValueError(f"`{var_name}` have to be on the same device as `self.densities`.")
        if not (self.get_grid_sizes().shape == grid_sizes.shape and torch.equal(self.get_grid_sizes(), grid_sizes)):
            raise ValueError(f"The size of every grid in `{var_name}` has to match the size of the corresponding "
                             "`densities` grid.")
        setattr(self, "_" + var_name, x_tensor)

    def clone(self) -> "Volumes":
        """Deep copy: every tensor cloned."""
        return copy.deepcopy(self)

    def to(self, device, copy: bool = False) -> "Volumes":
        """torch.Tensor.to semantics: self when already there (and not copy), else a copy on `device`."""
        device_ = _device(device)
        if not copy and self.device == device_:
            return self
        other = self.clone()
        if self.device == device_:
            return other
        other.device = device_
        other._densities = self._densities.to(device_)
        if self._features is not None:
            other._features = self._features.to(device_)
        self.locator._copy_transform_and_sizes(other.locator, device=device_)
        other.locator = other.locator.to(device_, copy)
        return other

    def cpu(self) -> "Volumes":
        return self.to("cpu")

    def cuda(self) -> "Volumes":
        return self.to("cuda")

    def get_grid_sizes(self) -> torch.LongTensor:
        return self.locator.get_grid_sizes()

    def get_local_to_world_coords_transform(self) -> Transform3d:
        return self.locator.get_local_to_world_coords_transform()

    def get_world_to_local_coords_transform(self) -> Transform3d:
        return self.get_local_to_world_coords_transform().inverse()

    def world_to_local_coords(self, points_3d_world: torch.Tensor) -> torch.Tensor:
        return self.locator.world_to_local_coords(points_3d_world)

    def local_to_world_coords(self, points_3d_local: torch.Tensor) -> torch.Tensor:
        return self.locator.local_to_world_coords(points_3d_local)

    def get_coord_grid(self, world_coordinates: bool = True) -> torch.Tensor:
        return self.locator.get_coord_grid(world_coordinates)

    # --- a volume is a graph
    def to_graph(self, connectivity: int = 6):
        """The voxel lattice as a GraphBatch: one graph per volume, one vertex per voxel of its own grid
        (D_i * H_i * W_i, in (z, y, x) raster order), "pos" = the voxel centres in world coordinates, "features" =
        densities and features concatenated per voxel ((density_dim + feature_dim) columns); edges join each voxel
        to its 6 (faces), 18 (+ edges) or 26 (+ corners) lattice neighbours, both directions."""
        from .graph import GraphBatch

        if connectivity not in _CONNECTIVITY:
            raise ValueError(f"connectivity must be 6, 18 or 26, got {connectivity!r}")
        order = _CONNECTIVITY[connectivity]
        dev = self.device
        rng = (-1, 0, 1)
        offsets = torch.tensor([(a, b, c) for a in rng for b in rng for c in rng
                                if 0 < abs(a) + abs(b) + abs(c) <= order], dtype=torch.long, device=dev)  # (K, 3)
        values = self._densities if self._features is None else torch.cat([self._densities, self._features], 1)
        coords = self.get_coord_grid(world_coordinates=True)
        sizes = [tuple(int(v) for v in s) for s in self.get_grid_sizes().tolist()]
        pos, feats, edges, num_verts, num_edges, first = [], [], [], [], [], 0
        for i, (D, H, W) in enumerate(sizes):  # one step per volume, tensor ops per voxel
            pos.append(coords[i, :D, :H, :W].reshape(-1, 3))
            feats.append(values[i, :, :D, :H, :W].reshape(values.shape[1], -1).t())
            zyx = torch.stack(torch.meshgrid(torch.arange(D, device=dev), torch.arange(H, device=dev),
                                             torch.arange(W, device=dev), indexing="ij"), -1).reshape(-1, 1, 3)
            nb = zyx + offsets  # (V, K, 3)
            size = torch.tensor([D, H, W], device=dev)
            ok = ((nb >= 0) & (nb < size)).all(-1)
            src = ((zyx[..., 0] * H + zyx[..., 1]) * W + zyx[..., 2]).expand_as(ok)[ok]
            dst = ((nb[..., 0] * H + nb[..., 1]) * W + nb[..., 2])[ok]
            edges.append(torch.stack([src, dst]) + first)
            num_verts.append(D * H * W)
            num_edges.append(int(src.shape[0]))
            first += D * H * W
        edge_index = torch.cat(edges, 1) if edges else torch.zeros((2, 0), dtype=torch.long, device=dev)
        vf = {"pos": torch.cat(pos) if pos else coords.new_zeros((0, 3)),
              "features": torch.cat(feats) if feats else values.new_zeros((0, values.shape[1]))}
        return GraphBatch.from_packed(num_verts, edge_index=edge_index, num_edges=num_edges, vertex_features=vf)


def add_pointclouds_to_volumes(
    pointclouds,
    initial_volumes: Volumes,
    mode: str = "trilinear",
    min_weight: float = 1e-4,
    rescale_features: bool = True,
    _python: bool = False,
) -> Volumes:
    """Splat a batch of point clouds (Pointclouds with features) into `initial_volumes`: returns a new Volumes
    whose densities are the initial ones plus the votes and whose features are the initial ones plus the
    vote-weighted point features (divided by the densities clamped to min_weight (trilinear) or 1 (nearest) when
    rescale_features). mode: "trilinear" (differentiable w.r.t. the points too) or "nearest". The inputs are not
    modified. PyTorch3D's add_pointclouds_to_volumes, on the add_points_to_volumes kernels."""
    from .ops.add_points_to_volumes import add_points_features_to_volume_densities_features

    if len(initial_volumes) != len(pointclouds):
        raise ValueError("'initial_volumes' and 'pointclouds' have to have the same batch size.")
    pcl_feats = pointclouds.features_padded()
    if pcl_feats is None:
        raise ValueError("'pointclouds' have to have their 'features' defined.")
    pcl_3d = pointclouds.points_padded()
    n_per = pointclouds.num_points_per_cloud().to(pcl_3d.device)
    mask = (torch.arange(pcl_3d.shape[1], device=pcl_3d.device)[None] < n_per[:, None]).to(pcl_feats.dtype)
    local = initial_volumes.world_to_local_coords(pcl_3d)
    features, densities = add_points_features_to_volume_densities_features(
        points_3d=local, points_features=pcl_feats, volume_densities=initial_volumes.densities(),
        volume_features=initial_volumes.features(), mode=mode, min_weight=min_weight, mask=mask,
        grid_sizes=initial_volumes.get_grid_sizes(), rescale_features=rescale_features, _python=_python,
        align_corners=initial_volumes.get_align_corners())
    return initial_volumes.update_padded(new_densities=densities, new_features=features)


__all__ = ["VolumeLocator", "Volumes", "add_pointclouds_to_volumes"]
