"""Lit mesh shaders with PyTorch3D 0.7's interface: `shader(fragments, meshes, **kwargs) -> (N, H, W, C + 1)`
images (the last channel the alpha), cameras / lights / materials / blend_params given at construction or per call.

Hard shaders keep the nearest face of each pixel (`hard_rgb_blend`), soft ones blend the K faces with the soft
rasterizer's weights (`softmax_rgb_blend`, znear / zfar from the cameras). Textures are sampled with
`meshes.sample_textures(fragments)` (any texture class of meshgraph.render.textures, or PyTorch3D's protocol).

Beyond PyTorch3D, every lit shader takes `alpha=` per call (order-independent transparency): a float, a (F,)
per-face tensor (packed faces), an (N, H, W, K) per-slot tensor, or "texture" (the 4th channel of RGBA texels;
Phong and flat shaders). The K faces of each pixel are then composited front to back with the "over" operator
(`alpha_rgb_blend`) instead of the hard / soft blend; rasterize with faces_per_pixel > 1 to see through faces.
"""

from __future__ import annotations

import warnings

import torch

from .blend import BlendParams, alpha_rgb_blend, hard_rgb_blend, slot_alphas, softmax_rgb_blend
from .lighting import Materials, PointLights
from .renderer import SoftSilhouetteShader
from .shading import flat_shading, gouraud_shading, phong_shading

__all__ = [
    "HardDepthShader",
    "HardFlatShader",
    "HardGouraudShader",
    "HardPhongShader",
    "ShaderBase",
    "SoftDepthShader",
    "SoftGouraudShader",
    "SoftPhongShader",
    "SoftSilhouetteShader",
    "TexturedSoftPhongShader",
]


class ShaderBase(torch.nn.Module):
    """Holds the cameras (optional until forward), lights (a PointLights by default), materials (Materials()) and
    blend_params (BlendParams()); forward's keyword arguments of the same names override them for one call."""

    def __init__(self, device="cpu", cameras=None, lights=None, materials=None,
                 blend_params: BlendParams | None = None) -> None:
        super().__init__()
        self.lights = lights if lights is not None else PointLights(device=device)
        self.materials = materials if materials is not None else Materials(device=device)
        self.cameras = cameras
        self.blend_params = blend_params if blend_params is not None else BlendParams()

    def _get_cameras(self, **kwargs):
        cameras = kwargs.get("cameras", self.cameras)
        if cameras is None:
            raise ValueError("Cameras must be specified either at initialization or in the forward pass of the shader.")
        return cameras

    def to(self, device):
        if self.cameras is not None:
            self.cameras = self.cameras.to(device)
        self.materials = self.materials.to(device)
        self.lights = self.lights.to(device)
        return self

    def _lit(self, shading, fragments, meshes, cameras, kwargs: dict, textured: bool = True):
        """(colours (N, H, W, K, C), per-slot alphas (N, H, W, K) or None when kwargs give no `alpha`)."""
        args = dict(meshes=meshes, fragments=fragments, lights=kwargs.get("lights", self.lights), cameras=cameras,
                    materials=kwargs.get("materials", self.materials))
        alpha = kwargs.get("alpha", None)
        if textured:
            texels = meshes.sample_textures(fragments)
            if isinstance(alpha, str):
                if alpha != "texture" or texels.shape[-1] != 4:
                    raise ValueError("alpha='texture' needs RGBA textures (4 channels), got "
                                     f"alpha={alpha!r} with {texels.shape[-1]} channels")
                texels, alpha = texels[..., :3], texels[..., 3]
            args["texels"] = texels
        elif isinstance(alpha, str):
            raise ValueError(f"alpha={alpha!r}: {type(self).__name__} lights vertex colours (no RGBA texels); give a "
                             "float, a (F,) per-face or an (N, H, W, K) per-slot alpha")
        return shading(**args), (None if alpha is None else slot_alphas(alpha, fragments, meshes))

    def _blend(self, colors, alphas, fragments, blend_params, soft_range=None) -> torch.Tensor:
        """alpha_rgb_blend when alphas are given, else softmax_rgb_blend (soft_range = (znear, zfar)) or hard."""
        if alphas is not None:
            return alpha_rgb_blend(colors, alphas.to(colors.dtype), fragments, blend_params)
        if soft_range is not None:
            return softmax_rgb_blend(colors, fragments, blend_params, znear=soft_range[0], zfar=soft_range[1])
        return hard_rgb_blend(colors, fragments, blend_params)


