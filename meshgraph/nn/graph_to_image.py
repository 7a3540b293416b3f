"""GraphToImage: one differentiable layer from a batch of graphs (meshes, clouds, any graph with positions) and
cameras to (N, C, H, W) feature images."""

from __future__ import annotations

import torch

from .._utils import check_nonnegative_int, check_positive_int, first_from_counts, values_are_free
from ..graph import GraphBatch
from ..ops.composite_points import MODES as COMPOSITORS, composite_validated
from ..ops.packed_to_padded import packed_to_padded, padded_to_packed
from ..ops.rasterize_points import image_hw
from ..render.blend import hard_blend, softmax_blend
from ..render.cameras import CamerasBase
from ..render.clip import split_faces_near


def _per_graph(cameras: CamerasBase, n: int) -> CamerasBase:
    if len(cameras) not in (1, n):
        raise ValueError(f"cameras hold {len(cameras)} views but the graph batch has {n} graphs (give 1 or {n})")
    return cameras


def _apply_padded(fn, packed: torch.Tensor, first: torch.Tensor, max_size: int, count: int) -> torch.Tensor:
    """fn on the (N, M, 3) padded view of packed (P, 3) rows, packed again (differentiable both ways)."""
    if packed.shape[0] == 0:
        return packed
    padded = packed_to_padded(packed, first, max_size)
    return padded_to_packed(fn(padded), first, count)


