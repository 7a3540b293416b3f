"""box3d_overlap: exact intersection volume and IoU of oriented 3D boxes (PyTorch3D's `pytorch3d.ops.iou_box3d`).

Kernels: csrc/ops/box3d_overlap/ (faces of each box clipped by the other's half-spaces, volume by the divergence
theorem; CPU parallel over pairs, CUDA one thread per pair). Reference: meshgraph/ops/reference/box3d.py (the
polytope of the twelve half-spaces, vertex enumeration).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import _extension
from .._utils import FLOAT_DTYPES, can_inspect_values, check_same_device, check_tensor

_extension.load()

# the quad faces and the triangles of the 8 corners (PyTorch3D's _box_planes / _box_triangles)
_box_planes = [
    [0, 1, 2, 3],
    [3, 2, 6, 7],
    [0, 1, 5, 4],
    [0, 3, 7, 4],
    [1, 2, 6, 5],
    [4, 5, 6, 7],
]
_box_triangles = [
    [0, 1, 2],
    [0, 3, 2],
    [4, 5, 6],
    [4, 6, 7],
    [1, 5, 6],
    [1, 6, 2],
    [0, 4, 7],
    [0, 7, 3],
    [3, 2, 6],
    [3, 6, 7],
    [0, 1, 5],
    [0, 4, 5],
]


def _check_coplanar(boxes: torch.Tensor, eps: float = 1e-4) -> None:
    """ValueError("Plane vertices are not coplanar") unless each face's fourth corner lies within eps of the plane
    of its first three (PyTorch3D's check, in float32 or wider)."""
    b = boxes.float() if boxes.dtype in (torch.float16, torch.bfloat16) else boxes
    verts = b[:, torch.tensor(_box_planes, device=b.device)]  # (B, 6, 4, 3)
    v0, v1, v2, v3 = verts.unbind(2)
    normal = F.normalize(torch.linalg.cross(F.normalize(v1 - v0, dim=-1), F.normalize(v2 - v0, dim=-1), dim=-1),
                         dim=-1)
    if not bool((((v3 - v0) * normal).sum(-1).abs() < eps).all()):
        raise ValueError("Plane vertices are not coplanar")


def _check_nonzero(boxes: torch.Tensor, eps: float = 1e-4) -> None:
    """ValueError("Planes have zero areas") when a triangle of a face has area below eps (PyTorch3D's check)."""
    b = boxes.float() if boxes.dtype in (torch.float16, torch.bfloat16) else boxes
    verts = b[:, torch.tensor(_box_triangles, device=b.device)]  # (B, 12, 3, 3)
    v0, v1, v2 = verts.unbind(2)
    if bool((torch.linalg.cross(v1 - v0, v2 - v0, dim=-1).norm(dim=-1) / 2 < eps).any()):
        raise ValueError("Planes have zero areas")


def box3d_overlap(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """Intersection volume and IoU of every box of boxes1 with every box of boxes2.

    Args:
        boxes1: (N, 8, 3) corners, boxes2: (M, 8, 3) corners, one float dtype (float16 / bfloat16 / float32 /
            float64) and device, in PyTorch3D's order (the unit box is [[0,0,0], [1,0,0], [1,1,0], [0,1,0],
            [0,0,1], [1,0,1], [1,1,1], [0,1,1]]): faces {0,1,2,3}, {3,2,6,7}, {0,1,5,4}, {0,3,7,4}, {1,2,6,5},
            {4,5,6,7}, each planar, the box convex.
        eps: tolerance of the degenerate-box checks (PyTorch3D's): ValueError "Plane vertices are not coplanar"
            when a face's fourth corner is farther than eps from the plane of its first three, "Planes have zero
            areas" when a face triangle's area is below eps. As in PyTorch3D these read the values (one device
            sync on CUDA); they are skipped under torch.compile tracing.

    Returns:
        vol (N, M): the exact volume of each intersection; iou (N, M): vol / (vol1 + vol2 - vol). In the boxes'
        dtype (PyTorch3D: float32 only), computed in float32 for the half types. Identical boxes give iou 1,
        disjoint or face-touching boxes 0.

    Not differentiable, as in PyTorch3D: backward raises ValueError("box3d_overlap backward is not supported").
    The pure-PyTorch `meshgraph.ops.reference.box3d.box3d_overlap` gives the same values (slowly).
    """
    for name, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        check_tensor(b, name, dtypes=FLOAT_DTYPES)
        if b.dim() != 3 or tuple(b.shape[1:]) != (8, 3):
            raise ValueError("Each box in the batch must be of shape (8, 3)")
    if boxes1.dtype != boxes2.dtype:
        raise TypeError(f"boxes1 and boxes2 must have the same dtype, got {boxes1.dtype} and {boxes2.dtype}")
    check_same_device(boxes1=boxes1, boxes2=boxes2)
    if can_inspect_values(boxes1, boxes2):
        _check_coplanar(boxes1, eps)
        _check_coplanar(boxes2, eps)
        _check_nonzero(boxes1, eps)
        _check_nonzero(boxes2, eps)
    return torch.ops.meshgraph.box3d_overlap(boxes1, boxes2)


@torch.library.register_fake("meshgraph::box3d_overlap")
def _fake(boxes1, boxes2):
    shape = (boxes1.shape[0], boxes2.shape[0])
    return boxes1.new_empty(shape), boxes1.new_empty(shape)


def _setup(ctx, inputs, output):
    pass


def _backward(ctx, grad_vol, grad_iou):
    raise ValueError("box3d_overlap backward is not supported")


torch.library.register_autograd("meshgraph::box3d_overlap", _backward, setup_context=_setup)

__all__ = ["box3d_overlap"]
