"""winding_number: exact generalized winding numbers of packed points with respect to packed meshes and their
gradient (ops winding_number, winding_number_backward; kernels: csrc/ops/winding_number/, hierarchical over the BVH
of op mesh_bvh on CPU and CUDA). The mesh-level functions (winding_number, points_inside_mesh, signed_distance,
mesh_to_voxels) are in meshgraph.ops.mesh_queries."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import first_from_counts
from .mesh_bvh import MeshBVH, packed_query_bvh

_extension.load()


def winding_number_packed(points: torch.Tensor, cloud_sizes: torch.Tensor, verts: torch.Tensor, faces: torch.Tensor,
                          mesh_sizes: torch.Tensor, bvh: MeshBVH | None = None) -> torch.Tensor:
    """Generalized winding number (P,) of packed points (P, 3) in N groups of `cloud_sizes` with respect to the
    packed triangles `faces` (F, 3) (global indices into verts (V, 3)) in N meshes of `mesh_sizes`: the sum of the
    triangles' signed solid angles / (4 pi). 1 inside, 0 outside a closed outward-oriented mesh; fractional for
    open meshes and soups. Exact (hierarchical evaluation over a BVH, up to rounding). `bvh`: the meshes'
    MeshBVH (mesh_bvh_packed) to reuse; built here when None.

    Differentiable w.r.t. the points and the vertices (exact away from the surface; the BVH is held fixed). Any
    float dtype (float16 / bfloat16 computed in float32); the result has the points' dtype."""
    bvh = packed_query_bvh(points, cloud_sizes, verts, faces, mesh_sizes, bvh)
    return torch.ops.meshgraph.winding_number(points, first_from_counts(cloud_sizes), cloud_sizes, verts, faces, *bvh)


@torch.library.register_fake("meshgraph::winding_number")
def _fake(points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start, chain_edge):
    return points.new_empty((points.shape[0],))


@torch.library.register_fake("meshgraph::winding_number_backward")
def _fake_backward(grad, points, cloud_first, cloud_size, verts, faces, box, node, order, root, chain_start,
                   chain_edge):
    return points.new_empty((points.shape[0], 3)), verts.new_empty((verts.shape[0], 3))


def _setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad):
    points, cf, cs, verts, faces, *tree = ctx.saved_tensors
    gp = gv = None
    if ctx.needs_input_grad[0] or ctx.needs_input_grad[3]:
        gp, gv = torch.ops.meshgraph.winding_number_backward(grad.contiguous(), points, cf, cs, verts, faces, *tree)
    return (gp if ctx.needs_input_grad[0] else None, None, None, gv if ctx.needs_input_grad[3] else None,
            *([None] * 7))


def _setup_backward(ctx, inputs, output):
    pass


def _backward_backward(ctx, *grads):
    raise NotImplementedError("winding_number is differentiable once: its second derivative is not implemented")


torch.library.register_autograd("meshgraph::winding_number", _backward, setup_context=_setup)
torch.library.register_autograd("meshgraph::winding_number_backward", _backward_backward, setup_context=_setup_backward)
