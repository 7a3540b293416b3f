// Bounding volume hierarchy over the triangles of a batch of meshes (op mesh_bvh), traversed by ray_mesh_intersect,
// winding_number and bvh_closest_face. Built on the CPU (median split of the triangle centroids along the longest
// axis, ties by face id, at most kLeafSize triangles per leaf, the faces of every leaf in increasing id order:
// the tree is a function of the triangles alone) into flat tensors the CPU and CUDA kernels traverse with a
// fixed-size stack. Built once (op mesh_bvh) and passed to every query: the tensors are valid for the vertex
// positions they were built from.
//
//   box   (M, 6)  float or double (float for half inputs): node bounding box (lo xyz, hi xyz), padded by a few
//                 ulps of its coordinates
//   node  (M, 3)  int64: first (into order), count, left child (-1: leaf; the right child is left + 1)
//   order (F,)    int64: global face ids; the faces of every node are order[first, first + count); the faces of no
//                 element (outside every range) come last, in increasing id order
//   root  (N,)    int64: root node of element n, -1 when it has no faces
// Children come after their parent, so a backward sweep over the nodes is a bottom-up order.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cstdint>
#include <tuple>

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

// Checks of BVH tensors given to a query op: device of `like`, box dtype `box_dtype`, shapes (box (M, 6), node
// (M, 3), order (F,), root (N,), int64). On CPU also the structure the kernels rely on (node ranges within [0, F),
// children after their parent and within [0, M), roots within [-1, M), order within [0, F)); CUDA kernels clamp
// instead. Returns M.
int64_t check_bvh(const at::Tensor& box, const at::Tensor& node, const at::Tensor& order, const at::Tensor& root,
                  int64_t F, int64_t N, const at::Tensor& like, at::ScalarType box_dtype);

// Checks of a point query against packed meshes over their BVH (bvh_closest_face_idx, winding_number): points
// (P, 3) floating in N groups (cloud_first, cloud_size: ordered, disjoint ranges of rows), verts (V, 3) of the
// points' dtype, faces (F, 3) int64 (on CPU also within [0, V)) and the BVH tensors (check_bvh; box float64 for
// float64 points, else float32), all on the points' device. Returns M.
int64_t check_point_query(const at::Tensor& points, const at::Tensor& cloud_first, const at::Tensor& cloud_size,
                          const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& box,
                          const at::Tensor& node, const at::Tensor& order, const at::Tensor& root);

// Checks of the boundary chains (chain_start (M + 1,), chain_edge (B, 3) int64, device of `like`); on CPU also
// chain_start[0] == 0, non-decreasing, chain_start[M] == B, edge vertices within [0, V).
void check_chains(const at::Tensor& start, const at::Tensor& edge, int64_t M, int64_t V, const at::Tensor& like);

// The BVH and chains of packed meshes (verts (V, 3), faces (F, 3) int64 global, ranges (N,)) as the six tensors
// of op mesh_bvh, on the CPU (host copies of CUDA inputs: the caller moves the result). Checks every argument.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> build_host(
    const at::Tensor& verts, const at::Tensor& faces, const at::Tensor& mesh_first, const at::Tensor& mesh_size);

template <typename T>
C10_HOST_DEVICE inline int64_t clamp_index(T i, int64_t n) {
  return i < 0 ? 0 : (static_cast<int64_t>(i) >= n ? n - 1 : static_cast<int64_t>(i));
}

// The 9 coordinates of face f (row of faces (F, 3)) of verts (V, 3), vertex ids clamped into [0, V).
template <typename T>
C10_HOST_DEVICE inline void gather_triangle(const T* verts, int64_t V, const int64_t* faces, int64_t f, T* tri) {
  for (int k = 0; k < 3; ++k) {
    const T* p = verts + 3 * clamp_index(faces[3 * f + k], V);
    tri[3 * k] = p[0];
    tri[3 * k + 1] = p[1];
    tri[3 * k + 2] = p[2];
  }
}

// Whether q lies outside the box (6 values).
template <typename T>
C10_HOST_DEVICE inline bool outside_box(const T* q, const T* box) {
  return q[0] < box[0] || q[1] < box[1] || q[2] < box[2] || q[0] > box[3] || q[1] > box[4] || q[2] > box[5];
}

}  // namespace bvh
}  // namespace mg
