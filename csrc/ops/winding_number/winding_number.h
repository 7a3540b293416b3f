// winding_number: the generalized winding number of every point with respect to its batch element's triangles.
//
//   winding_number(points (P, 3), cloud_first (N,), cloud_size (N,), verts (V, 3), faces (F, 3) int64,
//                  mesh_first (N,), mesh_size (N,)) -> (P,)
//     w(q) = sum over the element's faces (a, b, c) of their signed solid angle at q / (4 pi) (Van Oosterom and
//     Strackee): 1 inside and 0 outside a closed, outward-oriented mesh, fractional near the holes of open ones,
//     any triangle soup accepted (Jacobson et al. 2013). faces hold global indices into verts (checked on every
//     device: the BVH is built on the host). 0 for points of no element or of an element without faces. A point
//     on a triangle gets that triangle's one-sided limit (+-2 pi, or 0 in its plane outside it) from the side
//     rounding puts it on: on a closed mesh w is 0 or 1 there, never undefined.
//
// Exact hierarchical evaluation (Jacobson et al. 2013, 3.3): over the BVH of ray_mesh_intersect/bvh.h, a node
// whose box does not contain q contributes the solid angle of any surface with the node's boundary inside the box
// -- the fan from the box centre over its boundary chain (bvh.h) -- when that chain is shorter than the node's
// face count (0 for a closed patch); other nodes recurse, and leaves sum their faces. Exact up to rounding.
//
// float16 / bfloat16 inputs are computed in float32 (float64: float64); the result has the input dtype. Not
// differentiable (the wrappers use it for inside / outside, which is piecewise constant).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cmath>

#include "../ray_mesh_intersect/bvh.h"

namespace mg {
namespace wn {

// Signed solid angle of triangle (a, b, c) seen from q (positive when q is on the side the normal (b-a)x(c-a)
// points away from, i.e. inside a closed outward mesh).
template <typename T>
C10_HOST_DEVICE inline T solid_angle(const T* q, const T* a, const T* b, const T* c) {
  const T x[3] = {a[0] - q[0], a[1] - q[1], a[2] - q[2]};
  const T y[3] = {b[0] - q[0], b[1] - q[1], b[2] - q[2]};
  const T z[3] = {c[0] - q[0], c[1] - q[1], c[2] - q[2]};
  const T lx = std::sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
  const T ly = std::sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2]);
  const T lz = std::sqrt(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
  const T det = x[0] * (y[1] * z[2] - y[2] * z[1]) + x[1] * (y[2] * z[0] - y[0] * z[2]) +
                x[2] * (y[0] * z[1] - y[1] * z[0]);
  const T xy = x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
  const T xz = x[0] * z[0] + x[1] * z[1] + x[2] * z[2];
  const T yz = y[0] * z[0] + y[1] * z[1] + y[2] * z[2];
  const T den = lx * ly * lz + xy * lz + xz * ly + yz * lx;
  return T(2) * std::atan2(det, den);
}

// Winding number of q with respect to the faces below `root` (contract above). Node ids are clamped into [0, M).
template <typename T>
C10_HOST_DEVICE inline T winding(const T* q, const T* verts, const int64_t* faces, const T* box, const int64_t* node,
                                 const int64_t* order, const int64_t* bstart, const int64_t* bedge, int64_t root,
                                 int64_t M) {
  if (root < 0 || root >= M) return T(0);
  T w = 0;
  int64_t stack[bvh::kStackSize];
  int top = 0;
  stack[top++] = root;
  while (top > 0) {
    const int64_t m = stack[--top];
    const T* bx = box + 6 * m;
    const int64_t count = node[3 * m + 1];
    if (bvh::outside_box(q, bx)) {
      const int64_t b0 = bstart[m], b1 = bstart[m + 1];
      if (b1 - b0 < count) {  // the fan over the boundary chain
        const T apex[3] = {(bx[0] + bx[3]) / T(2), (bx[1] + bx[4]) / T(2), (bx[2] + bx[5]) / T(2)};
        for (int64_t e = b0; e < b1; ++e) {
          const int64_t* ed = bedge + 3 * e;
          w += static_cast<T>(ed[2]) * solid_angle(q, apex, verts + 3 * ed[0], verts + 3 * ed[1]);
        }
        continue;
      }
    }
    const int64_t left = node[3 * m + 2];
    if (left < 0 || left + 1 >= M || top + 2 > bvh::kStackSize) {
      for (int64_t k = node[3 * m]; k < node[3 * m] + count; ++k) {
        const int64_t* f = faces + 3 * order[k];
        w += solid_angle(q, verts + 3 * f[0], verts + 3 * f[1], verts + 3 * f[2]);
      }
      continue;
    }
    stack[top++] = left;
    stack[top++] = left + 1;
  }
  return w / T(4 * 3.14159265358979323846);
}

// Checks every argument (faces against V on the host copy); returns faces as a contiguous CPU tensor.
at::Tensor check_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                        const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& mesh_first,
                        const at::Tensor& mesh_size);

}  // namespace wn
}  // namespace mg
