// bvh_closest_face_idx: the closest triangle of every point within its batch element, over the element's BVH (op
// mesh_bvh). The one-directional half of point_face_distance_idx (same distances, same ties), for queries that
// only need point -> face (signed_distance).
//
//   bvh_closest_face_idx(points (P, 3), cloud_first (N,), cloud_size (N,), verts (V, 3), faces (F, 3) int64,
//                        box (M, 6), node (M, 3), order (F,), root (N,)) -> face (P,) int64
//     Packed index of the face at the smallest exact squared distance (point_face_distance.h's
//     point_triangle_dist2 on the face's vertices in float32 / float64), ties to the smaller index; -1 for points
//     of no element or of an element without faces. BVH tensors as built by mesh_bvh from the same vertices.
//
// Depth-first branch and bound: the nearer child first, a subtree skipped when the squared distance to its
// (padded) box exceeds the best so far (strictly: equal-distance faces with smaller ids are still visited, so ties
// are exact). Every argument is checked by bvh::check_point_query (mesh_bvh/bvh.h; on CPU also the BVH structure
// and the face ids); CUDA clamps them.
//
// float16 / bfloat16 inputs are compared in float32.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <limits>

#include "../mesh_bvh/bvh.h"
#include "../point_face_distance/point_face_distance.h"

namespace mg {
namespace bcf {

template <typename T>
C10_HOST_DEVICE inline int64_t closest_face(const T* q, const T* verts, int64_t V, const int64_t* faces, int64_t F,
                                            const T* box, const int64_t* node, const int64_t* order, int64_t root,
                                            int64_t M) {
  if (root < 0 || root >= M || F <= 0) return -1;
  T best = std::numeric_limits<T>::infinity();
  int64_t best_f = -1;
  int64_t stack[bvh::kStackSize];
  T bound[bvh::kStackSize];
  int top = 0;
  bound[top] = pfd::point_box_dist2(q, box + 6 * root, box + 6 * root + 3);
  stack[top++] = root;
  while (top > 0) {
    --top;
    const int64_t m = stack[top];
    if (bound[top] > best) continue;
    const int64_t left = node[3 * m + 2];
    if (left <= m || left + 1 >= M || top + 2 > bvh::kStackSize) {
      const int64_t first = node[3 * m], count = node[3 * m + 1];
      for (int64_t k = first; k < first + count; ++k) {
        const int64_t f = bvh::clamp_index(order[bvh::clamp_index(k, F)], F);
        T tri[9];
        bvh::gather_triangle(verts, V, faces, f, tri);
        const T d = pfd::point_triangle_dist2(q, tri);
        if (d < best || (d == best && f < best_f)) {
          best = d;
          best_f = f;
        }
      }
      continue;
    }
    const T ba = pfd::point_box_dist2(q, box + 6 * left, box + 6 * left + 3);
    const T bb = pfd::point_box_dist2(q, box + 6 * (left + 1), box + 6 * (left + 1) + 3);
    // the farther child is pushed first: the nearer one is searched first
    const bool a_near = ba <= bb;
    const int64_t far_m = a_near ? left + 1 : left, near_m = a_near ? left : left + 1;
    const T far_b = a_near ? bb : ba, near_b = a_near ? ba : bb;
    if (far_b <= best) {
      bound[top] = far_b;
      stack[top++] = far_m;
    }
    if (near_b <= best) {
      bound[top] = near_b;
      stack[top++] = near_m;
    }
  }
  return best_f;
}

}  // namespace bcf
}  // namespace mg
