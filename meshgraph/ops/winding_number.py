"""winding_number: exact generalized winding numbers of packed points with respect to packed meshes (op
winding_number; kernels: csrc/ops/winding_number/, hierarchical over a BVH on CPU and CUDA). The mesh-level
functions (winding_number, points_inside_mesh, signed_distance, mesh_to_voxels) are in meshgraph.ops.mesh_queries."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, first_from_counts

_extension.load()


def winding_number_packed(points: torch.Tensor, cloud_sizes: torch.Tensor, verts: torch.Tensor, faces: torch.Tensor,
                          mesh_sizes: torch.Tensor) -> torch.Tensor:
    """Generalized winding number (P,) of packed points (P, 3) in N groups of `cloud_sizes` with respect to the
    packed triangles `faces` (F, 3) (global indices into verts (V, 3)) in N meshes of `mesh_sizes`: the sum of the
    triangles' signed solid angles / (4 pi). 1 inside, 0 outside a closed outward-oriented mesh; fractional for
    open meshes and soups. Exact (hierarchical evaluation over a BVH, up to rounding). Not differentiable.

    Any float dtype (float16 / bfloat16 computed in float32); the result has the points' dtype."""
    check_tensor(points, "points", dtypes=FLOAT_DTYPES, shape=(None, 3))
    check_tensor(verts, "verts", dtypes=(points.dtype,), shape=(None, 3))
    check_tensor(faces, "faces", dtypes=(torch.int64,), shape=(None, 3))
    check_tensor(cloud_sizes, "cloud_sizes", dim=1, dtypes=(torch.int64,))
    check_tensor(mesh_sizes, "mesh_sizes", shape=tuple(cloud_sizes.shape), dtypes=(torch.int64,))
    check_same_device(points=points, verts=verts, faces=faces, cloud_sizes=cloud_sizes, mesh_sizes=mesh_sizes)
    return torch.ops.meshgraph.winding_number(points.detach(), first_from_counts(cloud_sizes), cloud_sizes,
                                              verts.detach(), faces, first_from_counts(mesh_sizes), mesh_sizes)


@torch.library.register_fake("meshgraph::winding_number")
def _fake(points, cloud_first, cloud_size, verts, faces, mesh_first, mesh_size):
    return points.new_empty((points.shape[0],))
