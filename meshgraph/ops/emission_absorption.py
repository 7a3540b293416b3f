"""emission_absorption: PyTorch3D's emission-absorption (and absorption-only) raymarching, fused along each ray:
one forward kernel and one backward kernel (a reverse and a forward scan per ray, no P x P or R x P x C
temporaries), any feature width.

Kernels: csrc/ops/emission_absorption/. Reference: meshgraph/ops/reference/implicit.py.
"""

from __future__ import annotations

import math

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor

_extension.load()


def emission_absorption(
    densities: torch.Tensor,
    features: torch.Tensor | None = None,
    eps: float = 1e-10,
    surface_thickness: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite features along rays by emission-absorption (PyTorch3D's EmissionAbsorptionRaymarcher).

    Args:
        densities: (..., P) or (..., P, 1) per-sample opacities in [0, 1] (float16 / bfloat16 / float32 / float64;
            products and sums in float32 or wider); (..., P, 1) when features is None.
        features: (..., P, C) per-sample features (any C), or None for the opacities only
            (AbsorptionOnlyRaymarcher).
        eps: added to 1 - d before the transmittance product (PyTorch3D's `eps`; it vanishes in float32, as there).
        surface_thickness: s >= 1, the shift of the transmittance: w_k = d_k prod_{j <= k - s} (1 + eps - d_j).

    Returns:
        (features (..., C), opacities (..., 1)) with opacities = 1 - prod_k (1 - d_k); differentiable w.r.t.
        densities and features (fused backward kernel). With features=None the first output has C = 0.
    """
    check_tensor(densities, "densities", min_dim=1, dtypes=FLOAT_DTYPES)
    if isinstance(surface_thickness, bool) or not isinstance(surface_thickness, int):
        raise TypeError(f"surface_thickness must be an int, got {type(surface_thickness).__name__}")
    if surface_thickness < 1:
        raise ValueError(f"surface_thickness must be >= 1, got {surface_thickness}")
    if features is None:
        if densities.dim() < 2 or densities.shape[-1] != 1:
            raise ValueError(f"without features, densities must be (..., P, 1), got {tuple(densities.shape)}")
        d = densities[..., 0]
        features = d.new_zeros((*d.shape, 0))
    else:
        check_tensor(features, "features", min_dim=2, dtypes=FLOAT_DTYPES)
        check_same_device(densities=densities, features=features)
        rays = features.shape[:-1]
        if densities.shape == rays:
            d = densities
        elif densities.shape == (*rays, 1):
            d = densities[..., 0]
        else:
            raise ValueError(f"densities must be (..., P) or (..., P, 1) for features (..., P, C) = "
                             f"{tuple(features.shape)}, got {tuple(densities.shape)}")
    dtype = torch.promote_types(d.dtype, features.dtype)
    lead, (P, C) = features.shape[:-2], features.shape[-2:]
    R = math.prod(lead)
    out, opacity = torch.ops.meshgraph.emission_absorption(
        d.to(dtype).reshape(R, P), features.to(dtype).reshape(R, P, C), float(eps), surface_thickness)
    return out.reshape(*lead, C), opacity.reshape(*lead, 1)


@torch.library.register_fake("meshgraph::emission_absorption")
def _fake(densities, features, eps, surface_thickness):
    R, _, C = features.shape
    return features.new_empty((R, C)), features.new_empty((R,))


@torch.library.register_fake("meshgraph::emission_absorption_backward")
def _fake_backward(grad_features, grad_opacities, densities, features, eps, surface_thickness):
    R, P, C = features.shape
    return features.new_empty((R, P)), features.new_empty((R, P, C))


def _setup(ctx, inputs, output):
    densities, features, eps, surface_thickness = inputs
    ctx.eps, ctx.shift = eps, surface_thickness
    ctx.save_for_backward(densities, features)


def _backward(ctx, grad_out, grad_opacity):
    densities, features = ctx.saved_tensors
    R, _, C = features.shape
    if grad_out is None:
        grad_out = features.new_zeros((R, C))
    if grad_opacity is None:
        grad_opacity = features.new_zeros((R,))
    gd, gf = torch.ops.meshgraph.emission_absorption_backward(
        grad_out.contiguous(), grad_opacity.contiguous(), densities, features, ctx.eps, ctx.shift)
    return gd, gf, None, None


def _setup_backward(ctx, inputs, output):
    grad_features, grad_opacities, densities, features, eps, surface_thickness = inputs
    ctx.eps, ctx.shift = eps, surface_thickness
    ctx.save_for_backward(grad_features, grad_opacities, densities, features)


def _backward_backward(ctx, gg_d, gg_f):
    # second order through the readable reference (the backward is a smooth function of its four inputs)
    from .reference.implicit import emission_absorption as ref

    saved = ctx.saved_tensors
    with torch.enable_grad():
        args = [t.detach().requires_grad_(True) for t in saved]
        g, go, d, f = args
        out, opacity = ref(d, f, ctx.eps, ctx.shift)
        first = torch.autograd.grad((out, opacity), (d, f), (g, go), create_graph=True)
        pairs = [(o, gg) for o, gg in zip(first, (gg_d, gg_f)) if gg is not None]
        grads = torch.autograd.grad([o for o, _ in pairs], args, [gg for _, gg in pairs], allow_unused=True)
    return (*grads, None, None)


torch.library.register_autograd("meshgraph::emission_absorption", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::emission_absorption_backward", _backward_backward,
                                setup_context=_setup_backward)

__all__ = ["emission_absorption"]
