// box3d_overlap: exact intersection volume and IoU of oriented 3D boxes (PyTorch3D's pytorch3d.ops.box3d_overlap,
// its C++ op iou_box3d), every box of one batch against every box of the other.
//
//   box3d_overlap(boxes1 (N, 8, 3), boxes2 (M, 8, 3)) -> vol (N, M), iou (N, M) in the boxes' dtype:
//     vol[n, m] = volume(box1_n ∩ box2_m), iou = vol / (vol1 + vol2 - vol) (0 where that union is not positive).
//   Corners in PyTorch3D's order (faces {0,1,2,3}, {3,2,6,7}, {0,1,5,4}, {0,3,7,4}, {1,2,6,5}, {4,5,6,7}); each face
//   planar and each box convex with non-degenerate faces (the Python wrapper checks this as PyTorch3D does).
//   Method, per pair, in acc_t<scalar_t> (float32 for the half types), coordinates taken relative to box1's centre:
//     - each face is an outward-wound quad (Newell normal, oriented away from its box's centre) on its plane;
//     - the boundary of the intersection is every face of one box clipped (Sutherland-Hodgman) by the six
//       half-spaces of the other (a vertex within kCoplanarUlps * eps(acc_t) * extent of a plane counts as on it:
//       no slivers from rounding); its volume is the divergence-theorem sum of the fan tetrahedra of those
//       polygons with the origin: sum det(q0, qi, qi+1) / 6;
//     - coplanar faces (every corner of one within tol of the other's plane, a symmetric test): a box1 face on a box2 plane of the
//       same orientation is kept and not clipped by that plane, the box2 face is dropped (the shared region counts
//       once); faces on a plane of opposite orientation (boxes touching there) are dropped on both sides (the
//       region has no volume). tol = max(kCoplanarUlps eps(acc_t), 2 eps(scalar_t)) * (the pair's extent), so
//       rounding of the input dtype is not mistaken for a gap.
//     - identical float32 / float64 boxes give vol == vol1 == vol2 and iou == 1 exactly (half types: to their
//       rounding).
//     - box volumes by the same sum over the unclipped faces (box1 relative to its centre, box2 to its own); vol
//       is clamped to [0, min(vol1, vol2)].
//   Polygons are bounded by kMaxPoly vertices (a convex quad clipped by six planes has at most 10): writes past it
//   are dropped, so any input (non-planar, NaN) is memory-safe; NaN corners give unspecified values, never a crash.
//   No backward (PyTorch3D has none either: the wrapper's autograd raises).
//   Any N, M, including 0. CPU: parallel over pairs; CUDA: one thread per pair; no atomics, no syncs, and the same
//   C10_HOST_DEVICE code on both (bit-identical results: no FP contraction).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "../../common/checks.h"

