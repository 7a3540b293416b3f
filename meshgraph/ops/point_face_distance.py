"""point_face_distance: exact closest point-triangle pairs within each batch element (the pairs of PyTorch3D's
point_mesh_face_distance). Kernels: csrc/ops/point_face_distance/ (grid shell search on CPU, pruned scan on CUDA).
The loss `meshgraph.losses.point_mesh_face_distance` recomputes differentiable distances of these pairs."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, offsets_from_counts

_extension.load()


def closest_point_face_pairs(points: torch.Tensor, cloud_sizes: torch.Tensor, tris: torch.Tensor,
                             mesh_sizes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For packed points (P, 3) in N clouds of `cloud_sizes` and packed triangles (F, 3, 3) in N meshes of
    `mesh_sizes`: (point_to_face (P,), face_to_point (F,)) packed indices of the closest triangle of each point and
    the closest point of each triangle within the same element (exact squared distances, ties to the smaller
    index; -1 where the element's other set is empty). Not differentiable (indices).

    Any float dtype; float16 / bfloat16 distances are compared in float32."""
    check_tensor(points, "points", dim=2, dtypes=FLOAT_DTYPES, shape=(None, 3))
    check_tensor(tris, "tris", dim=3, dtypes=(points.dtype,), shape=(None, 3, 3))
    check_tensor(cloud_sizes, "cloud_sizes", dim=1, dtypes=(torch.int64,))
    check_tensor(mesh_sizes, "mesh_sizes", shape=tuple(cloud_sizes.shape), dtypes=(torch.int64,))
    check_same_device(points=points, tris=tris, cloud_sizes=cloud_sizes, mesh_sizes=mesh_sizes)
    first, ffirst = offsets_from_counts(cloud_sizes)[:-1], offsets_from_counts(mesh_sizes)[:-1]
    return torch.ops.meshgraph.point_face_distance_idx(points.detach(), first, cloud_sizes, tris.detach(), ffirst,
                                                       mesh_sizes)


@torch.library.register_fake("meshgraph::point_face_distance_idx")
def _fake(points, cloud_first, cloud_size, tris, mesh_first, mesh_size):
    return points.new_empty((points.shape[0],), dtype=torch.int64), points.new_empty((tris.shape[0],), dtype=torch.int64)
