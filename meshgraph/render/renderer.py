"""Renderer modules with PyTorch3D's interface: `MeshRenderer(rasterizer, shader)`, `MeshRendererWithFragments`,
`PointsRenderer(rasterizer, compositor)`, and the shaders meshgraph has: `SoftSilhouetteShader` (PyTorch3D's) and
`VertexFeatureShader` (meshgraph's: any vertex feature of any width, hard or soft blend). Images are (N, H, W, C)
as in PyTorch3D (shaders append an alpha channel)."""

from __future__ import annotations

import torch

from ..ops.interpolate_face_attributes import interpolate_vertex_features
from .blend import BlendParams, alpha_rgb_blend, hard_rgb_blend, sigmoid_alpha_rgba, slot_alphas, softmax_rgb_blend


class MeshRenderer(torch.nn.Module):
    """images = shader(rasterizer(meshes_world, **kwargs), meshes_world, **kwargs)."""

    def __init__(self, rasterizer, shader) -> None:
        super().__init__()
        self.rasterizer = rasterizer
        self.shader = shader

    def to(self, device):
        self.rasterizer.to(device)
        self.shader.to(device)
        return self

    def forward(self, meshes_world, **kwargs) -> torch.Tensor:
        fragments = self.rasterizer(meshes_world, **kwargs)
        return self.shader(fragments, meshes_world, **kwargs)


class MeshRendererWithFragments(MeshRenderer):
    """MeshRenderer that also returns the fragments: (images, fragments)."""

    def forward(self, meshes_world, **kwargs):
        fragments = self.rasterizer(meshes_world, **kwargs)
        return self.shader(fragments, meshes_world, **kwargs), fragments


class SoftSilhouetteShader(torch.nn.Module):
    """Soft silhouette (PyTorch3D's): (N, H, W, 4) with ones as RGB and alpha 1 - prod_k (1 - sigmoid(-d_k /
    sigma)). Pair it with blur_radius = log(1 / 1e-4 - 1) * sigma for SoftRasterizer's behaviour."""

    def __init__(self, blend_params: BlendParams | None = None) -> None:
        super().__init__()
        self.blend_params = BlendParams() if blend_params is None else blend_params

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        blend_params = kwargs.get("blend_params", self.blend_params)
        return sigmoid_alpha_rgba(torch.ones_like(fragments.bary_coords), fragments, blend_params)


def _vertex_features(meshes, feature) -> torch.Tensor:
    """(V, C) per-vertex values: a tensor, a vertex-feature name of a GraphBatch, the mesh's vertex texture
    (`textures.verts_features_packed()`), else ones (a silhouette)."""
    if isinstance(feature, torch.Tensor):
        x = feature
    elif isinstance(feature, str):
        x = meshes.packed(feature)
    else:
        textures = getattr(meshes, "textures", None)
        if textures is not None and hasattr(textures, "verts_features_packed"):
            x = textures.verts_features_packed()
        else:
            verts = meshes.verts_packed() if hasattr(meshes, "verts_packed") else meshes.pos_packed()
            x = verts.new_ones(verts.shape[0], 1)
    return x[:, None] if x.dim() == 1 else x


class VertexFeatureShader(torch.nn.Module):
    """meshgraph's feature shader: interpolates a per-vertex feature of any width C with the barycentrics and
    blends the K slots, hard (the nearest face; background where empty) or soft (`softmax_rgb_blend`, for blurred
    rasterization). -> (N, H, W, C + 1), the last channel the alpha.

    feature: a (V, C) packed tensor, a GraphBatch vertex-feature name or None (the mesh's texture: a
    TexturesVertex's features, a TexturesUV / TexturesAtlas sampled at the fragments; else ones);
    forward(fragments, meshes, feature=...) overrides it, blend_params too. blend_params.background_color
    must be a float or have C entries.

    alpha (order-independent transparency, overrides `soft`): a float, a (F,) per-face tensor or an (N, H, W, K)
    per-slot tensor; the K faces are then composited front to back (`alpha_rgb_blend`).
    """

    def __init__(self, feature=None, blend_params: BlendParams | None = None, soft: bool = False,
                 znear: float | torch.Tensor = 1.0, zfar: float | torch.Tensor = 100.0, alpha=None) -> None:
        super().__init__()
        self.feature, self.soft, self.znear, self.zfar, self.alpha = feature, soft, znear, zfar, alpha
        self.blend_params = BlendParams() if blend_params is None else blend_params

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        blend_params = kwargs.get("blend_params", self.blend_params)
        feature = kwargs.get("feature", self.feature)
        textures = getattr(meshes, "textures", None)
        if feature is None and textures is not None and not hasattr(textures, "verts_features_packed"):
            slots = meshes.sample_textures(fragments)  # a UV map / atlas of any width C
        else:
            feats = _vertex_features(meshes, feature)
            slots = interpolate_vertex_features(fragments.pix_to_face, fragments.bary_coords.to(feats.dtype),
                                                meshes.faces_packed(), feats)
        alpha = kwargs.get("alpha", self.alpha)
        if alpha is not None:
            return alpha_rgb_blend(slots, slot_alphas(alpha, fragments, meshes).to(slots.dtype), fragments, blend_params)
        if self.soft:
            return softmax_rgb_blend(slots, fragments, blend_params, kwargs.get("znear", self.znear),
                                     kwargs.get("zfar", self.zfar))
        return hard_rgb_blend(slots, fragments, blend_params)


class PointsRenderer(torch.nn.Module):
    """images = compositor(fragments.idx, 1 - dists / r^2, features) of `rasterizer(point_clouds)`, (N, H, W, C)
    (PyTorch3D's PointsRenderer; the features are `point_clouds.features_packed()`). A tensor radius gives each
    point its own r."""

    def __init__(self, rasterizer, compositor) -> None:
        super().__init__()
        self.rasterizer = rasterizer
        self.compositor = compositor

    def to(self, device):
        self.rasterizer = self.rasterizer.to(device)
        self.compositor = self.compositor.to(device)
        return self

    def forward(self, point_clouds, **kwargs) -> torch.Tensor:
        fragments = self.rasterizer(point_clouds, **kwargs)
        r = self.rasterizer.raster_settings.radius
        dists2 = fragments.dists.permute(0, 3, 1, 2)
        if isinstance(r, (int, float)):
            weights = 1 - dists2 / (r * r)
        else:  # one radius per point: r of the point in each slot
            from ..ops.rasterize_points import pack_clouds, packed_radius

            packed, _, size, mask = pack_clouds(point_clouds)
            radius = packed_radius(r, point_clouds, packed, size, mask)
            r2 = radius.square()[fragments.idx.clamp_min(0)].permute(0, 3, 1, 2)
            weights = 1 - dists2 / r2
        images = self.compositor(fragments.idx.long().permute(0, 3, 1, 2), weights,
                                 point_clouds.features_packed().permute(1, 0), **kwargs)
        return images.permute(0, 2, 3, 1)
