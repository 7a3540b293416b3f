// mesh_face_areas_normals: area and unit normal of every triangle of a packed mesh (PyTorch3D's
// pytorch3d.ops.mesh_face_areas_normals, its C++ op face_areas_normals), and the backward.
//
//   mesh_face_areas_normals(verts (V, 3), faces (F, 3) int32/int64) -> areas (F,), normals (F, 3):
//     n = (v1 - v0) x (v2 - v0), L = |n|; areas = L / 2, normals = n / max(L, kMinNorm) (PyTorch3D's clamp: a
//     degenerate face gets a zero normal).
//   mesh_face_areas_normals_backward(grad_areas (F,), grad_normals (F, 3), verts, faces) -> grad_verts (V, 3):
//     per face, g_n = grad_area * n / (2 L) (0 where L == 0) + (L > kMinNorm ? (g - nh (nh . g)) / L : g / kMinNorm)
//     with g = grad_normal, nh = n / L; then grad(v1) = e2 x g_n, grad(v2) = g_n x e1, grad(v0) = -(both)
//     (e1 = v1 - v0, e2 = v2 - v0). The per-face, per-corner contributions (F, 3, 3) are formed by a kernel in
//     acc_t and summed into the vertices with index_put_(accumulate=true) (ATen; sorted by index, so the same on
//     every run on both devices): no atomics.
//   verts float16 / bfloat16 / float32 / float64 (computed in acc_t: float32 for the half types), outputs in its
//   dtype; grads of that dtype. Face indices are checked against V on CPU tensors and clamped into [0, V) by the
//   CUDA kernels (no sync): memory-safe for any input. Any V, F, including 0.
#pragma once

#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>

#include "../../common/checks.h"

