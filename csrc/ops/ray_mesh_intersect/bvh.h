// Bounding volume hierarchy over the triangles of a batch of meshes, shared by ray_mesh_intersect and
// winding_number. Built on the CPU (median split of the triangle centroids along the longest axis, at most
// kLeafSize triangles per leaf) into flat tensors the CPU and CUDA kernels traverse with a fixed-size stack.
//
//   box   (M, 6)  float or double: node bounding box (lo xyz, hi xyz), padded by a few ulps of its coordinates
//   node  (M, 3)  int64: first (into order), count, left child (-1: leaf; the right child is left + 1)
//   order (F,)    int64: global face ids; the faces of every node are order[first, first + count)
//   root  (N,)    int64: root node of element n, -1 when it has no faces
// Children come after their parent, so a backward sweep over the nodes is a bottom-up order.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cstdint>

namespace mg {
namespace bvh {

constexpr int64_t kLeafSize = 4;
// Median splits halve the count: depth <= log2(F / kLeafSize) + 2, far below the stack for any F < 2^60.
constexpr int kStackSize = 64;

struct Bvh {
  at::Tensor box, node, order, root;
};

// tris: CPU (F, 3, 3) float or double; mesh_first / mesh_size: CPU (N,) int64 ranges already checked to lie
// within [0, F).
Bvh build(const at::Tensor& tris, const at::Tensor& mesh_first, const at::Tensor& mesh_size);

// Boundary chain of every node's triangle set, for winding numbers: the directed edges (u, v) with u < v whose
// net multiplicity mult (+1 per u->v side of a face, -1 per v->u) is non-zero, node m's at rows
// [start[m], start[m + 1]) of edge (B, 3) int64 (u, v, mult). faces: CPU (F, 3) int64 vertex ids.
struct Chains {
  at::Tensor start, edge;
};
Chains boundary_chains(const Bvh& b, const at::Tensor& faces);

// Entry parameter of the ray o + t d into the box (6 values) within [0, tmax]: false when it misses. Axes with
// d == 0 are a range test (no 0 * inf).
template <typename T>
C10_HOST_DEVICE inline bool ray_box(const T* o, const T* d, const T* inv, const T* box, T tmax, T* tnear) {
  T t0 = 0, t1 = tmax;
  for (int a = 0; a < 3; ++a) {
    if (d[a] == T(0)) {
      if (o[a] < box[a] || o[a] > box[3 + a]) return false;
      continue;
    }
    T ta = (box[a] - o[a]) * inv[a], tb = (box[3 + a] - o[a]) * inv[a];
    if (ta > tb) {
      const T s = ta;
      ta = tb;
      tb = s;
    }
    t0 = ta > t0 ? ta : t0;
    t1 = tb < t1 ? tb : t1;
    if (t0 > t1) return false;
  }
  *tnear = t0;
  return true;
}

// Whether q lies outside the box (6 values).
template <typename T>
C10_HOST_DEVICE inline bool outside_box(const T* q, const T* box) {
  return q[0] < box[0] || q[1] < box[1] || q[2] < box[2] || q[0] > box[3] || q[1] > box[4] || q[2] > box[5];
}

}  // namespace bvh
}  // namespace mg
