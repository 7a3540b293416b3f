// winding_number: the generalized winding number of every point with respect to its batch element's triangles,
// and its gradient.
//
//   winding_number(points (P, 3), cloud_first (N,), cloud_size (N,), verts (V, 3), faces (F, 3) int64,
//                  box (M, 6), node (M, 3), order (F,), root (N,), chain_start (M + 1,), chain_edge (B, 3)) -> (P,)
//     w(q) = sum over the element's faces (a, b, c) of their signed solid angle at q / (4 pi) (Van Oosterom and
//     Strackee): 1 inside and 0 outside a closed, outward-oriented mesh, fractional near the holes of open ones,
//     any triangle soup accepted (Jacobson et al. 2013). faces hold global indices into verts; box ... chain_edge
//     are the BVH and boundary chains of op mesh_bvh built from the same verts and faces (element n owns the faces
//     below root[n]). 0 for points of no element or of an element without faces. A point on a triangle gets that
//     triangle's one-sided limit (+-2 pi, or 0 in its plane outside it) from the side rounding puts it on: on a
//     closed mesh w is 0 or 1 there, never undefined.
//
//   winding_number_backward(grad (P,), points, cloud_first, cloud_size, verts, faces, box, node, order, root,
//                           chain_start, chain_edge) -> (grad_points (P, 3), grad_verts (V, 3))
//     The gradient of sum_i grad[i] w(points[i]) w.r.t. the points and the vertices: the derivative of every
//     solid-angle term the forward evaluates (closed form of d atan2(det, den)), exact away from the surface. A fan
//     term's apex (a box centre) is held fixed: the fan's solid angle does not depend on it, so the terms' sum is
//     the exact derivative of the faces' sum, and vertices inside a fanned patch get 0 from it, as they do from the
//     faces' sum (their contributions cancel). Terms with q on the triangle's boundary or at a vertex (no
//     derivative) contribute 0. CPU: grad_verts summed per fixed chunk of points, then over the chunks in order
//     (deterministic for any thread count). CUDA: float atomicAdd into grad_verts (alert_atomic_reduction); under
//     torch.use_deterministic_algorithms the CUDA op runs the CPU kernel on host copies instead (a synchronisation
//     and two copies: a slow, deterministic path).
//
// Exact hierarchical evaluation (Jacobson et al. 2013, 3.3): over the BVH (mesh_bvh/bvh.h), a node whose box does
// not contain q contributes the solid angle of any surface with the node's boundary inside the box -- the fan
// from the box centre over its boundary chain -- when that chain is shorter than the node's face count (0 for a
// closed patch); other nodes recurse, and leaves sum their faces. Exact up to rounding.
//
// On CPU every argument's structure is checked (BVH, chains, face ids); CUDA kernels clamp every id instead.
// float16 / bfloat16 inputs are computed in float32 (float64: float64); results have the input dtypes.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cmath>
#include <tuple>

#include "../mesh_bvh/bvh.h"

namespace mg {
namespace wn {

constexpr double kFourPi = 4 * 3.14159265358979323846;

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

// Derivatives of solid_angle w.r.t. x = a - q, y = b - q, z = c - q (so d/da = gx, d/dq = -(gx + gy + gz)):
// 2 atan2(det, den) with det = x . (y x z) and den = |x||y||z| + (x.y)|z| + (x.z)|y| + (y.z)|x|. False (and
// zeros) where it has none: q at a vertex, or det = den = 0 (q on an edge or on the triangle).
template <typename T>
C10_HOST_DEVICE inline bool solid_angle_grad(const T* q, const T* a, const T* b, const T* c, T* gx, T* gy, T* gz) {
  const T x[3] = {a[0] - q[0], a[1] - q[1], a[2] - q[2]};
  const T y[3] = {b[0] - q[0], b[1] - q[1], b[2] - q[2]};
  const T z[3] = {c[0] - q[0], c[1] - q[1], c[2] - q[2]};
  for (int k = 0; k < 3; ++k) gx[k] = gy[k] = gz[k] = T(0);
  const T lx = std::sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
  const T ly = std::sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2]);
  const T lz = std::sqrt(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
  if (!(lx > T(0) && ly > T(0) && lz > T(0))) return false;
  const T yz_c[3] = {y[1] * z[2] - y[2] * z[1], y[2] * z[0] - y[0] * z[2], y[0] * z[1] - y[1] * z[0]};
  const T zx_c[3] = {z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]};
  const T xy_c[3] = {x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]};
  const T det = x[0] * yz_c[0] + x[1] * yz_c[1] + x[2] * yz_c[2];
  const T xy = x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
  const T xz = x[0] * z[0] + x[1] * z[1] + x[2] * z[2];
  const T yz = y[0] * z[0] + y[1] * z[1] + y[2] * z[2];
  const T den = lx * ly * lz + xy * lz + xz * ly + yz * lx;
  const T r2 = det * det + den * den;
  if (!(r2 > T(0))) return false;
  const T d_det = T(2) * den / r2, d_den = T(-2) * det / r2;
  const T sx = (ly * lz + yz) / lx, sy = (lx * lz + xz) / ly, sz = (lx * ly + xy) / lz;
  for (int k = 0; k < 3; ++k) {
    gx[k] = d_det * yz_c[k] + d_den * (x[k] * sx + y[k] * lz + z[k] * ly);
    gy[k] = d_det * zx_c[k] + d_den * (y[k] * sy + x[k] * lz + z[k] * lx);
    gz[k] = d_det * xy_c[k] + d_den * (z[k] * sz + x[k] * ly + y[k] * lx);
  }
  return true;
}