namespace mg {
namespace face_geom {

constexpr double kMinNorm = 1e-6;

template <typename T>
C10_HOST_DEVICE inline void cross3(const T* a, const T* b, T* out) {
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}

// Vertex index clamped into [0, V) (CUDA reads it unchecked; on CPU the op checked the range first).
template <typename index_t>
C10_HOST_DEVICE inline int64_t vert_index(const index_t* faces, int64_t f, int k, int64_t V) {
  const int64_t i = static_cast<int64_t>(faces[3 * f + k]);
  return i < 0 ? 0 : (i >= V ? V - 1 : i);
}

// The three corners of face f, read in scalar_t into e1 = v1 - v0, e2 = v2 - v0 (acc_t).
template <typename scalar_t, typename index_t, typename T>
C10_HOST_DEVICE inline void face_edges(const scalar_t* verts, const index_t* faces, int64_t f, int64_t V, T* e1,
                                       T* e2) {
  const int64_t i0 = vert_index(faces, f, 0, V), i1 = vert_index(faces, f, 1, V), i2 = vert_index(faces, f, 2, V);
  for (int d = 0; d < 3; ++d) {
    const T p0 = static_cast<T>(verts[3 * i0 + d]);
    e1[d] = static_cast<T>(verts[3 * i1 + d]) - p0;
    e2[d] = static_cast<T>(verts[3 * i2 + d]) - p0;
  }
}

template <typename scalar_t, typename index_t, typename T>
C10_HOST_DEVICE inline void forward_face(const scalar_t* verts, const index_t* faces, int64_t f, int64_t V,
                                         scalar_t* areas, scalar_t* normals) {
  T e1[3], e2[3], n[3];
  face_edges<scalar_t, index_t, T>(verts, faces, f, V, e1, e2);
  cross3(e1, e2, n);
  const T L = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  const T den = L > static_cast<T>(kMinNorm) ? L : static_cast<T>(kMinNorm);
  areas[f] = static_cast<scalar_t>(L / T(2));
  for (int d = 0; d < 3; ++d) normals[3 * f + d] = static_cast<scalar_t>(n[d] / den);
}

// contrib (F, 3, 3) in T: face f's gradient for its corners 0, 1, 2.
template <typename scalar_t, typename index_t, typename T>
C10_HOST_DEVICE inline void backward_face(const scalar_t* grad_areas, const scalar_t* grad_normals,
                                          const scalar_t* verts, const index_t* faces, int64_t f, int64_t V,
                                          T* contrib) {
  T e1[3], e2[3], n[3], g[3], gn[3];
  face_edges<scalar_t, index_t, T>(verts, faces, f, V, e1, e2);
  cross3(e1, e2, n);
  const T L = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
  const T ga = static_cast<T>(grad_areas[f]);
  for (int d = 0; d < 3; ++d) g[d] = static_cast<T>(grad_normals[3 * f + d]);
  const T min_norm = static_cast<T>(kMinNorm);
  if (L > min_norm) {
    const T ndg = (n[0] * g[0] + n[1] * g[1] + n[2] * g[2]) / L;  // nh . g
    for (int d = 0; d < 3; ++d) gn[d] = ga * n[d] / (T(2) * L) + (g[d] - n[d] / L * ndg) / L;
  } else {
    for (int d = 0; d < 3; ++d) gn[d] = (L > T(0) ? ga * n[d] / (T(2) * L) : T(0)) + g[d] / min_norm;
  }
  T g1[3], g2[3];
  cross3(e2, gn, g1);
  cross3(gn, e1, g2);
  T* c = contrib + 9 * f;
  for (int d = 0; d < 3; ++d) {
    c[d] = -(g1[d] + g2[d]);
    c[3 + d] = g1[d];
    c[6 + d] = g2[d];
  }
}

// verts (V, 3) floating, faces (F, 3) int32/int64 on its device.
inline void check_inputs(const at::Tensor& verts, const at::Tensor& faces) {
  MG_CHECK_FLOATING(verts);
  MG_CHECK_INDEX_DTYPE(faces);
  MG_CHECK_SAME_DEVICE(verts, faces);
  TORCH_CHECK(verts.dim() == 2 && verts.size(1) == 3, "verts must have shape (V, 3), got ", verts.sizes());
  TORCH_CHECK(faces.dim() == 2 && faces.size(1) == 3, "faces must have shape (F, 3), got ", faces.sizes());
  TORCH_CHECK(faces.size(0) == 0 || verts.size(0) > 0, "faces index an empty verts tensor");
}

inline void check_backward(const at::Tensor& grad_areas, const at::Tensor& grad_normals, const at::Tensor& verts,
                           const at::Tensor& faces) {
  check_inputs(verts, faces);
  const int64_t F = faces.size(0);
  MG_CHECK_SAME_DTYPE(grad_areas, verts);
  MG_CHECK_SAME_DTYPE(grad_normals, verts);
  MG_CHECK_SAME_DEVICE(grad_areas, verts);
  MG_CHECK_SAME_DEVICE(grad_normals, verts);
  MG_CHECK_SHAPE(grad_areas, {F});
  MG_CHECK_SHAPE(grad_normals, {F, 3});
}

// CPU tensors: every face index within [0, V) (free to read there).
inline void check_face_range_cpu(const at::Tensor& faces, int64_t V) {
  if (faces.numel() == 0) return;
  const auto mn = faces.min().item<int64_t>(), mx = faces.max().item<int64_t>();
  TORCH_CHECK(mn >= 0 && mx < V, "faces must index verts in [0, ", V, "), got values in [", mn, ", ", mx, "]");
}

// Sum of the (F, 3, 3) contributions into (V, 3) per faces' vertices, in contrib's dtype (ATen, deterministic),
// returned in `dtype`.
inline at::Tensor scatter_to_verts(const at::Tensor& contrib, const at::Tensor& faces, int64_t V,
                                   at::ScalarType dtype) {
  auto out = at::zeros({V, 3}, contrib.options());
  if (faces.numel() > 0) {
    const auto idx = faces.reshape({-1}).to(at::kLong).clamp(0, V - 1);
    out.index_put_({idx}, contrib.reshape({-1, 3}), /*accumulate=*/true);
  }
  return out.to(dtype);
}

// One call after its checks (both backends; the face range is checked on CPU tensors, clamped on CUDA): sizes,
// contiguous operands, and the outputs: forward areas (F,) and normals (F, 3); backward the per-face corner
// gradients contrib (F, 3, 3) in the accumulation dtype (grad_areas / grad_normals undefined for the forward).
struct Call {
  int64_t V, F;
  at::Tensor v, fc, ga, gn, areas, normals, contrib;
};

inline Call forward_call(const at::Tensor& verts, const at::Tensor& faces) {
  check_inputs(verts, faces);
  const int64_t V = verts.size(0), F = faces.size(0);
  if (faces.device().is_cpu()) check_face_range_cpu(faces, V);
  return {V,  F,  verts.contiguous(), faces.contiguous(), {}, {}, at::empty({F}, verts.options()),
          at::empty({F, 3}, verts.options()), {}};
}

inline Call backward_call(const at::Tensor& grad_areas, const at::Tensor& grad_normals, const at::Tensor& verts,
                          const at::Tensor& faces) {
  check_backward(grad_areas, grad_normals, verts, faces);
  const int64_t V = verts.size(0), F = faces.size(0);
  if (faces.device().is_cpu()) check_face_range_cpu(faces, V);
  return {V,  F,  verts.contiguous(), faces.contiguous(), grad_areas.contiguous(), grad_normals.contiguous(), {}, {},
          at::empty({F, 3, 3}, verts.options().dtype(at::toOpMathType(verts.scalar_type())))};
}

}  // namespace face_geom
}  // namespace mg
