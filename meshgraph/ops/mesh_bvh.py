"""mesh_bvh: the bounding volume hierarchy of packed meshes (op mesh_bvh; csrc/ops/mesh_bvh/), built once and given
to the mesh queries (ray casting, winding numbers, closest faces) so that repeated queries against the same meshes
do not rebuild it. The mesh-level entry point is meshgraph.ops.mesh_queries.mesh_bvh."""

from __future__ import annotations

from typing import NamedTuple

import torch

from .. import _extension
from .._utils import FLOAT_DTYPES, check_same_device, check_tensor, first_from_counts

_extension.load()


class MeshBVH(NamedTuple):
    """The BVH of a batch of meshes as tensors on the meshes' device (layout in csrc/ops/mesh_bvh/bvh.h): node
    boxes (M, 6) (float32, or float64 for float64 vertices), nodes (M, 3) (first, count, left child), the faces in
    node order (F,), each mesh's root node (N,) (-1 without faces) and the boundary chains of the nodes
    (chain_start (M + 1,), chain_edge (B, 3): vertex u, vertex v, multiplicity), which winding numbers use.

    Valid for the vertex positions it was built from: after moving the vertices, build a new one (queries with a
    stale BVH may miss faces). It is plain data (a NamedTuple of tensors): it moves with `.to` per field, pickles,
    and passes through torch.compile as inputs."""

    box: torch.Tensor
    node: torch.Tensor
    order: torch.Tensor
    root: torch.Tensor
    chain_start: torch.Tensor
    chain_edge: torch.Tensor

    @property
    def tree(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(box, node, order, root): the arguments of the ray and closest-face ops."""
        return self.box, self.node, self.order, self.root


def mesh_bvh_packed(verts: torch.Tensor, faces: torch.Tensor, mesh_sizes: torch.Tensor) -> MeshBVH:
    """The MeshBVH of packed triangles `faces` (F, 3) (global indices into verts (V, 3)) in N meshes of
    `mesh_sizes` (N,) faces. Built on the CPU (CUDA inputs: one host copy per build). Not differentiable."""
    check_tensor(verts, "verts", dtypes=FLOAT_DTYPES, shape=(None, 3))
    check_tensor(faces, "faces", dtypes=(torch.int64,), shape=(None, 3))
    check_tensor(mesh_sizes, "mesh_sizes", dim=1, dtypes=(torch.int64,))
    check_same_device(verts=verts, faces=faces, mesh_sizes=mesh_sizes)
    return MeshBVH(*torch.ops.meshgraph.mesh_bvh(verts.detach(), faces, first_from_counts(mesh_sizes), mesh_sizes))


def check_bvh(bvh, verts: torch.Tensor, faces: torch.Tensor, mesh_sizes: torch.Tensor, name: str = "bvh") -> MeshBVH:
    """`bvh` as a MeshBVH matching the packed meshes (device, dtype, face and mesh counts), else TypeError /
    ValueError naming `name`."""
    if not isinstance(bvh, MeshBVH):
        raise TypeError(f"{name} must be a MeshBVH (meshgraph.ops.mesh_queries.mesh_bvh), got {type(bvh).__name__}")
    acc = torch.float64 if verts.dtype == torch.float64 else torch.float32
    if bvh.box.device != verts.device:
        raise ValueError(f"{name} is on {bvh.box.device} but the meshes are on {verts.device}")
    if bvh.box.dtype != acc:
        raise TypeError(f"{name} was built for {bvh.box.dtype} boxes; {verts.dtype} meshes need {acc}")
    if bvh.order.shape[0] != faces.shape[0] or bvh.root.shape[0] != mesh_sizes.shape[0]:
        raise ValueError(f"{name} was built for {bvh.root.shape[0]} meshes with {bvh.order.shape[0]} faces, not for "
                         f"these {mesh_sizes.shape[0]} meshes with {faces.shape[0]} faces")
    return bvh


def packed_query_bvh(points: torch.Tensor, cloud_sizes: torch.Tensor, verts: torch.Tensor, faces: torch.Tensor,
                     mesh_sizes: torch.Tensor, bvh: MeshBVH | None) -> MeshBVH:
    """Validation shared by the packed query wrappers (points (P, 3) in groups of cloud_sizes against faces (F, 3)
    into verts (V, 3) in meshes of mesh_sizes); returns `bvh` checked against the meshes, or a new one."""
    check_tensor(points, "points", dtypes=FLOAT_DTYPES, shape=(None, 3))
    check_tensor(verts, "verts", dtypes=(points.dtype,), shape=(None, 3))
    check_tensor(faces, "faces", dtypes=(torch.int64,), shape=(None, 3))
    check_tensor(cloud_sizes, "cloud_sizes", dim=1, dtypes=(torch.int64,))
    check_tensor(mesh_sizes, "mesh_sizes", shape=tuple(cloud_sizes.shape), dtypes=(torch.int64,))
    check_same_device(points=points, verts=verts, faces=faces, cloud_sizes=cloud_sizes, mesh_sizes=mesh_sizes)
    return mesh_bvh_packed(verts, faces, mesh_sizes) if bvh is None else check_bvh(bvh, verts, faces, mesh_sizes)


@torch.library.register_fake("meshgraph::mesh_bvh")
def _fake(verts, faces, mesh_first, mesh_size):
    ctx = torch.library.get_ctx()
    M, B = ctx.new_dynamic_size(), ctx.new_dynamic_size()
    acc = torch.float64 if verts.dtype == torch.float64 else torch.float32
    long = dict(dtype=torch.int64)
    return (verts.new_empty((M, 6), dtype=acc), verts.new_empty((M, 3), **long),
            verts.new_empty((faces.shape[0],), **long), verts.new_empty((mesh_first.shape[0],), **long),
            verts.new_empty((M + 1,), **long), verts.new_empty((B, 3), **long))
