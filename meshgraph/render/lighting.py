"""Lights and materials with PyTorch3D 0.7's classes and formulas: Lambert `diffuse`, Phong `specular`,
`PointLights`, `DirectionalLights`, `AmbientLights` and `Materials` (batched TensorProperties: every field has a
leading batch size N, or 1 to broadcast).

Points and normals are (N, ..., 3) (one light / material / camera per batch element, broadcast over the rest) or
packed (P, 3) with per-point light properties (`gather_props`). The formulas, with n and l normalized (eps 1e-6):
    diffuse  = color * max(0, n . l)
    specular = color * (max(0, v . r) * [n . l > 0]) ** shininess,   r = 2 (n . l) n - l,  v = unit(camera - p)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .cameras import TensorProperties, convert_to_tensors_and_broadcast

__all__ = ["AmbientLights", "DirectionalLights", "Materials", "PointLights", "diffuse", "specular"]


def diffuse(normals: torch.Tensor, color, direction) -> torch.Tensor:
    """Lambert's cosine law: color * max(0, unit(normals) . unit(direction)).

    normals (N, ..., 3); color and direction (1, 3) / (N, 3) per batch element, or the shape of normals.
    -> (N, ..., 3).
    """
    normals, color, direction = convert_to_tensors_and_broadcast(normals, color, direction, dtype=normals.dtype,
                                                                 device=normals.device)
    shape = (-1,) + (1,) * (normals.dim() - 2) + (3,)
    if direction.shape != normals.shape:
        direction = direction.view(shape)
    if color.shape != normals.shape:
        color = color.view(shape)
    n = F.normalize(normals, p=2, dim=-1, eps=1e-6)
    d = F.normalize(direction, p=2, dim=-1, eps=1e-6)
    return color * F.relu((n * d).sum(-1))[..., None]


def specular(points: torch.Tensor, normals: torch.Tensor, direction, color, camera_position,
             shininess) -> torch.Tensor:
    """Phong's specular term: color * (max(0, v . r) * [n . l > 0]) ** shininess with the reflected light
    r = 2 (n . l) n - l and the view direction v = unit(camera_position - points).

    points, normals (N, ..., 3) (the same shape); direction, color, camera_position (N, 3) or the points' shape;
    shininess (N,) or the points' shape without the last dim. -> (N, ..., 3).
    """
    if points.shape != normals.shape:
        raise ValueError("Expected points and normals to have the same shape: got %r, %r" % (points.shape, normals.shape))
    _, color, direction, camera_position, shininess = convert_to_tensors_and_broadcast(
        points, color, direction, camera_position, shininess, dtype=points.dtype, device=points.device)
    lead = (-1,) + (1,) * (points.dim() - 2)
    if direction.shape != normals.shape:
        direction = direction.view(lead + (3,))
    if color.shape != normals.shape:
        color = color.view(lead + (3,))
    if camera_position.shape != normals.shape:
        camera_position = camera_position.view(lead + (3,))
    if shininess.shape != normals.shape:
        shininess = shininess.view(lead)
    n = F.normalize(normals, p=2, dim=-1, eps=1e-6)
    d = F.normalize(direction, p=2, dim=-1, eps=1e-6)
    cos = (n * d).sum(-1)
    lit = (cos > 0).to(cos.dtype)
    view = F.normalize(camera_position - points, p=2, dim=-1, eps=1e-6)
    reflect = -d + 2 * (cos[..., None] * n)
    alpha = F.relu((view * reflect).sum(-1)) * lit
    return color * torch.pow(alpha, shininess)[..., None]


def _check_rgb(obj, names=("ambient_color", "diffuse_color", "specular_color")) -> None:
    for n in names:
        t = getattr(obj, n)
        if t.shape[-1] != 3:
            raise ValueError("Expected %s to have shape (N, 3); got %r" % (n, t.shape))


class DirectionalLights(TensorProperties):
    """Light from one direction (the direction towards the light), the same at every point."""

    def __init__(self, ambient_color=((0.5, 0.5, 0.5),), diffuse_color=((0.3, 0.3, 0.3),),
                 specular_color=((0.2, 0.2, 0.2),), direction=((0, 1, 0),), device="cpu") -> None:
        super().__init__(device=device, ambient_color=ambient_color, diffuse_color=diffuse_color,
                         specular_color=specular_color, direction=direction)
        _check_rgb(self)
        if self.direction.shape[-1] != 3:
            raise ValueError("Expected direction to have shape (N, 3); got %r" % repr(self.direction.shape))

    def clone(self):
        return super().clone(self.__class__(device=self.device))

    def diffuse(self, normals, points=None) -> torch.Tensor:
        return diffuse(normals=normals, color=self.diffuse_color, direction=self.direction)

    def specular(self, normals, points, camera_position, shininess) -> torch.Tensor:
        return specular(points=points, normals=normals, color=self.specular_color, direction=self.direction,
                        camera_position=camera_position, shininess=shininess)


class PointLights(TensorProperties):
    """A point light at `location`: the light direction at a point p is location - p."""

    def __init__(self, ambient_color=((0.5, 0.5, 0.5),), diffuse_color=((0.3, 0.3, 0.3),),
                 specular_color=((0.2, 0.2, 0.2),), location=((0, 1, 0),), device="cpu") -> None:
        super().__init__(device=device, ambient_color=ambient_color, diffuse_color=diffuse_color,
                         specular_color=specular_color, location=location)
        _check_rgb(self)
        if self.location.shape[-1] != 3:
            raise ValueError("Expected location to have shape (N, 3); got %r" % repr(self.location.shape))

    def clone(self):
        return super().clone(self.__class__(device=self.device))

    def reshape_location(self, points) -> torch.Tensor:
        """location as (N, 3) for packed (P, 3) points (or points of its own ndim), else (N, 1, 1, 1, 3)."""
        if self.location.ndim == points.ndim:
            return self.location
        return self.location[:, None, None, None, :]

    def diffuse(self, normals, points) -> torch.Tensor:
        return diffuse(normals=normals, color=self.diffuse_color, direction=self.reshape_location(points) - points)

    def specular(self, normals, points, camera_position, shininess) -> torch.Tensor:
        return specular(points=points, normals=normals, color=self.specular_color,
                        direction=self.reshape_location(points) - points, camera_position=camera_position,
                        shininess=shininess)


class AmbientLights(TensorProperties):
    """The same light everywhere, no diffuse or specular part; any number of channels (the width of
    ambient_color, white RGB by default: then lighting leaves the texture as it is)."""

    def __init__(self, *, ambient_color=None, device="cpu") -> None:
        super().__init__(ambient_color=((1.0, 1.0, 1.0),) if ambient_color is None else ambient_color, device=device)

    def clone(self):
        return super().clone(self.__class__(device=self.device))

    def diffuse(self, normals, points) -> torch.Tensor:
        return self._zeros_channels(points)

    def specular(self, normals, points, camera_position, shininess) -> torch.Tensor:
        return self._zeros_channels(points)

    def _zeros_channels(self, points: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*points.shape[:-1], self.ambient_color.shape[-1], dtype=points.dtype, device=points.device)


class Materials(TensorProperties):
    """Reflectivities (ambient, diffuse, specular: (1, C) or (N, C)) and the specular exponent shininess ((1,) or
    (N,)) of one material per batch element."""

    def __init__(self, ambient_color=((1, 1, 1),), diffuse_color=((1, 1, 1),), specular_color=((1, 1, 1),),
                 shininess=64, device="cpu") -> None:
        super().__init__(device=device, diffuse_color=diffuse_color, ambient_color=ambient_color,
                         specular_color=specular_color, shininess=shininess)
        C = self.ambient_color.shape[-1]
        for n in ("ambient_color", "diffuse_color", "specular_color"):
            t = getattr(self, n)
            if t.shape[-1] != C:
                raise ValueError("Expected %s to have shape (N, %d); got %r" % (n, C, t.shape))
        if self.shininess.shape != torch.Size([self._N]):
            raise ValueError("shininess should have shape (N); got %r" % repr(self.shininess.shape))

    def clone(self):
        return super().clone(Materials(device=self.device))
