// rasterize_meshes: each pixel's K nearest (in depth) faces (PyTorch3D semantics), with barycentrics and
// signed 2D distances, binned like rasterize_points (data-sized tiles: no overflow, brute-force result).
//
//   rasterize_meshes(face_verts: (F, 3, 3) packed, mesh_first, mesh_size: (N,) int64, H, W, blur_radius, K,
//                    bin_size: int? (None: chosen from the data; 0: one tile per image; > 0: the tile side),
//                    perspective_correct, clip_barycentric_coords, cull_backfaces)
//     -> pix_to_face (N, H, W, K) int64, zbuf (N, H, W, K), bary (N, H, W, K, 3), dists (N, H, W, K)
//   Vertices are in raster space (NDC x, y; view depth z). For the pixel centre p of image n and face f of mesh
//   n with area A = E(v2, v0, v1) (E(p, a, b) = (p.x - a.x)(b.y - a.y) - (p.y - a.y)(b.x - a.x)):
//     - skipped when p lies outside the face's xy bounding box grown by sqrt(blur_radius), when |A| <= 1e-8
//       (degenerate), A < 0 with cull_backfaces, or any coordinate is not finite;
//     - w_i = E(p, v_{i+1}, v_{i+2}) / A; perspective_correct: w_i <- w_i z_j z_k / max(sum, 1e-8);
//       clip_barycentric_coords: b_i = max(w_i, 0) / max(sum max(w, 0), 1e-5), else b = w;
//     - pz = sum b_i z_i, skipped when pz < 0 (behind the camera);
//     - d = squared 2D distance from p to the triangle's edges; inside = all w_i > 0; skipped when
//       !inside and d >= blur_radius (blur_radius compares with a *squared* distance, as in PyTorch3D);
//     - dists = inside ? -d : d.
//   The K hits with the smallest (pz, face index) fill the pixel's row in that order; -1 pads pix_to_face, zbuf,
//   dists and bary. face_verts is float16, bfloat16, float32 or float64: the kernels compute in
//   acc_t<scalar_t> (float32 for the half types) and zbuf, bary, dists come back in face_verts' dtype; the
//   backward's gradients are summed in acc_t too.
//   rasterize_meshes_backward(face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, perspective_correct,
//     clip_barycentric_coords) -> grad_face_verts (F, 3, 3): exact reverse mode of the chain above (the
//     distance through its closest edge; the clamped parameter of a segment projection is stationary).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>

#include "../rasterize_points/rasterize_points.h"