namespace mg {
namespace box3d {

constexpr int kMaxPoly = 12;
constexpr double kCoplanarUlps = 16.0;

// The six faces as corner indices, in PyTorch3D's order (_box_planes).
// (face f's four corner indices packed as nibbles, corner 0 lowest)
C10_HOST_DEVICE inline int face_corner(int f, int i) {
  const unsigned packed = f == 0 ? 0x3210u : f == 1 ? 0x7623u : f == 2 ? 0x4510u : f == 3 ? 0x4730u : f == 4 ? 0x5621u : 0x7654u;
  return static_cast<int>((packed >> (4 * i)) & 0xFu);
}

template <typename T>
struct Vec3 {
  T x, y, z;
};

template <typename T>
C10_HOST_DEVICE inline Vec3<T> sub(const Vec3<T>& a, const Vec3<T>& b) {
  return {a.x - b.x, a.y - b.y, a.z - b.z};
}
template <typename T>
C10_HOST_DEVICE inline T dot(const Vec3<T>& a, const Vec3<T>& b) {
  return a.x * b.x + a.y * b.y + a.z * b.z;
}
template <typename T>
C10_HOST_DEVICE inline Vec3<T> cross(const Vec3<T>& a, const Vec3<T>& b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
template <typename T>
C10_HOST_DEVICE inline T abs_(T x) {
  return x < T(0) ? -x : x;
}

// One box prepared for clipping: corners relative to the pair's origin, per face the outward unit normal, a point
// on the plane (the face centre) and the winding (true: corners 0..3 are outward; false: reversed).
template <typename T>
struct Box {
  Vec3<T> p[8];
  Vec3<T> n[6];
  Vec3<T> c[6];
  bool ccw[6];
};

// Box b (24 values, corner-major) read in scalar_t, shifted by -origin, its faces' planes oriented outward.
template <typename scalar_t, typename T>
C10_HOST_DEVICE inline void load_box(const scalar_t* b, const Vec3<T>& origin, Box<T>& box) {
  Vec3<T> center{T(0), T(0), T(0)};
  for (int i = 0; i < 8; ++i) {
    box.p[i] = {static_cast<T>(b[3 * i]) - origin.x, static_cast<T>(b[3 * i + 1]) - origin.y,
                static_cast<T>(b[3 * i + 2]) - origin.z};
    center = {center.x + box.p[i].x, center.y + box.p[i].y, center.z + box.p[i].z};
  }
  center = {center.x / T(8), center.y / T(8), center.z / T(8)};
  for (int f = 0; f < 6; ++f) {
    const Vec3<T> q0 = box.p[face_corner(f, 0)], q1 = box.p[face_corner(f, 1)], q2 = box.p[face_corner(f, 2)],
                  q3 = box.p[face_corner(f, 3)];
    const Vec3<T> fc{(q0.x + q1.x + q2.x + q3.x) / T(4), (q0.y + q1.y + q2.y + q3.y) / T(4),
                     (q0.z + q1.z + q2.z + q3.z) / T(4)};
    Vec3<T> n = cross(sub(q2, q0), sub(q3, q1));  // a quad's Newell normal (twice its vector area)
    const T len = sqrt(dot(n, n));
    n = len > T(0) ? Vec3<T>{n.x / len, n.y / len, n.z / len} : Vec3<T>{T(0), T(0), T(0)};
    const bool outward = dot(n, sub(fc, center)) >= T(0);
    box.n[f] = outward ? n : Vec3<T>{-n.x, -n.y, -n.z};
    box.c[f] = fc;
    box.ccw[f] = outward;
  }
}

// Signed distance of p to face f's plane (positive outside the box).
template <typename T>
C10_HOST_DEVICE inline T plane_dist(const Box<T>& box, int f, const Vec3<T>& p) {
  return dot(box.n[f], sub(p, box.c[f]));
}

// Face f of a as an outward-wound polygon.
template <typename T>
C10_HOST_DEVICE inline int face_polygon(const Box<T>& a, int f, Vec3<T>* poly) {
  for (int i = 0; i < 4; ++i) poly[i] = a.p[face_corner(f, a.ccw[f] ? i : 3 - i)];
  return 4;
}

// Sutherland-Hodgman: poly (k vertices) clipped to the half-space dist <= 0 of box's face g, into out; returns the
// new count (at most kMaxPoly). A vertex within tol of the plane counts as on it (kept, no crossing computed), so
// rounding noise of vertices that lie on the plane (shared edges, identical boxes) creates no slivers.
template <typename T>
C10_HOST_DEVICE inline int clip(const Vec3<T>* poly, int k, const Box<T>& box, int g, T tol, Vec3<T>* out) {
  int m = 0;
  for (int i = 0; i < k; ++i) {
    const Vec3<T>& P = poly[i];
    const Vec3<T>& Q = poly[i + 1 == k ? 0 : i + 1];
    const T dP = plane_dist(box, g, P), dQ = plane_dist(box, g, Q);
    if (dP <= tol && m < kMaxPoly) out[m++] = P;
    if (((dP < -tol && dQ > tol) || (dP > tol && dQ < -tol)) && m < kMaxPoly) {
      const T t = dP / (dP - dQ);
      out[m++] = {P.x + t * (Q.x - P.x), P.y + t * (Q.y - P.y), P.z + t * (Q.z - P.z)};
    }
  }
  return m;
}

// sum det(q0, qi, qi+1) / 6 over the polygon's fan: its signed cone volume with the origin.
template <typename T>
C10_HOST_DEVICE inline T cone_volume(const Vec3<T>* poly, int k) {
  T v = T(0);
  for (int i = 1; i + 1 < k; ++i) v = v + dot(poly[0], cross(poly[i], poly[i + 1]));
  return v / T(6);
}

// Volume of a box from its faces (origin: wherever load_box put it).
template <typename T>
C10_HOST_DEVICE inline T box_volume(const Box<T>& a) {
  Vec3<T> poly[4];
  T v = T(0);
  for (int f = 0; f < 6; ++f) v = v + cone_volume(poly, face_polygon(a, f, poly));
  return v;
}

// Whether every corner of a's face f lies within tol of b's plane g.
template <typename T>
C10_HOST_DEVICE inline bool coplanar(const Box<T>& a, int f, const Box<T>& b, int g, T tol) {
  for (int i = 0; i < 4; ++i)
    if (!(abs_(plane_dist(b, g, a.p[face_corner(f, i)])) <= tol)) return false;
  return true;
}

// The volume enclosed by a's faces clipped to b. first: a is box1 (keeps faces lying on a same-oriented plane of b);
// otherwise such faces are dropped. Faces on an opposite-oriented plane of b are dropped either way.
template <typename T>
C10_HOST_DEVICE inline T clipped_volume(const Box<T>& a, const Box<T>& b, bool first, T tol, T clip_tol) {
  Vec3<T> buf0[kMaxPoly], buf1[kMaxPoly];
  T v = T(0);
  for (int f = 0; f < 6; ++f) {
    int skip = -1;
    bool drop = false;
    for (int g = 0; g < 6; ++g) {
      // symmetric in (a, f) <-> (b, g): both calls of a pair make the same decision, so a shared face is
      // counted exactly once even when only one of the two faces is within tol of the other's plane
      if (!coplanar(a, f, b, g, tol) && !coplanar(b, g, a, f, tol)) continue;
      if (first && dot(a.n[f], b.n[g]) > T(0)) {
        skip = g;
      } else {
        drop = true;
      }
      break;
    }
    if (drop) continue;
    int k = face_polygon(a, f, buf0);
    Vec3<T>* cur = buf0;
    Vec3<T>* nxt = buf1;
    for (int g = 0; g < 6 && k > 0; ++g) {
      if (g == skip) continue;
      k = clip(cur, k, b, g, clip_tol, nxt);
      Vec3<T>* t = cur;
      cur = nxt;
      nxt = t;
    }
    if (k >= 3) v = v + cone_volume(cur, k);
  }
  return v;
}

// The coplanarity tolerance relative to a pair's extent (computed on the host): kCoplanarUlps * eps(T) (rounding of
// the computation), or 2 eps(scalar_t) where the input's own rounding is larger (the half types).
template <typename scalar_t, typename T>
inline T coplanar_rel_tol() {
  const double comp = kCoplanarUlps * static_cast<double>(std::numeric_limits<T>::epsilon());
  const double input = 2.0 * static_cast<double>(std::numeric_limits<scalar_t>::epsilon());
  return static_cast<T>(comp > input ? comp : input);
}

// Pair (n, m): b1, b2 the two boxes' 24 values; rel_tol = coplanar_rel_tol<scalar_t, T>(); writes vol and iou in
// scalar_t.
template <typename scalar_t, typename T>
C10_HOST_DEVICE inline void overlap_pair(const scalar_t* b1, const scalar_t* b2, T rel_tol, scalar_t* vol_out,
                                         scalar_t* iou_out) {
  Vec3<T> c1{T(0), T(0), T(0)}, c2{T(0), T(0), T(0)};
  for (int i = 0; i < 8; ++i) {
    c1 = {c1.x + static_cast<T>(b1[3 * i]), c1.y + static_cast<T>(b1[3 * i + 1]), c1.z + static_cast<T>(b1[3 * i + 2])};
    c2 = {c2.x + static_cast<T>(b2[3 * i]), c2.y + static_cast<T>(b2[3 * i + 1]), c2.z + static_cast<T>(b2[3 * i + 2])};
  }
  c1 = {c1.x / T(8), c1.y / T(8), c1.z / T(8)};
  c2 = {c2.x / T(8), c2.y / T(8), c2.z / T(8)};
  Box<T> a, b;
  load_box<scalar_t, T>(b1, c1, a);
  load_box<scalar_t, T>(b2, c2, b);
  const T vol2 = box_volume(b);
  load_box<scalar_t, T>(b2, c1, b);  // box2 in box1's frame for the clipping
  const T vol1 = box_volume(a);
  T extent = T(0);
  for (int i = 0; i < 8; ++i) {
    const T e = abs_(a.p[i].x) + abs_(a.p[i].y) + abs_(a.p[i].z) + abs_(b.p[i].x) + abs_(b.p[i].y) + abs_(b.p[i].z);
    extent = e > extent ? e : extent;
  }
  const T tol = rel_tol * extent;
  const T clip_tol = static_cast<T>(kCoplanarUlps) * std::numeric_limits<T>::epsilon() * extent;
  T vol = clipped_volume(a, b, true, tol, clip_tol) + clipped_volume(b, a, false, tol, clip_tol);
  const T vmax = vol1 < vol2 ? vol1 : vol2;
  vol = vol > vmax ? vmax : vol;
  vol = vol > T(0) ? vol : T(0);  // also maps NaN to 0
  const T uni = vol1 + vol2 - vol;
  *vol_out = static_cast<scalar_t>(vol);
  *iou_out = static_cast<scalar_t>(uni > T(0) ? vol / uni : T(0));
}

// boxes (B, 8, 3) floating, on one device and dtype.
inline void check_inputs(const at::Tensor& boxes1, const at::Tensor& boxes2) {
  MG_CHECK_FLOATING(boxes1);
  MG_CHECK_SAME_DTYPE(boxes1, boxes2);
  MG_CHECK_SAME_DEVICE(boxes1, boxes2);
  TORCH_CHECK(boxes1.dim() == 3 && boxes1.size(1) == 8 && boxes1.size(2) == 3,
              "boxes1 must have shape (N, 8, 3), got ", boxes1.sizes());
  TORCH_CHECK(boxes2.dim() == 3 && boxes2.size(1) == 8 && boxes2.size(2) == 3,
              "boxes2 must have shape (M, 8, 3), got ", boxes2.sizes());
}

// One call after its checks (both backends): the box counts, the boxes made contiguous and the (N, M) outputs.
struct Call {
  int64_t N, M;
  at::Tensor a, b, vol, iou;
  bool empty() const { return N == 0 || M == 0; }
};

inline Call prepare(const at::Tensor& boxes1, const at::Tensor& boxes2) {
  check_inputs(boxes1, boxes2);
  const int64_t N = boxes1.size(0), M = boxes2.size(0);
  return {N, M, boxes1.contiguous(), boxes2.contiguous(), at::empty({N, M}, boxes1.options()),
          at::empty({N, M}, boxes1.options())};
}

}  // namespace box3d
}  // namespace mg
