// ray_mesh_intersect_idx: the first triangle every ray meets within its batch element.
//
//   ray_mesh_intersect_idx(origins (R, 3), directions (R, 3), ray_first (N,), ray_size (N,), tris (F, 3, 3),
//                          box (M, 6), node (M, 3), order (F,), root (N,)) -> (t (R,), face (R,) int64, bary (R, 3))
//     Rays o + t d, t > 0, against both sides of every triangle of their element (Moller-Trumbore; a hit on an
//     edge or a vertex counts for every triangle it touches): t of the nearest hit, its packed face index (ties
//     to the smaller index) and its barycentric coordinates (1 - u - v, u, v) w.r.t. the face's vertices (the
//     hit point is (1 - u - v) a + u b + v c: Moller-Trumbore's u and v); t = +inf, face = -1 and bary = 0 for
//     misses, for rays of no element and for elements without faces. Directions need not be unit (t is in units
//     of |d|); zero directions and degenerate triangles never hit. The ray ranges must be in order without
//     overlap; the triangle ranges lie within [0, F).
//
// float16 / bfloat16 inputs are computed in float32 (float64: float64); t and bary are returned in the input dtype.
// Not differentiable: the public wrapper recomputes t and barycentrics of the hit faces in torch.
//
// CPU and CUDA traverse the same BVH (bvh.h), built once by mesh_bvh. The BVH structure is checked on CPU
// tensors and clamped on CUDA (no synchronisation per call).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <limits>

#include "../mesh_bvh/bvh.h"

namespace mg {
namespace rmi {

// Moller-Trumbore: the ray parameter and barycentrics (u, v) of the hit with triangle (9 values), or false.
template <typename T>
C10_HOST_DEVICE inline bool ray_triangle(const T* o, const T* d, const T* tri, T* t_out, T* u_out, T* v_out) {
  const T e1[3] = {tri[3] - tri[0], tri[4] - tri[1], tri[5] - tri[2]};
  const T e2[3] = {tri[6] - tri[0], tri[7] - tri[1], tri[8] - tri[2]};
  const T p[3] = {d[1] * e2[2] - d[2] * e2[1], d[2] * e2[0] - d[0] * e2[2], d[0] * e2[1] - d[1] * e2[0]};
  const T det = e1[0] * p[0] + e1[1] * p[1] + e1[2] * p[2];
  if (det == T(0) || !(det == det)) return false;
  const T inv = T(1) / det;
  const T s[3] = {o[0] - tri[0], o[1] - tri[1], o[2] - tri[2]};
  const T u = (s[0] * p[0] + s[1] * p[1] + s[2] * p[2]) * inv;
  if (!(u >= T(0) && u <= T(1))) return false;
  const T q[3] = {s[1] * e1[2] - s[2] * e1[1], s[2] * e1[0] - s[0] * e1[2], s[0] * e1[1] - s[1] * e1[0]};
  const T v = (d[0] * q[0] + d[1] * q[1] + d[2] * q[2]) * inv;
  if (!(v >= T(0) && u + v <= T(1))) return false;
  const T t = (e2[0] * q[0] + e2[1] * q[1] + e2[2] * q[2]) * inv;
  if (!(t > T(0))) return false;
  *t_out = t;
  *u_out = u;
  *v_out = v;
  return true;
}

// The barycentrics (1 - u - v, u, v) of a hit on face f, 0 when f < 0 (a miss).
template <typename T>
C10_HOST_DEVICE inline void bary_of_hit(int64_t f, T u, T v, T* bary) {
  const bool hit = f >= 0;
  bary[0] = hit ? T(1) - u - v : T(0);
  bary[1] = hit ? u : T(0);
  bary[2] = hit ? v : T(0);
}

// Nearest hit of ray (o, d) in the BVH rooted at `root`: writes t (inf when none), the face (-1) and the
// barycentrics (3 values, bary_of_hit). Face ids
// read from `order` are clamped into [0, F); a child id not in (m, M) makes node m a leaf (memory-safe and
// terminating on any BVH tensors).
template <typename T>
C10_HOST_DEVICE inline void closest_hit(const T* o, const T* d, const T* box, const int64_t* node,
                                        const int64_t* order, const T* tris, int64_t root, int64_t M, int64_t F,
                                        T* t_out, int64_t* face_out, T* bary_out) {
  T best = std::numeric_limits<T>::infinity();
  int64_t best_f = -1;
  T best_u = 0, best_v = 0;
  const bool zero = d[0] == T(0) && d[1] == T(0) && d[2] == T(0);
  if (root >= 0 && root < M && !zero) {
    const T inv[3] = {d[0] != T(0) ? T(1) / d[0] : T(0), d[1] != T(0) ? T(1) / d[1] : T(0),
                      d[2] != T(0) ? T(1) / d[2] : T(0)};
    int64_t stack[bvh::kStackSize];
    T entry[bvh::kStackSize];  // box entry parameter of each stacked node: skipped once a nearer hit is known
    int top = 0;
    T tn;
    if (bvh::ray_box(o, d, inv, box + 6 * root, best, &tn)) {
      entry[top] = tn;
      stack[top++] = root;
    }
    while (top > 0) {
      const int64_t m = stack[--top];
      if (entry[top] > best) continue;
      const int64_t left = node[3 * m + 2];
      if (left <= m || left + 1 >= M) {
        const int64_t first = node[3 * m], count = node[3 * m + 1];
        for (int64_t k = first; k < first + count; ++k) {
          const int64_t kk = k < 0 ? 0 : (k >= F ? F - 1 : k);
          int64_t f = order[kk];
          f = f < 0 ? 0 : (f >= F ? F - 1 : f);
          T t, u, v;
          if (ray_triangle(o, d, tris + 9 * f, &t, &u, &v) && (t < best || (t == best && f < best_f))) {
            best = t;
            best_f = f;
            best_u = u;
            best_v = v;
          }
        }
        continue;
      }
      T ta = 0, tb = 0;
      const bool ha = bvh::ray_box(o, d, inv, box + 6 * left, best, &ta);
      const bool hb = bvh::ray_box(o, d, inv, box + 6 * (left + 1), best, &tb);
      if (top + 2 > bvh::kStackSize) continue;  // unreachable for median-split trees
      // the nearer child is popped first
      const bool a_first = ta <= tb;
      if (hb && (!ha || a_first)) {
        entry[top] = tb;
        stack[top++] = left + 1;
      }
      if (ha) {
        entry[top] = ta;
        stack[top++] = left;
      }
      if (hb && ha && !a_first) {
        entry[top] = tb;
        stack[top++] = left + 1;
      }
    }
  }
  *t_out = best;
  *face_out = best_f;
  bary_of_hit(best_f, best_u, best_v, bary_out);
}

// Checks every argument; returns M.
int64_t check_inputs(const at::Tensor& origins, const at::Tensor& directions, const at::Tensor& ray_first,
                     const at::Tensor& ray_size, const at::Tensor& tris, const at::Tensor& box, const at::Tensor& node,
                     const at::Tensor& order, const at::Tensor& root);

}  // namespace rmi
}  // namespace mg
