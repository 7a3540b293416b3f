"""symeig3x3: eigenvalues and eigenvectors of batched symmetric 3x3 matrices in one fused kernel
(PyTorch3D's `pytorch3d.common.workaround.symeig3x3`, the solver behind `estimate_pointcloud_normals`).

Kernels: csrc/ops/symeig3x3/ (Jacobi sweeps; accurate to a few eps ||A|| for any multiplicity, orthonormal
eigenvectors). Reference: meshgraph/ops/reference/symeig3x3.py (torch.linalg.eigh).
"""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_tensor

_extension.load()


def symeig3x3(inputs: torch.Tensor, eigenvectors: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Eigen-decomposition of symmetric 3x3 matrices.

    Args:
        inputs: (..., 3, 3) float16 / bfloat16 / float32 / float64 matrices; the symmetric part
            (inputs + inputs^T) / 2 is decomposed (PyTorch3D and torch.linalg.eigh expect symmetric inputs too).
        eigenvectors: also return the eigenvectors (PyTorch3D's argument; False gives None in their place).

    Returns:
        (eigenvalues (..., 3) ascending, eigenvectors (..., 3, 3) or None): column j of eigenvectors is the unit
        eigenvector of eigenvalue j. Signs: columns 0 and 1 have their largest-magnitude component positive,
        and the eigenvectors form a rotation (det = +1). A repeated eigenvalue gets an orthonormal basis of its
        eigenspace; the zero matrix gives zeros and the identity. Half types are computed in float32.

    Differentiable (the eigh backward, as a fused kernel). Where two eigenvalues coincide (to 8 eps of the
    largest), their eigenvectors are not unique: that pair contributes no gradient through the eigenvectors,
    which is exact for losses that do not depend on the basis chosen inside the repeated eigenspace (and keeps
    the gradient finite instead of torch.linalg.eigh's inf / nan). Nearly repeated eigenvalues give large
    eigenvector gradients (1 / gap), as they must.
    """
    check_tensor(inputs, "inputs", min_dim=2, dtypes=FLOAT_DTYPES)
    if tuple(inputs.shape[-2:]) != (3, 3):
        raise ValueError(f"Only inputs of shape (..., 3, 3) are supported, got {tuple(inputs.shape)}")
    values, vectors = torch.ops.meshgraph.symeig3x3(inputs)
    return values, (vectors if eigenvectors else None)


@torch.library.register_fake("meshgraph::symeig3x3")
def _fake(input):
    return input.new_empty(input.shape[:-1]), input.new_empty(input.shape)


@torch.library.register_fake("meshgraph::symeig3x3_backward")
def _fake_backward(grad_eigenvalues, grad_eigenvectors, eigenvalues, eigenvectors):
    return torch.empty_like(eigenvectors, memory_format=torch.contiguous_format)


def _setup(ctx, inputs, output):
    ctx.save_for_backward(*output)


def _backward(ctx, grad_values, grad_vectors):
    values, vectors = ctx.saved_tensors
    if grad_values is None and grad_vectors is None:
        return None
    return torch.ops.meshgraph.symeig3x3_backward(
        None if grad_values is None else grad_values.contiguous(),
        None if grad_vectors is None else grad_vectors.contiguous(),
        values,
        vectors,
    )


def _setup_backward(ctx, inputs, output):
    gw, gv, values, vectors = inputs
    ctx.has = (gw is not None, gv is not None)
    ctx.save_for_backward(*(t for t in (gw, gv) if t is not None), values, vectors)


def _backward_backward(ctx, gg):
    # second order through the readable reference (the backward is a smooth function of its four inputs)
    from .reference.symeig3x3 import symeig3x3_backward as ref

    saved = list(ctx.saved_tensors)
    gw = saved.pop(0) if ctx.has[0] else None
    gv = saved.pop(0) if ctx.has[1] else None
    values, vectors = saved
    with torch.enable_grad():
        args = [None if t is None else t.detach().requires_grad_(True) for t in (gw, gv, values, vectors)]
        out = ref(*args)
        live = [a for a in args if a is not None]
        res = iter(torch.autograd.grad(out, live, gg, allow_unused=True))
        return tuple(None if a is None else next(res) for a in args)


torch.library.register_autograd("meshgraph::symeig3x3", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::symeig3x3_backward", _backward_backward, setup_context=_setup_backward)

__all__ = ["symeig3x3"]