namespace mg {
namespace raster {

constexpr double kFaceAreaEps = 1e-8;
constexpr double kPerspEps = 1e-8;
constexpr double kClipEps = 1e-5;

template <typename T>
C10_HOST_DEVICE inline T edge_fn(T px, T py, T ax, T ay, T bx, T by) {
  return (px - ax) * (by - ay) - (py - ay) * (bx - ax);
}

// Squared distance from p to segment ab, and d/da, d/db (x, y) scaled by g, accumulated into ga, gb if given.
template <typename T>
C10_HOST_DEVICE inline T segment_dist2(T px, T py, T ax, T ay, T bx, T by, T g = 0, T* ga = nullptr, T* gb = nullptr) {
  const T ex = bx - ax, ey = by - ay;
  const T l2 = ex * ex + ey * ey;
  if (l2 <= T(kFaceAreaEps)) {
    const T dx = px - bx, dy = py - by;
    if (gb) {
      gb[0] += -2 * dx * g;
      gb[1] += -2 * dy * g;
    }
    return dx * dx + dy * dy;
  }
  T t = (ex * (px - ax) + ey * (py - ay)) / l2;
  t = t < T(0) ? T(0) : (t > T(1) ? T(1) : t);
  const T qx = px - ax - t * ex, qy = py - ay - t * ey;
  if (ga) {
    ga[0] += -2 * qx * (1 - t) * g;
    ga[1] += -2 * qy * (1 - t) * g;
    gb[0] += -2 * qx * t * g;
    gb[1] += -2 * qy * t * g;
  }
  return qx * qx + qy * qy;
}

template <typename T>
struct FaceHit {
  T pz, dist, b[3];
};

// Whether face fv (9 values, v0 v1 v2 as x y z) is drawn at pixel centre (px, py); fills hit if so.
template <typename scalar_t, typename T>
C10_HOST_DEVICE inline bool raster_face(const scalar_t* fv, T px, T py, T blur, T margin, bool persp, bool clip,
                                        bool cull, FaceHit<T>& hit) {
  const T x0 = fv[0], y0 = fv[1], z0 = fv[2], x1 = fv[3], y1 = fv[4], z1 = fv[5], x2 = fv[6], y2 = fv[7], z2 = fv[8];
  // outside the face's bounding box grown by sqrt(blur_radius): never a hit (what the tiles rely on)
  const T xlo = x0 < x1 ? (x0 < x2 ? x0 : x2) : (x1 < x2 ? x1 : x2);
  const T xhi = x0 > x1 ? (x0 > x2 ? x0 : x2) : (x1 > x2 ? x1 : x2);
  const T ylo = y0 < y1 ? (y0 < y2 ? y0 : y2) : (y1 < y2 ? y1 : y2);
  const T yhi = y0 > y1 ? (y0 > y2 ? y0 : y2) : (y1 > y2 ? y1 : y2);
  if (px < xlo - margin || px > xhi + margin || py < ylo - margin || py > yhi + margin) return false;
  const T A = edge_fn(x2, y2, x0, y0, x1, y1);
  if (!(A > T(kFaceAreaEps) || A < -T(kFaceAreaEps))) return false;  // degenerate (or NaN)
  if (cull && A < 0) return false;
  const T e0 = edge_fn(px, py, x1, y1, x2, y2), e1 = edge_fn(px, py, x2, y2, x0, y0),
          e2 = edge_fn(px, py, x0, y0, x1, y1);
  // Without blur only pixels inside can hit: reject on the signs of the edge functions before any division
  // (perspective correction keeps the signs when the depths are positive; otherwise take the full path).
  if (blur <= T(0) && (!persp || (z0 > 0 && z1 > 0 && z2 > 0))) {
    const bool pos = A > 0;
    if (pos ? !(e0 > 0 && e1 > 0 && e2 > 0) : !(e0 < 0 && e1 < 0 && e2 < 0)) return false;
  }
  T w[3] = {e0 / A, e1 / A, e2 / A};
  if (persp) {
    const T t0 = w[0] * z1 * z2, t1 = w[1] * z0 * z2, t2 = w[2] * z0 * z1;
    T s = t0 + t1 + t2;
    s = s > T(kPerspEps) ? s : T(kPerspEps);
    w[0] = t0 / s;
    w[1] = t1 / s;
    w[2] = t2 / s;
  }
  const bool inside = w[0] > 0 && w[1] > 0 && w[2] > 0;
  T b[3] = {w[0], w[1], w[2]};
  if (clip) {
    for (int i = 0; i < 3; ++i) b[i] = b[i] > 0 ? b[i] : T(0);
    T s = b[0] + b[1] + b[2];
    s = s > T(kClipEps) ? s : T(kClipEps);
    for (int i = 0; i < 3; ++i) b[i] /= s;
  }
  const T pz = b[0] * z0 + b[1] * z1 + b[2] * z2;
  if (!(pz >= 0)) return false;
  T d = segment_dist2(px, py, x0, y0, x1, y1);
  const T d02 = segment_dist2(px, py, x0, y0, x2, y2);
  const T d12 = segment_dist2(px, py, x1, y1, x2, y2);
  d = d02 < d ? d02 : d;
  d = d12 < d ? d12 : d;
  if (!inside && d >= blur) return false;
  hit.pz = pz;
  hit.dist = inside ? -d : d;
  for (int i = 0; i < 3; ++i) hit.b[i] = b[i];
  return true;
}

// Reverse mode of raster_face for a drawn hit: adds d/dfv of gz * pz + <gb, b> + gd * dist into g (9 values).
template <typename scalar_t, typename T>
C10_HOST_DEVICE inline void raster_face_backward(const scalar_t* fv, T px, T py, bool persp, bool clip, T gz,
                                                 const T* gb_in, T gd, T* g) {
  const T x[3] = {static_cast<T>(fv[0]), static_cast<T>(fv[3]), static_cast<T>(fv[6])};
  const T y[3] = {static_cast<T>(fv[1]), static_cast<T>(fv[4]), static_cast<T>(fv[7])};
  const T z[3] = {static_cast<T>(fv[2]), static_cast<T>(fv[5]), static_cast<T>(fv[8])};
  // forward again, keeping intermediates
  const T A = edge_fn(x[2], y[2], x[0], y[0], x[1], y[1]);
  const T e[3] = {edge_fn(px, py, x[1], y[1], x[2], y[2]), edge_fn(px, py, x[2], y[2], x[0], y[0]),
                  edge_fn(px, py, x[0], y[0], x[1], y[1])};
  T w[3] = {e[0] / A, e[1] / A, e[2] / A};
  T t[3] = {w[0] * z[1] * z[2], w[1] * z[0] * z[2], w[2] * z[0] * z[1]};
  const T S = t[0] + t[1] + t[2];
  const T D = S > T(kPerspEps) ? S : T(kPerspEps);
  T u[3] = {w[0], w[1], w[2]};
  if (persp)
    for (int i = 0; i < 3; ++i) u[i] = t[i] / D;
  T c[3], b[3] = {u[0], u[1], u[2]};
  T Sc_raw = 0;
  for (int i = 0; i < 3; ++i) {
    c[i] = u[i] > 0 ? u[i] : T(0);
    Sc_raw += c[i];
  }
  const T Sc = Sc_raw > T(kClipEps) ? Sc_raw : T(kClipEps);
  if (clip)
    for (int i = 0; i < 3; ++i) b[i] = c[i] / Sc;
  const bool inside = u[0] > 0 && u[1] > 0 && u[2] > 0;
  // zbuf = sum b_i z_i
  T gbt[3];
  for (int i = 0; i < 3; ++i) {
    gbt[i] = gb_in[i] + gz * z[i];
    g[3 * i + 2] += gz * b[i];
  }
  // clip
  T gu[3] = {gbt[0], gbt[1], gbt[2]};
  if (clip) {
    T dot = 0;
    for (int i = 0; i < 3; ++i) dot += gbt[i] * c[i];
    for (int i = 0; i < 3; ++i) {
      T gc = gbt[i] / Sc - (Sc_raw > T(kClipEps) ? dot / (Sc * Sc) : T(0));
      gu[i] = u[i] > 0 ? gc : T(0);
    }
  }
  // perspective correction
  T gw[3] = {gu[0], gu[1], gu[2]};
  if (persp) {
    T dot = 0;
    for (int i = 0; i < 3; ++i) dot += gu[i] * t[i];
    T gt[3];
    for (int i = 0; i < 3; ++i) gt[i] = gu[i] / D - (S > T(kPerspEps) ? dot / (D * D) : T(0));
    gw[0] = gt[0] * z[1] * z[2];
    gw[1] = gt[1] * z[0] * z[2];
    gw[2] = gt[2] * z[0] * z[1];
    g[5] += gt[0] * w[0] * z[2] + gt[2] * w[2] * z[0];  // z1
    g[8] += gt[0] * w[0] * z[1] + gt[1] * w[1] * z[0];  // z2
    g[2] += gt[1] * w[1] * z[2] + gt[2] * w[2] * z[1];  // z0
  }
  // w_i = e_i / A
  T gA = 0;
  T ge[3];
  for (int i = 0; i < 3; ++i) {
    ge[i] = gw[i] / A;
    gA -= gw[i] * e[i] / (A * A);
  }
  // e_i = E(p, a, b) with (a, b) = (v_{i+1}, v_{i+2}); dE/da = (p.y - b.y, b.x - p.x), dE/db = (a.y - p.y, p.x - a.x)
  for (int i = 0; i < 3; ++i) {
    const int a = (i + 1) % 3, bb = (i + 2) % 3;
    g[3 * a] += ge[i] * (py - y[bb]);
    g[3 * a + 1] += ge[i] * (x[bb] - px);
    g[3 * bb] += ge[i] * (y[a] - py);
    g[3 * bb + 1] += ge[i] * (px - x[a]);
  }
  // A = E(v2, v0, v1)
  g[6] += gA * (y[1] - y[0]);
  g[7] += gA * (x[0] - x[1]);
  g[0] += gA * (y[2] - y[1]);
  g[1] += gA * (x[1] - x[2]);
  g[3] += gA * (y[0] - y[2]);
  g[4] += gA * (x[2] - x[0]);
  // signed distance through the closest edge (first minimum in the order 01, 02, 12)
  const T gdist = inside ? -gd : gd;
  const int ea[3] = {0, 0, 1}, eb[3] = {1, 2, 2};
  int best = 0;
  T bd = segment_dist2(px, py, x[0], y[0], x[1], y[1]);
  for (int k = 1; k < 3; ++k) {
    const T dk = segment_dist2(px, py, x[ea[k]], y[ea[k]], x[eb[k]], y[eb[k]]);
    if (dk < bd) {
      bd = dk;
      best = k;
    }
  }
  T ga[2] = {0, 0}, gbv[2] = {0, 0};
  segment_dist2(px, py, x[ea[best]], y[ea[best]], x[eb[best]], y[eb[best]], gdist, ga, gbv);
  g[3 * ea[best]] += ga[0];
  g[3 * ea[best] + 1] += ga[1];
  g[3 * eb[best]] += gbv[0];
  g[3 * eb[best] + 1] += gbv[1];
}

// Insert a hit into a pixel row kept sorted by (pz, face); returns the new count (<= K). The rows are held in the
// accumulation type T (float32 for float16 / bfloat16 inputs: depths are compared unrounded; the op converts the
// finished outputs to the input's dtype).
template <typename T>
C10_HOST_DEVICE inline int64_t insert_hit(int64_t count, int64_t K, int64_t f, const FaceHit<T>& h, int64_t* p2f,
                                          T* zbuf, T* bary, T* dists) {
  int64_t pos = count < K ? count : K - 1;
  if (count == K) {
    const T wz = zbuf[K - 1];
    if (h.pz > wz || (h.pz == wz && f > p2f[K - 1])) return count;
  }
  while (pos > 0) {
    const T z = zbuf[pos - 1];
    if (z < h.pz || (z == h.pz && p2f[pos - 1] < f)) break;
    p2f[pos] = p2f[pos - 1];
    zbuf[pos] = zbuf[pos - 1];
    dists[pos] = dists[pos - 1];
    for (int i = 0; i < 3; ++i) bary[3 * pos + i] = bary[3 * (pos - 1) + i];
    --pos;
  }
  p2f[pos] = f;
  zbuf[pos] = h.pz;
  dists[pos] = h.dist;
  for (int i = 0; i < 3; ++i) bary[3 * pos + i] = h.b[i];
  return count < K ? count + 1 : K;
}

// One pixel: walk the tile's faces in key order (key = nearest vertex depth, -inf for faces that could break the
// bound). When every hit's barycentrics are convex (no blur; or clipped without perspective correction) a hit's
// depth is >= its face's key up to rounding, so the walk stops once K hits are held and the next key lies
// (with a 1e-5 relative margin) behind the K-th depth. Otherwise it walks the whole tile.
template <typename scalar_t, typename T>
C10_HOST_DEVICE inline void raster_mesh_pixel(const scalar_t* fv, const T* zkey, const int64_t* items,
                                              int64_t begin, int64_t end, T px, T py, T blur, bool persp, bool clip,
                                              bool cull, int64_t K, int64_t* p2f, T* zbuf, T* bary, T* dists) {
  const bool early = blur <= T(0) || (clip && !persp);
  const T margin = sqrt(blur);
  int64_t count = 0;
  FaceHit<T> h;
  for (int64_t t = begin; t < end; ++t) {
    const int64_t f = items[t];
    if (early && count == K && zkey[f] * T(1 - 1e-5) > zbuf[K - 1]) break;
    if (!raster_face<scalar_t, T>(fv + 9 * f, px, py, blur, margin, persp, clip, cull, h)) continue;
    count = insert_hit<T>(count, K, f, h, p2f, zbuf, bary, dists);
  }
}

Bins build_face_bins(const at::Tensor& face_verts, const at::Tensor& mesh_first, const at::Tensor& mesh_size,
                     int64_t H, int64_t W, double blur_radius, std::optional<int64_t> bin_size, bool cull_backfaces,
                     bool perspective_correct);

// Devices, dtypes and shapes of every argument; on CPU also every mesh's [first, first + size) within the packed
// faces (checks.h). On CUDA the binning drops faces outside [0, F) (image_of_items clamps every range), so no kernel
// reads past F.
void check_mesh_inputs(const at::Tensor& face_verts, const at::Tensor& mesh_first, const at::Tensor& mesh_size,
                       int64_t H, int64_t W, int64_t K, double blur_radius, std::optional<int64_t> bin_size);

// rasterize_meshes_backward's reduction without atomics (ATen ops, any device): contrib (S, 9) holds every slot's
// 9 terms (raster_face_backward; zero rows for skipped slots) in row order of pix_to_face's S slots. They are summed
// per face with index_put_(accumulate=true), deterministic when PyTorch's deterministic algorithms are on
// (determinism.h); skipped slots add their zero row to face 0, so no mask (and no device sync) is needed.
// Returns (F, 3, 3) in `dtype`.
at::Tensor mesh_grads_from_slots(const at::Tensor& pix_to_face, const at::Tensor& contrib, int64_t F,
                                 at::ScalarType dtype);

// Devices, dtypes and shapes of every argument of the backward; pix_to_face values are not checked (slots outside
// [0, F) are skipped by every kernel).
inline void check_mesh_backward_inputs(const at::Tensor& face_verts, const at::Tensor& pix_to_face,
                                       const at::Tensor& grad_zbuf, const at::Tensor& grad_bary,
                                       const at::Tensor& grad_dists) {
  TORCH_CHECK(face_verts.dim() == 3 && face_verts.size(1) == 3 && face_verts.size(2) == 3,
              "face_verts must be (F, 3, 3), got ", face_verts.sizes());
  MG_CHECK_FLOATING(face_verts);
  MG_CHECK_DIM(pix_to_face, 4);
  MG_CHECK_DTYPE(pix_to_face, at::kLong);
  const auto s = pix_to_face.sizes();
  MG_CHECK_SHAPE(grad_zbuf, s);
  MG_CHECK_SHAPE(grad_dists, s);
  MG_CHECK_SHAPE(grad_bary, {s[0], s[1], s[2], s[3], 3});
  MG_CHECK_FLOATING(grad_zbuf);
  MG_CHECK_FLOATING(grad_bary);
  MG_CHECK_FLOATING(grad_dists);
  MG_CHECK_SAME_DEVICE(face_verts, pix_to_face);
  MG_CHECK_SAME_DEVICE(face_verts, grad_zbuf);
  MG_CHECK_SAME_DEVICE(face_verts, grad_bary);
  MG_CHECK_SAME_DEVICE(face_verts, grad_dists);
}

}  // namespace raster
}  // namespace mg