// The hierarchical evaluation (contract above) of q against the faces below `root`: calls
// term(a, ia, b, ib, c, ic, mult) for every solid-angle term mult * solid_angle(q, a, b, c) it sums, with the
// vertex ids (ia = -1 for a fan's apex). Every id read is clamped (root, children, chain and face ranges, order,
// vertex ids): memory-safe and terminating on any tensors.
template <typename T, typename Term>
C10_HOST_DEVICE inline void visit_terms(const T* q, const T* verts, int64_t V, const int64_t* faces, int64_t F,
                                        const T* box, const int64_t* node, const int64_t* order,
                                        const int64_t* bstart, const int64_t* bedge, int64_t B, int64_t root,
                                        int64_t M, Term& term) {
  if (root < 0 || root >= M || V <= 0 || F <= 0) return;
  int64_t stack[bvh::kStackSize];
  int top = 0;
  stack[top++] = root;
  while (top > 0) {
    const int64_t m = stack[--top];
    const T* bx = box + 6 * m;
    const int64_t count = node[3 * m + 1];
    if (bvh::outside_box(q, bx)) {
      int64_t b0 = bstart[m], b1 = bstart[m + 1];
      b0 = b0 < 0 ? 0 : (b0 > B ? B : b0);
      b1 = b1 < b0 ? b0 : (b1 > B ? B : b1);
      if (b1 - b0 < count) {  // the fan over the boundary chain
        const T apex[3] = {(bx[0] + bx[3]) / T(2), (bx[1] + bx[4]) / T(2), (bx[2] + bx[5]) / T(2)};
        for (int64_t e = b0; e < b1; ++e) {
          const int64_t* ed = bedge + 3 * e;
          const int64_t u = bvh::clamp_index(ed[0], V), v = bvh::clamp_index(ed[1], V);
          term(apex, int64_t(-1), verts + 3 * u, u, verts + 3 * v, v, static_cast<T>(ed[2]));
        }
        continue;
      }
    }
    const int64_t left = node[3 * m + 2];
    if (left <= m || left + 1 >= M || top + 2 > bvh::kStackSize) {
      for (int64_t k = node[3 * m]; k < node[3 * m] + count; ++k) {
        const int64_t* f = faces + 3 * bvh::clamp_index(order[bvh::clamp_index(k, F)], F);
        const int64_t i0 = bvh::clamp_index(f[0], V), i1 = bvh::clamp_index(f[1], V), i2 = bvh::clamp_index(f[2], V);
        term(verts + 3 * i0, i0, verts + 3 * i1, i1, verts + 3 * i2, i2, T(1));
      }
      continue;
    }
    stack[top++] = left;
    stack[top++] = left + 1;
  }
}

// Forward term: the sum of the solid angles.
template <typename T>
struct SolidAngleSum {
  const T* q;
  T w;
  C10_HOST_DEVICE void operator()(const T* a, int64_t, const T* b, int64_t, const T* c, int64_t, T mult) {
    w += mult * solid_angle(q, a, b, c);
  }
};

// Backward term: scale * mult * d(solid angle) into gq (the point's gradient) and, through
// scatter(vertex, 3 values), into the vertices' gradient.
template <typename T, typename Scatter>
struct SolidAngleGrad {
  const T* q;
  T scale;
  Scatter scatter;
  T gq[3];
  C10_HOST_DEVICE void operator()(const T* a, int64_t ia, const T* b, int64_t ib, const T* c, int64_t ic, T mult) {
    T gx[3], gy[3], gz[3];
    if (!solid_angle_grad(q, a, b, c, gx, gy, gz)) return;
    const T s = mult * scale;
    for (int k = 0; k < 3; ++k) {
      gx[k] *= s;
      gy[k] *= s;
      gz[k] *= s;
      gq[k] -= gx[k] + gy[k] + gz[k];
    }
    if (ia >= 0) scatter(ia, gx);
    scatter(ib, gy);
    scatter(ic, gz);
  }
};

// Checks every argument (on CPU tensors also the BVH and chain structure and the face ids). Returns M.
int64_t check_inputs(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                     const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box, const at::Tensor& node,
                     const at::Tensor& order, const at::Tensor& root, const at::Tensor& chain_start,
                     const at::Tensor& chain_edge);

// The CPU backward (also the CUDA op's deterministic path, on host copies).
std::tuple<at::Tensor, at::Tensor> winding_number_backward_cpu(
    const at::Tensor& grad, const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
    const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box, const at::Tensor& node,
    const at::Tensor& order, const at::Tensor& root, const at::Tensor& chain_start, const at::Tensor& chain_edge);

}  // namespace wn
}  // namespace mg
