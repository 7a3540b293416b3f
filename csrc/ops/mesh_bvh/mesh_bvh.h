// mesh_bvh: the bounding volume hierarchy (bvh.h) of a batch of meshes and the boundary chains of its nodes, built
// once and passed to the query ops (ray_mesh_intersect_idx, winding_number, bvh_closest_face_idx).
//
//   mesh_bvh(verts (V, 3), faces (F, 3) int64, mesh_first (N,), mesh_size (N,))
//       -> (box (M, 6), node (M, 3), order (F,), root (N,), chain_start (M + 1,), chain_edge (B, 3))
//     faces hold global indices into verts (checked on every device) and element n owns faces
//     [mesh_first[n], mesh_first[n] + mesh_size[n]) (ranges within [0, F), in order, disjoint). Layout of the six tensors in bvh.h;
//     box is float32 for float16 / bfloat16 / float32 vertices and float64 for float64 ones. M and B depend on the
//     face counts and the geometry (data-dependent sizes). Not differentiable: the tree is a function of the
//     vertex positions at build time; queries with moved vertices need a new one.
//
// Built on the CPU; on CUDA the vertices and faces are copied to the host (one synchronisation per build) and the
// result is moved to the device.
#pragma once

#include "bvh.h"