class GraphToImage(torch.nn.Module):
    """Render a vertex feature of every graph of a GraphBatch from the given cameras.

    mode "points": every vertex is a disk of `radius` (NDC; a float, a vertex-feature name or a packed (V,) tensor
    for per-point radii; radii get no gradient) rasterized with `rasterize_points`; the
    `points_per_pixel` nearest are blended by `compositor` ("alpha", "norm_weighted", "weighted_sum") with
    alpha = 1 - d^2 / r^2 (PyTorch3D's PointsRenderer). Works for any graph with positions.
    mode "mesh": the graph's faces are rasterized with `rasterize_meshes` (perspective-correct for perspective
    cameras, faces crossing z = z_clip_value in view space clipped there) and the vertex feature interpolated
    with barycentrics; `blend` "hard" takes the nearest face, "softmax" the soft rasterizer's blend over
    `faces_per_pixel` faces (use blur_radius > 0, sigma, gamma).

    forward(graph, cameras, feature=None) -> (N, C, H, W). `feature` is a vertex-feature name of the graph or a
    packed (V, C) tensor; default: the module's `feature`, else ones (a silhouette). Differentiable w.r.t. the
    positions and the features.
    """

    def __init__(self, image_size=256, mode: str = "points", feature: str | None = None, radius: float = 0.01,
                 points_per_pixel: int = 8, compositor: str = "alpha", faces_per_pixel: int = 1,
                 blur_radius: float = 0.0, blend: str = "hard", sigma: float = 1e-4, gamma: float = 1e-4,
                 background=None, perspective_correct: bool | None = None, cull_backfaces: bool = False,
                 z_clip_value: float | None = 1e-3, bin_size: int | None = None):
        super().__init__()
        self.image_size = image_hw(image_size)
        if mode not in ("points", "mesh"):
            raise ValueError(f"mode must be 'points' or 'mesh', got {mode!r}")
        if compositor not in COMPOSITORS:
            raise ValueError(f"compositor must be one of {sorted(COMPOSITORS)}, got {compositor!r}")
        if blend not in ("hard", "softmax"):
            raise ValueError(f"blend must be 'hard' or 'softmax', got {blend!r}")
        if isinstance(radius, (int, float)) and not isinstance(radius, bool):
            if not radius > 0:
                raise ValueError(f"radius must be positive, got {radius!r}")
            radius = float(radius)
        elif not isinstance(radius, (str, torch.Tensor)):
            raise TypeError(f"radius must be a float, a vertex-feature name or a (V,) tensor, got {type(radius).__name__}")
        points_per_pixel = check_positive_int(points_per_pixel, "points_per_pixel")
        faces_per_pixel = check_positive_int(faces_per_pixel, "faces_per_pixel")
        if bin_size is not None:
            bin_size = check_nonnegative_int(bin_size, "bin_size")
        if not blur_radius >= 0:
            raise ValueError(f"blur_radius must be >= 0, got {blur_radius!r}")
        self.mode, self.feature, self.radius = mode, feature, radius
        self.points_per_pixel, self.compositor = points_per_pixel, compositor
        self.faces_per_pixel, self.blur_radius, self.blend = faces_per_pixel, float(blur_radius), blend
        self.sigma, self.gamma, self.background = sigma, gamma, background
        self.perspective_correct, self.cull_backfaces = perspective_correct, cull_backfaces
        self.z_clip_value, self.bin_size = z_clip_value, bin_size

    def _features(self, graph: GraphBatch, feature) -> torch.Tensor:
        feature = self.feature if feature is None else feature
        pos = graph.pos_packed()
        if feature is None:
            return pos.new_ones(pos.shape[0], 1)
        if isinstance(feature, str):
            x = graph.packed(feature)
        elif isinstance(feature, torch.Tensor):
            x = feature
        else:
            raise TypeError(f"feature must be a vertex-feature name or a (V, C) tensor, got {type(feature).__name__}")
        if x.shape[0] != pos.shape[0]:
            raise ValueError(f"feature has {x.shape[0]} rows but the graph batch has {pos.shape[0]} vertices")
        if x.dim() == 1:
            x = x[:, None]
        if x.dim() != 2:
            raise ValueError(f"feature must be (V, C), got shape {tuple(x.shape)}")
        return x.to(pos.dtype)

    def forward(self, graph: GraphBatch, cameras: CamerasBase, feature=None) -> torch.Tensor:
        if not isinstance(graph, GraphBatch):
            raise TypeError(f"graph must be a GraphBatch, got {type(graph).__name__}")
        if not isinstance(cameras, CamerasBase):
            raise TypeError(f"cameras must be meshgraph.render cameras, got {type(cameras).__name__}")
        cams = _per_graph(cameras, graph.num_graphs)
        feats = self._features(graph, feature)
        if self.mode == "points":
            return self._points(graph, cams, feats)
        return self._mesh(graph, cams, feats)

    def _points(self, graph, cams, feats):
        H, W = self.image_size
        pos = graph.pos_packed()
        first, V = graph.first_idxs, pos.shape[0]
        raster = _apply_padded(cams.transform_points_raster, pos, first, graph.max_verts, V)
        if isinstance(self.radius, float):
            radius = torch.full((V,), self.radius, dtype=pos.dtype, device=pos.device)
        else:
            radius = graph.packed(self.radius) if isinstance(self.radius, str) else self.radius
            radius = radius.detach().reshape(-1).to(pos.dtype)
            if radius.shape[0] != V:
                raise ValueError(f"radius has {radius.shape[0]} entries but the graph batch has {V} vertices")
            # read only where free (CPU); on CUDA a vertex with radius <= 0 is simply not drawn (no device sync)
            if values_are_free(radius) and not bool((radius > 0).all()):
                raise ValueError("radius must be positive for every vertex")
        idx, _, dists = torch.ops.meshgraph.rasterize_points(
            raster, first, graph.num_verts_per_graph.to(pos.device), radius, H, W, self.points_per_pixel,
            self.bin_size)
        r2 = radius.square()[idx.clamp_min(0)]
        alphas = torch.where(idx >= 0, 1 - dists / r2, 0)
        # idx comes from the rasterizer: no per-call data checks (each would be a device sync)
        return composite_validated(feats, alphas.to(feats.dtype), idx, self.compositor, self.background)

    def _mesh(self, graph, cams, feats):
        H, W = self.image_size
        if graph.num_faces == 0:
            raise ValueError("mode='mesh' needs faces: this GraphBatch has none (use mode='points')")
        pos = graph.pos_packed()
        first, V = graph.first_idxs, pos.shape[0]
        view = _apply_padded(cams.transform_points_view, pos, first, graph.max_verts, V)
        faces = graph.faces_packed().long()
        persp = cams.is_perspective() if self.perspective_correct is None else self.perspective_correct
        # Face counts are the GraphBatch's (host ints): no device sync. Near-plane clipping uses the fixed-size
        # split (2 output faces per face, barycentrics mapped back to the input face), also sync-free.
        clip = self.z_clip_value is not None and cams.is_perspective()
        per_face = 2 if clip else 1
        if clip:
            verts, rfaces, weights = split_faces_near(view, faces, float(self.z_clip_value))
        else:
            verts, rfaces, weights = view, faces, None
        counts = graph.num_faces_per_graph.to(pos.device) * per_face  # the batch's cached tensor
        ffirst = first_from_counts(counts)
        F = rfaces.shape[0]
        fv_view = verts[rfaces]  # (F, 3, 3)
        fmax = per_face * max(graph.sizes("faces"), default=0)
        padded = packed_to_padded(fv_view.reshape(F, 9), ffirst, fmax).reshape(graph.num_graphs, fmax * 3, 3)
        raster = cams.view_to_raster(padded).reshape(graph.num_graphs, fmax, 9)
        fv = padded_to_packed(raster, ffirst, F).reshape(F, 3, 3)
        p2f, zbuf, bary, dists = torch.ops.meshgraph.rasterize_meshes(
            fv, ffirst, counts, H, W, self.blur_radius, self.faces_per_pixel,
            self.bin_size, bool(persp),
            self.blend == "softmax" and self.blur_radius > 0, bool(self.cull_backfaces))
        if clip:  # back to the input faces: face g // 2, barycentrics b @ weights[g]
            hit = p2f >= 0
            g = p2f.clamp_min(0)
            bary = torch.where(hit[..., None], (bary[..., None, :] @ weights[g].to(bary.dtype)).squeeze(-2), bary)
            p2f = torch.where(hit, torch.div(p2f, 2, rounding_mode="floor"), p2f)
        # p2f comes from the rasterizer, faces from the GraphBatch (checked when it was built): the raw op directly,
        # without the wrapper's per-call min / max reads (device syncs)
        slots = torch.ops.meshgraph.interpolate_face_attributes(p2f, bary.to(feats.dtype), feats, faces)
        if self.blend == "hard":
            return hard_blend(slots, p2f, self.background)
        # depth range of the soft blend, per camera (PyTorch3D's softmax_rgb_blend): the FoV cameras' clipping
        # planes, PyTorch3D's defaults otherwise; kept as tensors (no device sync)
        znear = cams.znear if hasattr(cams, "znear") else 1.0
        zfar = cams.zfar if hasattr(cams, "zfar") else 100.0
        return softmax_blend(slots, p2f, zbuf, dists, self.sigma, self.gamma, self.background, znear, zfar)
