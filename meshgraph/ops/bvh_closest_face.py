"""bvh_closest_face: the closest triangle of every packed point within its mesh, over the meshes' BVH (op
bvh_closest_face_idx; csrc/ops/bvh_closest_face/). The point -> face half of point_face_distance_idx (same exact
squared distances, same ties), without the face -> point search that signed distances do not need."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import first_from_counts
from .mesh_bvh import MeshBVH, packed_query_bvh

_extension.load()


def closest_faces(points: torch.Tensor, cloud_sizes: torch.Tensor, verts: torch.Tensor, faces: torch.Tensor,
                  mesh_sizes: torch.Tensor, bvh: MeshBVH | None = None) -> torch.Tensor:
    """Packed index (P,) of the closest triangle of each packed point (P, 3) (N groups of `cloud_sizes`) among the
    faces (F, 3) (global indices into verts (V, 3)) of its mesh (N meshes of `mesh_sizes`): exact squared
    point-triangle distances, ties to the smaller index, -1 against a mesh without faces. `bvh`: the meshes'
    MeshBVH to reuse (built here when None). Not differentiable (indices)."""
    bvh = packed_query_bvh(points, cloud_sizes, verts, faces, mesh_sizes, bvh)
    return torch.ops.meshgraph.bvh_closest_face_idx(points.detach(), first_from_counts(cloud_sizes), cloud_sizes,
                                                    verts.detach(), faces, *bvh.tree)


@torch.library.register_fake("meshgraph::bvh_closest_face_idx")
def _fake(points, cloud_first, cloud_size, verts, faces, box, node, order, root):
    return points.new_empty((points.shape[0],), dtype=torch.int64)