def _zrange(cameras, kwargs):
    return kwargs.get("znear", getattr(cameras, "znear", 1.0)), kwargs.get("zfar", getattr(cameras, "zfar", 100.0))


class HardPhongShader(ShaderBase):
    """Per-pixel lighting (`phong_shading`) of the texture, nearest face per pixel."""

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        cameras = self._get_cameras(**kwargs)
        colors, alphas = self._lit(phong_shading, fragments, meshes, cameras, kwargs)
        return self._blend(colors, alphas, fragments, kwargs.get("blend_params", self.blend_params))


class SoftPhongShader(ShaderBase):
    """Per-pixel lighting (`phong_shading`) of the texture, the K faces blended (`softmax_rgb_blend`)."""

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        cameras = self._get_cameras(**kwargs)
        colors, alphas = self._lit(phong_shading, fragments, meshes, cameras, kwargs)
        return self._blend(colors, alphas, fragments, kwargs.get("blend_params", self.blend_params),
                           _zrange(cameras, kwargs))


class HardGouraudShader(ShaderBase):
    """Per-vertex lighting (`gouraud_shading`, TexturesVertex only), nearest face per pixel."""

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        cameras = self._get_cameras(**kwargs)
        colors, alphas = self._lit(gouraud_shading, fragments, meshes, cameras, kwargs, textured=False)
        return self._blend(colors, alphas, fragments, kwargs.get("blend_params", self.blend_params))


class SoftGouraudShader(ShaderBase):
    """Per-vertex lighting (`gouraud_shading`, TexturesVertex only), the K faces blended with the shader's own
    blend_params (PyTorch3D's SoftGouraudShader reads no per-call blend_params)."""

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        cameras = self._get_cameras(**kwargs)
        colors, alphas = self._lit(gouraud_shading, fragments, meshes, cameras, kwargs, textured=False)
        return self._blend(colors, alphas, fragments, self.blend_params, _zrange(cameras, kwargs))


def TexturedSoftPhongShader(device="cpu", cameras=None, lights=None, materials=None,
                            blend_params: BlendParams | None = None) -> SoftPhongShader:
    """Deprecated name of SoftPhongShader (PyTorch3D keeps it as a function)."""
    warnings.warn("TexturedSoftPhongShader is now deprecated; use SoftPhongShader instead.", PendingDeprecationWarning)
    return SoftPhongShader(device=device, cameras=cameras, lights=lights, materials=materials, blend_params=blend_params)


class HardFlatShader(ShaderBase):
    """Per-face lighting (`flat_shading`) of the texture, nearest face per pixel."""

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        cameras = self._get_cameras(**kwargs)
        colors, alphas = self._lit(flat_shading, fragments, meshes, cameras, kwargs)
        return self._blend(colors, alphas, fragments, kwargs.get("blend_params", self.blend_params))


class HardDepthShader(ShaderBase):
    """(N, H, W, 1) depth of the nearest face, the cameras' zfar (or 100) where no face covers the pixel."""

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        cameras = self._get_cameras(**kwargs)
        zfar = kwargs.get("zfar", getattr(cameras, "zfar", 100.0))
        empty = fragments.pix_to_face[..., 0:1] < 0
        zbuf = fragments.zbuf[..., 0:1].clone()
        zbuf[empty] = zfar
        return zbuf


class SoftDepthShader(ShaderBase):
    """(N, H, W, 1) soft depth: the K depths (then zfar) weighted by the increments of the clamped running sum
    of the faces' coverage probabilities sigmoid(-dists / sigma)."""

    def forward(self, fragments, meshes, **kwargs) -> torch.Tensor:
        if fragments.dists is None:
            raise ValueError("SoftDepthShader requires Fragments.dists to be present.")
        cameras = self._get_cameras(**kwargs)
        N, H, W, K = fragments.pix_to_face.shape
        zbuf = fragments.zbuf
        zfar = kwargs.get("zfar", getattr(cameras, "zfar", 100.0))
        prob = torch.sigmoid(-fragments.dists / self.blend_params.sigma) * (fragments.pix_to_face >= 0)
        ones = torch.ones((N, H, W, 1), dtype=zbuf.dtype, device=zbuf.device)
        depths = torch.cat((zbuf, ones * zfar), dim=3)
        probs = torch.cat((prob, ones), dim=3).cumsum(dim=3).clamp(max=1)
        probs = probs.diff(dim=3, prepend=torch.zeros_like(ones))
        return (probs * depths).sum(dim=3).unsqueeze(3)
