// point_face_distance_idx: for every point its closest triangle and for every triangle its closest point (exact
// squared Euclidean point-triangle distances), within each batch element (PyTorch3D's point_mesh_face_distance
// pairs; the loss recomputes differentiable distances of the selected pairs in Python).
//
//   point_face_distance_idx(points (P, 3), cloud_first (N,), cloud_size (N,), tris (F, 3, 3), mesh_first (N,),
//                           mesh_size (N,)) -> (point_to_face (P,) int64, face_to_point (F,) int64)
//     Packed indices; ties go to the smaller index; -1 where the other set of that element is empty (or the item
//     belongs to no element). Distances follow Ericson's closest-point-on-triangle (Real-Time Collision Detection
//     5.1.5); degenerate triangles use their closest edge.
//
// float16 / bfloat16 points and triangles are compared in float32 (float64 input: float64).
//
// CPU: a uniform grid per element over the targets (triangle boxes or points); each query searches growing
// shells of cells around itself and stops once everything outside the searched cube is provably farther than the
// best so far (exact). CUDA: every query scans its element's targets with a bounding-box lower bound.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cstdint>

namespace mg {
namespace pfd {

template <typename T>
C10_HOST_DEVICE inline T dot3(const T* a, const T* b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

// Squared distance from p to segment xy.
template <typename T>
C10_HOST_DEVICE inline T segment_dist2(const T* p, const T* x, const T* y) {
  const T xy[3] = {y[0] - x[0], y[1] - x[1], y[2] - x[2]};
  const T xp[3] = {p[0] - x[0], p[1] - x[1], p[2] - x[2]};
  const T l2 = dot3(xy, xy);
  T t = l2 > T(0) ? dot3(xp, xy) / l2 : T(0);
  t = t < T(0) ? T(0) : (t > T(1) ? T(1) : t);
  T s = 0;
  for (int k = 0; k < 3; ++k) {
    const T d = xp[k] - t * xy[k];
    s += d * d;
  }
  return s;
}

// Squared distance from p to triangle (a, b, c) given as 9 values.
template <typename T>
C10_HOST_DEVICE inline T point_triangle_dist2(const T* p, const T* tri) {
  const T* a = tri;
  const T* b = tri + 3;
  const T* c = tri + 6;
  const T ab[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
  const T ac[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
  const T ap[3] = {p[0] - a[0], p[1] - a[1], p[2] - a[2]};
  const T bp[3] = {p[0] - b[0], p[1] - b[1], p[2] - b[2]};
  const T cp[3] = {p[0] - c[0], p[1] - c[1], p[2] - c[2]};
  const T d1 = dot3(ab, ap), d2 = dot3(ac, ap), d3 = dot3(ab, bp), d4 = dot3(ac, bp), d5 = dot3(ab, cp),
          d6 = dot3(ac, cp);
  const T va = d3 * d6 - d5 * d4, vb = d5 * d2 - d1 * d6, vc = d1 * d4 - d3 * d2;
  const T denom = va + vb + vc;
  if (va >= 0 && vb >= 0 && vc >= 0 && denom > T(0)) {
    const T v = vb / denom, w = vc / denom;
    T s = 0;
    for (int k = 0; k < 3; ++k) {
      const T d = p[k] - (a[k] + v * ab[k] + w * ac[k]);
      s += d * d;
    }
    return s;
  }
  T e = segment_dist2(p, a, b);
  const T e2 = segment_dist2(p, b, c);
  const T e3 = segment_dist2(p, c, a);
  e = e2 < e ? e2 : e;
  return e3 < e ? e3 : e;
}

// Axis-aligned bounding box of a triangle (9 values).
template <typename T>
C10_HOST_DEVICE inline void triangle_box(const T* t, T* lo, T* hi) {
  for (int a = 0; a < 3; ++a) {
    const T u = t[a], v = t[3 + a], w = t[6 + a];
    lo[a] = u < v ? (u < w ? u : w) : (v < w ? v : w);
    hi[a] = u > v ? (u > w ? u : w) : (v > w ? v : w);
  }
}

// Squared distance between a point and an axis-aligned box (0 inside).
template <typename T>
C10_HOST_DEVICE inline T point_box_dist2(const T* p, const T* lo, const T* hi) {
  T s = 0;
  for (int k = 0; k < 3; ++k) {
    const T d = p[k] < lo[k] ? lo[k] - p[k] : (p[k] > hi[k] ? p[k] - hi[k] : T(0));
    s += d * d;
  }
  return s;
}

void check_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                  const at::Tensor& tris, const at::Tensor& mesh_first, const at::Tensor& mesh_size);

}  // namespace pfd
}  // namespace mg
