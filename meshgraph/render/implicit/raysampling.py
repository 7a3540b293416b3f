"""Raysamplers: rays from cameras, with points along them (PyTorch3D's `pytorch3d.renderer.implicit.raysampling`).

- MultinomialRaysampler: rays through a regular grid of image points (all of them, or n_rays_per_image drawn
  without replacement where possible, optionally from a mask), depths uniform in [min_depth, max_depth];
- NDCMultinomialRaysampler: the same on PyTorch3D's NDC pixel centres (+x left, +y up, the shorter side [-1, 1]);
- MonteCarloRaysampler: rays through uniformly random real-valued image points;
- GridRaysampler / NDCGridRaysampler: the deprecated names of the first two.

Rays are unprojected with meshgraph's cameras (`cameras.unproject_points(..., from_ndc=True)`) at depths 1 and 2:
the direction is their difference and the origin the depth-1 point minus the direction (the depth-0 point), so a
length l along a ray is the point at depth l. The random draws (torch.multinomial, torch.rand, torch.randint on
the default generator) are PyTorch3D's, in its order.
"""

from __future__ import annotations

import warnings

import torch
from torch.nn import functional as F

from ...ops.packed_to_padded import padded_to_packed
from .utils import HeterogeneousRayBundle, RayBundle


class MultinomialRaysampler(torch.nn.Module):
    """Rays through the image points of a regular grid: x in linspace(min_x, max_x, image_width), y in
    linspace(min_y, max_y, image_height) (pixel centres, in the cameras' NDC), with n_pts_per_ray points at
    depths uniform in [min_depth, max_depth] (jittered within their strata with stratified_sampling).

    n_rays_per_image draws that many grid points per camera (from `mask` if given, without replacement where the
    mask allows); n_rays_total draws cameras with replacement and one ray per draw, giving a
    HeterogeneousRayBundle of shape (n_rays_total, 1, ...). Forward arguments override the constructor's."""

    def __init__(
        self,
        *,
        min_x: float,
        max_x: float,
        min_y: float,
        max_y: float,
        image_width: int,
        image_height: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        n_rays_per_image: int | None = None,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        super().__init__()
        self._n_pts_per_ray = n_pts_per_ray
        self._min_depth = min_depth
        self._max_depth = max_depth
        self._n_rays_per_image = n_rays_per_image
        self._n_rays_total = n_rays_total
        self._unit_directions = unit_directions
        self._stratified_sampling = stratified_sampling
        self.min_x, self.max_x = min_x, max_x
        self.min_y, self.max_y = min_y, max_y
        ys = torch.linspace(min_y, max_y, image_height, dtype=torch.float32)
        xs = torch.linspace(min_x, max_x, image_width, dtype=torch.float32)
        y, x = torch.meshgrid(ys, xs, indexing="ij")
        self.register_buffer("_xy_grid", torch.stack([x, y], dim=-1), persistent=False)  # (H, W, 2)

    def forward(
        self,
        cameras,
        *,
        mask: torch.Tensor | None = None,
        min_depth: float | None = None,
        max_depth: float | None = None,
        n_rays_per_image: int | None = None,
        n_pts_per_ray: int | None = None,
        stratified_sampling: bool | None = None,
        n_rays_total: int | None = None,
        **kwargs,
    ) -> RayBundle | HeterogeneousRayBundle:
        """Rays of a batch of cameras: a RayBundle with origins / directions (B, s1, s2, 3), lengths
        (B, s1, s2, n_pts_per_ray) and xys (B, s1, s2, 2), where (s1, s2) is (image_height, image_width), or
        (n, 1) for n sampled rays per image (n_rays_per_image, else the smallest mask's count when a mask is
        given); with n_rays_total a HeterogeneousRayBundle of n_rays_total rays of shape (n_rays_total, 1, ...).
        mask: (B, image_height, image_width) weights of the grid points."""
        n_rays_total = n_rays_total or self._n_rays_total
        n_rays_per_image = n_rays_per_image or self._n_rays_per_image
        if n_rays_total is not None and n_rays_per_image is not None:
            raise ValueError("`n_rays_total` and `n_rays_per_image` cannot both be defined.")
        if n_rays_total:
            cameras, mask, camera_ids, camera_counts, n_rays_per_image = _sample_cameras_and_masks(
                n_rays_total, cameras, mask)
        else:
            camera_ids = torch.arange(len(cameras), dtype=torch.long)
        batch_size = cameras.R.shape[0]
        xy_grid = self._xy_grid.to(cameras.device).expand(batch_size, -1, -1, -1)
        if mask is not None and n_rays_per_image is None:
            n_rays_per_image = int(mask.sum(dim=(1, 2)).min().int().item())  # the smallest mask's count
        if n_rays_per_image is not None:
            if mask is not None:
                if mask.shape != xy_grid.shape[:3]:
                    raise ValueError(f"mask must have shape {tuple(xy_grid.shape[:3])}, got {tuple(mask.shape)}")
                weights = mask.reshape(batch_size, -1)
            else:
                weights = xy_grid.new_ones(batch_size, xy_grid.shape[1] * xy_grid.shape[2])
            idx = _safe_multinomial(weights, int(n_rays_per_image))[..., None].expand(-1, -1, 2)
            xy_grid = torch.gather(xy_grid.reshape(batch_size, -1, 2), 1, idx)[:, :, None]
        bundle = _xy_to_ray_bundle(
            cameras,
            xy_grid,
            self._min_depth if min_depth is None else min_depth,
            self._max_depth if max_depth is None else max_depth,
            self._n_pts_per_ray if n_pts_per_ray is None else n_pts_per_ray,
            self._unit_directions,
            self._stratified_sampling if stratified_sampling is None else stratified_sampling,
        )
        return _pack_ray_bundle(bundle, camera_ids, camera_counts) if n_rays_total else bundle


class NDCMultinomialRaysampler(MultinomialRaysampler):
    """MultinomialRaysampler on the pixel centres of PyTorch3D's NDC convention (the meshes' and point clouds'
    renderers): +x left, +y up, the shorter side spanning [-1, 1] and the longer [-u, u] (u the aspect ratio)."""

    def __init__(
        self,
        *,
        image_width: int,
        image_height: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        n_rays_per_image: int | None = None,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        range_x, range_y = ((image_width / image_height, 1.0) if image_width >= image_height
                            else (1.0, image_height / image_width))
        half_w, half_h = range_x / image_width, range_y / image_height
        super().__init__(
            min_x=range_x - half_w,
            max_x=-range_x + half_w,
            min_y=range_y - half_h,
            max_y=-range_y + half_h,
            image_width=image_width,
            image_height=image_height,
            n_pts_per_ray=n_pts_per_ray,
            min_depth=min_depth,
            max_depth=max_depth,
            n_rays_per_image=n_rays_per_image,
            n_rays_total=n_rays_total,
            unit_directions=unit_directions,
            stratified_sampling=stratified_sampling,
        )


class MonteCarloRaysampler(torch.nn.Module):
    """n_rays_per_image rays per camera through image points drawn uniformly in [min_x, max_x] x [min_y, max_y],
    n_pts_per_ray points each at depths uniform in [min_depth, max_depth] (or n_rays_total rays from cameras
    drawn with replacement: a HeterogeneousRayBundle). Exactly one of n_rays_per_image / n_rays_total is given."""

    def __init__(
        self,
        min_x: float,
        max_x: float,
        min_y: float,
        max_y: float,
        n_rays_per_image: int,
        n_pts_per_ray: int,
        min_depth: float,
        max_depth: float,
        *,
        n_rays_total: int | None = None,
        unit_directions: bool = False,
        stratified_sampling: bool = False,
    ) -> None:
        super().__init__()
        self._min_x, self._max_x = min_x, max_x
        self._min_y, self._max_y = min_y, max_y
        self._n_rays_per_image = n_rays_per_image
        self._n_pts_per_ray = n_pts_per_ray
        self._min_depth = min_depth
        self._max_depth = max_depth
        self._n_rays_total = n_rays_total
        self._unit_directions = unit_directions
        self._stratified_sampling = stratified_sampling

    def forward(self, cameras, *, stratified_sampling: bool | None = None,
                **kwargs) -> RayBundle | HeterogeneousRayBundle:
        """A RayBundle with origins / directions (B, n_rays_per_image, 3), lengths (B, n_rays_per_image,
        n_pts_per_ray), xys (B, n_rays_per_image, 2); with n_rays_total a HeterogeneousRayBundle of shape
        (n_rays_total, 1, ...)."""
        if (self._n_rays_total is None) == (self._n_rays_per_image is None):
            raise ValueError("Exactly one of `self.n_rays_total` and `self.n_rays_per_image` must be given.")
        if self._n_rays_total:
            cameras, _, camera_ids, camera_counts, n_rays_per_image = _sample_cameras_and_masks(
                self._n_rays_total, cameras, None)
        else:
            camera_ids = torch.arange(len(cameras), dtype=torch.long)
            n_rays_per_image = self._n_rays_per_image
        batch_size = cameras.R.shape[0]
        n = int(n_rays_per_image)
        rays_xy = torch.cat(
            [torch.rand((batch_size, n, 1), dtype=torch.float32, device=cameras.device) * (hi - lo) + lo
             for lo, hi in ((self._min_x, self._max_x), (self._min_y, self._max_y))],
            dim=2,
        )
        stratified = self._stratified_sampling if stratified_sampling is None else stratified_sampling
        bundle = _xy_to_ray_bundle(cameras, rays_xy, self._min_depth, self._max_depth, self._n_pts_per_ray,
                                   self._unit_directions, stratified)
        return _pack_ray_bundle(bundle, camera_ids, camera_counts) if self._n_rays_total else bundle


def GridRaysampler(
    min_x: float,
    max_x: float,
    min_y: float,
    max_y: float,
    image_width: int,
    image_height: int,
    n_pts_per_ray: int,
    min_depth: float,
    max_depth: float,
) -> MultinomialRaysampler:
    """Deprecated (PyTorch3D's name): a MultinomialRaysampler with these arguments."""
    warnings.warn("GridRaysampler is deprecated, use MultinomialRaysampler instead. GridRaysampler will be "
                  "removed in future releases.", PendingDeprecationWarning, stacklevel=2)
    return MultinomialRaysampler(min_x=min_x, max_x=max_x, min_y=min_y, max_y=max_y, image_width=image_width,
                                 image_height=image_height, n_pts_per_ray=n_pts_per_ray, min_depth=min_depth,
                                 max_depth=max_depth)


def NDCGridRaysampler(
    image_width: int,
    image_height: int,
    n_pts_per_ray: int,
    min_depth: float,
    max_depth: float,
) -> NDCMultinomialRaysampler:
    """Deprecated (PyTorch3D's name): an NDCMultinomialRaysampler with these arguments."""
    warnings.warn("NDCGridRaysampler is deprecated, use NDCMultinomialRaysampler instead. NDCGridRaysampler will "
                  "be removed in future releases.", PendingDeprecationWarning, stacklevel=2)
    return NDCMultinomialRaysampler(image_width=image_width, image_height=image_height, n_pts_per_ray=n_pts_per_ray,
                                    min_depth=min_depth, max_depth=max_depth)


def _safe_multinomial(input: torch.Tensor, num_samples: int) -> torch.Tensor:
    """(B, num_samples) indices drawn from the rows of input (B, n) (non-negative weights): without replacement
    in the rows with at least num_samples non-zero weights, with replacement in the others."""
    try:
        res = torch.multinomial(input, num_samples, replacement=False)
    except RuntimeError:  # some row has too few non-zero weights
        res = torch.multinomial(input, num_samples, replacement=True)
        enough = (input > 0.0).sum(dim=-1) >= num_samples
        res[enough] = torch.multinomial(input[enough], num_samples, replacement=False)
        return res
    # torch versions that draw zero-probability entries without raising (pytorch/pytorch#50034)
    short = (input > 0.0).sum(dim=-1) < num_samples
    if short.any():
        res[short] = torch.multinomial(input[short], num_samples, replacement=True)
    return res


def _xy_to_ray_bundle(
    cameras,
    xy_grid: torch.Tensor,
    min_depth: float,
    max_depth: float,
    n_pts_per_ray: int,
    unit_directions: bool,
    stratified_sampling: bool = False,
) -> RayBundle:
    """Rays through the NDC image points xy_grid (B, ..., 2) of the cameras, with n_pts_per_ray lengths uniform
    in [min_depth, max_depth] (jittered within their strata when stratified_sampling)."""
    batch_size = xy_grid.shape[0]
    spatial = xy_grid.shape[1:-1]
    n = spatial.numel()
    lengths = xy_grid.new_empty((0,))
    if n_pts_per_ray > 0:
        depths = torch.linspace(min_depth, max_depth, n_pts_per_ray, dtype=xy_grid.dtype, device=xy_grid.device)
        lengths = depths[None, None].expand(batch_size, n, n_pts_per_ray)
        if stratified_sampling:
            lengths = _jiggle_within_stratas(lengths)
    xy = xy_grid.reshape(batch_size, 1, n, 2).expand(batch_size, 2, n, 2).reshape(batch_size, 2 * n, 2)
    depth = torch.cat([xy_grid.new_ones(batch_size, n, 1), xy_grid.new_full((batch_size, n, 1), 2.0)], dim=1)
    world = cameras.unproject_points(torch.cat([xy, depth], dim=-1), from_ndc=True)
    plane1, plane2 = world[:, :n], world[:, n:]
    directions = plane2 - plane1
    origins = plane1 - directions
    if unit_directions:
        directions = F.normalize(directions, dim=-1)
    return RayBundle(
        origins.reshape(batch_size, *spatial, 3),
        directions.reshape(batch_size, *spatial, 3),
        lengths.reshape(batch_size, *spatial, n_pts_per_ray),
        xy_grid,
    )


def _jiggle_within_stratas(bin_centers: torch.Tensor) -> torch.Tensor:
    """Each value z of the sorted rows (..., N) replaced by a uniform draw in [z - a, z + b], a and b half the
    gaps to its neighbours (0 at the row's ends)."""
    mids = 0.5 * (bin_centers[..., 1:] + bin_centers[..., :-1])
    upper = torch.cat((mids, bin_centers[..., -1:]), dim=-1)
    lower = torch.cat((bin_centers[..., :1], mids), dim=-1)
    return lower + (upper - lower) * torch.rand_like(lower)


def _sample_cameras_and_masks(n_samples: int, cameras, mask: torch.Tensor | None = None):
    """Draw n_samples cameras with replacement: (the distinct drawn cameras, their masks or None, their ids (M,),
    how often each was drawn (M,), the largest count)."""
    drawn = torch.randint(0, len(cameras), size=(n_samples,), dtype=torch.long)
    ids, counts = torch.unique(drawn, return_counts=True)
    return cameras[ids], (mask[ids] if mask is not None else None), ids, counts, torch.max(counts)


def _pack_ray_bundle(ray_bundle: RayBundle, camera_ids: torch.Tensor,
                     camera_counts: torch.Tensor) -> HeterogeneousRayBundle:
    """The first camera_counts[i] rays of camera row i of a (M, max_count, ...) bundle, packed into one
    (sum(camera_counts), 1, ...) HeterogeneousRayBundle."""
    camera_counts = camera_counts.to(ray_bundle.origins.device)
    first = torch.cumsum(camera_counts, dim=0, dtype=torch.long) - camera_counts
    total = int(camera_counts.sum())

    def pack(t: torch.Tensor) -> torch.Tensor:
        flat = t.reshape(t.shape[0], t.shape[1], -1)  # (M, max_count, ...) -> rows of the packed tensor
        return padded_to_packed(flat, first, total).reshape(total, *t.shape[2:])[:, None]

    return HeterogeneousRayBundle(
        origins=pack(ray_bundle.origins),
        directions=pack(ray_bundle.directions),
        lengths=pack(ray_bundle.lengths),
        xys=pack(ray_bundle.xys),
        camera_ids=camera_ids,
        camera_counts=camera_counts,
    )


__all__ = [
    "GridRaysampler",
    "MonteCarloRaysampler",
    "MultinomialRaysampler",
    "NDCGridRaysampler",
    "NDCMultinomialRaysampler",
]
