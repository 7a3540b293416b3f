"""bvh_closest_face: the closest triangle of every packed point within its mesh, over the meshes' BVH (op
bvh_closest_face_idx; csrc/ops/bvh_closest_face/). The point -> face half of point_face_distance_idx (same exact
squared distances, same ties), without the face -> point search that signed distances do not need."""

from __future__ import annotations

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, first_from_counts
from .mesh_bvh import MeshBVH, check_bvh, mesh_bvh_packed

_extension.load()


def closest_faces(points: torch.Tensor, cloud_sizes: torch.Tensor, verts: torch.Tensor, faces: torch.Tensor,
                  mesh_sizes: torch.Tensor, bvh: MeshBVH | None = None) -> torch.Tensor:
    """Packed index (P,) of the closest triangle of each packed point (P, 3) (N groups of `cloud_sizes`) among the
    faces (F, 3) (global indices into verts (V, 3)) of its mesh (N meshes of `mesh_sizes`): exact squared
    point-triangle distances, ties to the smaller index, -1 against a mesh without faces. `bvh`: the meshes'
    MeshBVH to reuse (built here when None). Not differentiable (indices)."""
    check_tensor(points, "points", dtypes=FLOAT_DTYPES, shape=(None, 3))
    check_tensor(verts, "verts", dtypes=(points.dtype,), shape=(None, 3))
    check_tensor(faces, "faces", dtypes=(torch.int64,), shape=(None, 3))
    check_tensor(cloud_sizes, "cloud_sizes", dim=1, dtypes=(torch.int64,))
    check_tensor(mesh_sizes, "mesh_sizes", shape=tuple(cloud_sizes.shape), dtypes=(torch.int64,))
    check_same_device(points=points, verts=verts, faces=faces, cloud_sizes=cloud_sizes, mesh_sizes=mesh_sizes)
    bvh = mesh_bvh_packed(verts, faces, mesh_sizes) if bvh is None else check_bvh(bvh, verts, faces, mesh_sizes)
    return torch.ops.meshgraph.bvh_closest_face_idx(points.detach(), first_from_counts(cloud_sizes), cloud_sizes,
                                                    verts.detach(), faces, *bvh.tree)


@torch.library.register_fake("meshgraph::bvh_closest_face_idx")
def _fake(points, cloud_first, cloud_size, verts, faces, box, node, order, root):
    return points.new_empty((points.shape[0],), dtype=torch.int64)
