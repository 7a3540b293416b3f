// CPU traversal of ray_mesh_intersect_idx (contract in ray_mesh_intersect.h) over a 4-wide form of mesh_bvh's
// binary BVH, built per call from the BVH tensors (no state kept between calls).
//
// Leaf: a binary node with at most 4 faces (a leaf of mesh_bvh, or an inner node whose range holds <= 4 faces),
// stored as packets of 4 triangles (v0, e1 = v1 - v0, e2 = v2 - v0 lane-wise) tested against the ray at once.
// With at least one ray per kSahFacesPerRay faces the leaves are first regrouped into a binned-SAH binary tree
// (O(L log L) for L leaves, ~10 ms for the bunny; mesh_bvh's median splits are not built for ray casting), else the
// input's inner nodes are used as they are. Wide node: the boxes of up to 4 nodes of that binary tree (a node's
// children, the largest-area one expanded again until there are 4), lane-wise so one ray is tested against the 4
// boxes at once. Children are visited nearest entry first and skipped once their entry lies beyond the best hit.
//
// Same answer as the scalar traversal (closest_hit, which CUDA runs): the box and triangle tests are the same
// formulas in the same order, lane by lane (no FMA, IEEE division), with the same comparisons (NaN included),
// and the nearest hit does not depend on the visiting order (ties to the smaller face id). Rays with a zero
// direction component take the scalar traversal (its range test for that axis).
//
// Memory safety on any BVH tensors that pass check_bvh: children are used only when in (m, M), face ids are
// clamped into [0, F); a tree whose conversion would need more than 2 M + 1 binary nodes or more than F + 4 M leaf
// faces (shared children or overlapping leaf ranges: no tree mesh_bvh builds) is not converted (the caller falls
// back to the scalar traversal), and so is a tree with more than 2^30 nodes or faces (int32 references).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "ray_mesh_intersect.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#define MG_RMI_HAVE_SSE 1
#else
#define MG_RMI_HAVE_SSE 0
#endif

namespace mg {
namespace rmi {
namespace wide {

// The leaves are regrouped by the SAH when F <= kSahFacesPerRay R (the regrouping costs about what a traversal of
// F / 8 rays costs).
constexpr int64_t kSahFacesPerRay = 8;

template <typename T>
struct alignas(64) Node {
  T lo[3][4], hi[3][4];  // axis, lane; empty lanes: +inf boxes, child -1, count 0 (skipped)
  int32_t child[4];      // >= 0: inner node; < 0: leaf, packets [-child - 1, -child - 1 + count)
  int32_t count[4];
};

template <typename T>
struct alignas(16) Packet {
  T v0[3][4], e1[3][4], e2[3][4];  // axis, lane; padding lanes are zero (det = 0: never hit)
  int64_t face[4];
};

template <typename T>
struct Tree {
  std::vector<Node<T>> nodes;
  std::vector<Packet<T>> packets;
  std::vector<int32_t> root;  // per element: wide root, -1 without faces
};

// A binary tree the wide one is collapsed from: the input BVH's structure, or a SAH tree over its leaves.
template <typename T>
struct BinNode {
  T lo[3], hi[3];
  int64_t left = -1;  // children left, left + 1; -1: a leaf of packets [packet0, packet0 + npackets)
  int64_t packet0 = 0, npackets = 0;
};

template <typename T>
inline T half_area(const T* lo, const T* hi) {
  const T e0 = hi[0] - lo[0], e1 = hi[1] - lo[1], e2 = hi[2] - lo[2];
  return e0 * e1 + e1 * e2 + e2 * e0;
}

// The input tree below root r as BinNodes (appended to bn; returns the root's index, -1 past the limits), its
// leaves' triangles as packets.
template <typename T>
int64_t input_tree(const T* box, const int64_t* node, const int64_t* order, const T* tris, int64_t M, int64_t F,
                   int64_t r, std::vector<BinNode<T>>& bn, std::vector<Packet<T>>& packets, int64_t& leaf_faces) {
  constexpr int64_t kMax = int64_t(1) << 30;
  const auto inner = [&](int64_t b) {  // expandable: valid children and more than 4 faces
    const int64_t left = node[3 * b + 2];
    return left > b && left + 1 < M && node[3 * b + 1] > 4;
  };
  const int64_t k0 = static_cast<int64_t>(bn.size());
  bn.emplace_back();
  std::vector<std::pair<int64_t, int64_t>> todo{{r, k0}};  // (input node, BinNode)
  while (!todo.empty()) {
    const auto [b, k] = todo.back();
    todo.pop_back();
    BinNode<T> x;
    for (int a = 0; a < 3; ++a) {
      x.lo[a] = box[6 * b + a];
      x.hi[a] = box[6 * b + 3 + a];
    }
    if (inner(b)) {
      if (static_cast<int64_t>(bn.size()) + 2 > 2 * M + 1) return -1;  // shared children
      x.left = static_cast<int64_t>(bn.size());
      bn.emplace_back();
      bn.emplace_back();
      todo.push_back({node[3 * b + 2] + 1, x.left + 1});
      todo.push_back({node[3 * b + 2], x.left});
    } else {
      const int64_t first = node[3 * b], nf = F > 0 ? std::max<int64_t>(node[3 * b + 1], 0) : 0;
      leaf_faces += nf;
      if (leaf_faces > F + 4 * M || leaf_faces > kMax) return -1;  // overlapping leaves
      x.packet0 = static_cast<int64_t>(packets.size());
      for (int64_t j = 0; j < nf; j += 4) {
        Packet<T>& p = packets.emplace_back();
        for (int l = 0; l < 4; ++l) {
          p.face[l] = -1;
          for (int a = 0; a < 3; ++a) p.v0[a][l] = p.e1[a][l] = p.e2[a][l] = T(0);
          if (j + l >= nf) continue;
          int64_t kk = first + j + l;
          kk = kk < 0 ? 0 : (kk >= F ? F - 1 : kk);
          int64_t f = order[kk];
          f = f < 0 ? 0 : (f >= F ? F - 1 : f);
          const T* t = tris + 9 * f;
          p.face[l] = f;
          for (int a = 0; a < 3; ++a) {
            p.v0[a][l] = t[a];
            p.e1[a][l] = t[3 + a] - t[a];
            p.e2[a][l] = t[6 + a] - t[a];
          }
        }
      }
      x.npackets = static_cast<int64_t>(packets.size()) - x.packet0;
    }
    bn[k] = x;
  }
  return k0;
}

// A binned-SAH binary tree over the leaves of bn below root k0 (appended to out; returns its root): the leaves
// (small clusters of triangles) are regrouped by the surface area heuristic on their box centres (16 bins per
// axis), which the input's median splits do not optimise. Depth-limited (then median splits by centre).
template <typename T>
int64_t sah_tree(const std::vector<BinNode<T>>& bn, int64_t k0, std::vector<BinNode<T>>& out) {
  std::vector<int64_t> leaves;
  for (std::vector<int64_t> todo{k0}; !todo.empty();) {
    const int64_t k = todo.back();
    todo.pop_back();
    if (bn[k].left < 0) {
      leaves.push_back(k);
    } else {
      todo.push_back(bn[k].left + 1);
      todo.push_back(bn[k].left);
    }
  }
  std::sort(leaves.begin(), leaves.end());
  const int64_t L = static_cast<int64_t>(leaves.size());
  std::vector<T> cen(static_cast<size_t>(3 * L));
  for (int64_t i = 0; i < L; ++i)
    for (int a = 0; a < 3; ++a) cen[3 * i + a] = (bn[leaves[i]].lo[a] + bn[leaves[i]].hi[a]) / T(2);
  std::vector<int64_t> idx(static_cast<size_t>(L));
  for (int64_t i = 0; i < L; ++i) idx[i] = i;
  constexpr int kBins = 16, kMaxSahDepth = 48;
  const T inf = std::numeric_limits<T>::infinity();
  struct Task {
    int64_t k, first, count, depth;
  };
  const int64_t root = static_cast<int64_t>(out.size());
  out.emplace_back();
  std::vector<Task> todo{{root, 0, L, 0}};
  while (!todo.empty()) {
    const Task task = todo.back();
    todo.pop_back();
    BinNode<T> x;
    T clo[3] = {inf, inf, inf}, chi[3] = {-inf, -inf, -inf};
    for (int a = 0; a < 3; ++a) {
      x.lo[a] = inf;
      x.hi[a] = -inf;
    }
    for (int64_t i = task.first; i < task.first + task.count; ++i) {
      const BinNode<T>& c = bn[leaves[idx[i]]];
      for (int a = 0; a < 3; ++a) {
        x.lo[a] = std::min(x.lo[a], c.lo[a]);
        x.hi[a] = std::max(x.hi[a], c.hi[a]);
        clo[a] = std::min(clo[a], cen[3 * idx[i] + a]);
        chi[a] = std::max(chi[a], cen[3 * idx[i] + a]);
      }
    }
    if (task.count == 1) {
      const BinNode<T>& c = bn[leaves[idx[task.first]]];
      x.packet0 = c.packet0;
      x.npackets = c.npackets;
      out[task.k] = x;
      continue;
    }
    // best split: bins of the centres along each axis, cost = count * half-area on each side
    int best_axis = -1, best_bin = 0;
    T best_cost = inf;
    if (task.depth < kMaxSahDepth) {
      for (int a = 0; a < 3; ++a) {
        const T ext = chi[a] - clo[a];
        if (!(ext > T(0))) continue;
        int64_t cnt[kBins] = {};
        T blo[kBins][3], bhi[kBins][3];
        for (int b = 0; b < kBins; ++b)
          for (int e = 0; e < 3; ++e) blo[b][e] = inf, bhi[b][e] = -inf;
        for (int64_t i = task.first; i < task.first + task.count; ++i) {
          const T rel = (cen[3 * idx[i] + a] - clo[a]) / ext * T(kBins);
          const int b = rel >= T(kBins - 1) ? kBins - 1 : (rel > T(0) ? static_cast<int>(rel) : 0);
          const BinNode<T>& c = bn[leaves[idx[i]]];
          ++cnt[b];
          for (int e = 0; e < 3; ++e) {
            blo[b][e] = std::min(blo[b][e], c.lo[e]);
            bhi[b][e] = std::max(bhi[b][e], c.hi[e]);
          }
        }
        T right_cost[kBins];
        {
          T lo[3] = {inf, inf, inf}, hi[3] = {-inf, -inf, -inf};
          int64_t n = 0;
          for (int b = kBins - 1; b > 0; --b) {
            n += cnt[b];
            for (int e = 0; e < 3; ++e) lo[e] = std::min(lo[e], blo[b][e]), hi[e] = std::max(hi[e], bhi[b][e]);
            right_cost[b] = n > 0 ? T(n) * half_area(lo, hi) : T(0);
          }
        }
        T lo[3] = {inf, inf, inf}, hi[3] = {-inf, -inf, -inf};
        int64_t n = 0;
        for (int b = 0; b < kBins - 1; ++b) {  // split after bin b
          n += cnt[b];
          for (int e = 0; e < 3; ++e) lo[e] = std::min(lo[e], blo[b][e]), hi[e] = std::max(hi[e], bhi[b][e]);
          if (n == 0 || n == task.count) continue;
          const T cost = T(n) * half_area(lo, hi) + right_cost[b + 1];
          if (cost < best_cost) {
            best_cost = cost;
            best_axis = a;
            best_bin = b;
          }
        }
      }
    }
    int64_t* first = idx.data() + task.first;
    int64_t nl;
    if (best_axis >= 0) {
      const int a = best_axis;
      const T ext = chi[a] - clo[a];
      int64_t* mid = std::partition(first, first + task.count, [&](int64_t i) {
        const T rel = (cen[3 * i + a] - clo[a]) / ext * T(kBins);
        const int b = rel >= T(kBins - 1) ? kBins - 1 : (rel > T(0) ? static_cast<int>(rel) : 0);
        return b <= best_bin;
      });
      nl = mid - first;
    } else {  // equal centres (or too deep): halve by the centre along the widest axis, ties by leaf
      int a = 0;
      for (int e = 1; e < 3; ++e)
        if (chi[e] - clo[e] > chi[a] - clo[a]) a = e;
      nl = task.count / 2;
      std::nth_element(first, first + nl, first + task.count, [&](int64_t i, int64_t j) {
        return cen[3 * i + a] < cen[3 * j + a] || (cen[3 * i + a] == cen[3 * j + a] && i < j);
      });
    }
    if (nl <= 0 || nl >= task.count) nl = task.count / 2;  // NaN centres: any halving
    x.left = static_cast<int64_t>(out.size());
    out.emplace_back();
    out.emplace_back();
    out[task.k] = x;
    todo.push_back({x.left + 1, task.first + nl, task.count - nl, task.depth + 1});
    todo.push_back({x.left, task.first, nl, task.depth + 1});
  }
  return root;
}

// The wide form of the binary BVH (box (M, 6), node (M, 3), order (F,), root (N,); tris (F, 9)), each element's
// leaves regrouped by sah_tree when `sah`. False when the tree is not converted (see the header comment); `out`
// is then unusable.
template <typename T>
bool build(const T* box, const int64_t* node, const int64_t* order, const T* tris, int64_t M, int64_t F,
           const int64_t* root, int64_t N, bool sah, Tree<T>& out) {
  constexpr int64_t kMax = int64_t(1) << 30;
  if (M > kMax || F > kMax) return false;
  const T inf = std::numeric_limits<T>::infinity();
  out.nodes.clear();
  out.packets.clear();
  out.root.assign(static_cast<size_t>(N), -1);
  out.packets.reserve(static_cast<size_t>(F / 3 + 1));
  int64_t leaf_faces = 0;
  std::vector<BinNode<T>> bn, regrouped;
  struct Job {
    int32_t w;
    int64_t b;
  };
  std::vector<Job> jobs;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t r = root[n];
    if (r < 0 || r >= M) continue;
    bn.clear();
    int64_t k = input_tree(box, node, order, tris, M, F, r, bn, out.packets, leaf_faces);
    if (k < 0) return false;
    const std::vector<BinNode<T>>* tree = &bn;
    if (sah) {
      regrouped.clear();
      k = sah_tree(bn, k, regrouped);
      tree = &regrouped;
    }
    const BinNode<T>* b = tree->data();
    const int64_t nb = static_cast<int64_t>(tree->size());
    if (static_cast<int64_t>(out.nodes.size()) + nb > kMax) return false;
    const auto new_node = [&](int64_t of) {
      out.nodes.emplace_back();
      const int32_t w = static_cast<int32_t>(out.nodes.size() - 1);
      jobs.push_back({w, of});
      return w;
    };
    out.root[n] = new_node(k);
    while (!jobs.empty()) {
      const Job job = jobs.back();
      jobs.pop_back();
      int64_t slot[4] = {job.b, -1, -1, -1};
      int ns = 1;
      while (ns < 4) {  // expand the largest inner slot (NaN areas: the first one)
        int pick = -1;
        T pick_area = 0;
        for (int s = 0; s < ns; ++s) {
          if (b[slot[s]].left < 0) continue;
          const T a = half_area(b[slot[s]].lo, b[slot[s]].hi);
          if (pick < 0 || a > pick_area) {
            pick = s;
            pick_area = a;
          }
        }
        if (pick < 0) break;
        const int64_t left = b[slot[pick]].left;
        slot[pick] = left;
        slot[ns++] = left + 1;
      }
      for (int s = 0; s < 4; ++s) {
        int32_t child = -1, count = 0;
        T lo[3] = {inf, inf, inf}, hi[3] = {inf, inf, inf};
        if (s < ns) {
          const BinNode<T>& x = b[slot[s]];
          for (int a = 0; a < 3; ++a) {
            lo[a] = x.lo[a];
            hi[a] = x.hi[a];
          }
          if (x.left >= 0) {
            child = new_node(slot[s]);
          } else {
            child = static_cast<int32_t>(-x.packet0 - 1);
            count = static_cast<int32_t>(x.npackets);
          }
        }
        Node<T>& w = out.nodes[job.w];  // after new_node: the vector may have moved
        for (int a = 0; a < 3; ++a) {
          w.lo[a][s] = lo[a];
          w.hi[a][s] = hi[a];
        }
        w.child[s] = child;
        w.count[s] = count;
      }
    }
  }
  return true;
}

// 4-lane arithmetic for the traversal: the generic one (any T, plain loops) and SSE for float. Each operation is
// the scalar one lane by lane: min(a, b) = a < b ? a : b and max(a, b) = a > b ? a : b (SSE's minps / maxps),
// comparisons are false on NaN except `nonzero` (det != 0 && det == det).
template <typename T>
struct Lanes {
  struct V {
    T x[4];
  };
  using Mask = int;
  static V set1(T a) { return {{a, a, a, a}}; }
  static V load(const T* p) { return {{p[0], p[1], p[2], p[3]}}; }
  static void store(T* p, const V& a) { std::copy(a.x, a.x + 4, p); }
#define MG_RMI_LANES_BINARY(NAME, EXPR)            \
  static V NAME(const V& a, const V& b) {           \
    V r;                                            \
    for (int l = 0; l < 4; ++l) {                   \
      const T x = a.x[l], y = b.x[l];               \
      r.x[l] = EXPR;                                \
    }                                               \
    return r;                                       \
  }
  MG_RMI_LANES_BINARY(add, x + y)
  MG_RMI_LANES_BINARY(sub, x - y)
  MG_RMI_LANES_BINARY(mul, x * y)
  MG_RMI_LANES_BINARY(div, x / y)
  MG_RMI_LANES_BINARY(min, x < y ? x : y)
  MG_RMI_LANES_BINARY(max, x > y ? x : y)
#undef MG_RMI_LANES_BINARY
#define MG_RMI_LANES_COMPARE(NAME, EXPR)           \
  static Mask NAME(const V& a, const V& b) {        \
    Mask m = 0;                                     \
    for (int l = 0; l < 4; ++l) {                   \
      const T x = a.x[l], y = b.x[l];               \
      m |= (EXPR) ? (1 << l) : 0;                   \
    }                                               \
    return m;                                       \
  }
  MG_RMI_LANES_COMPARE(le, x <= y)
  MG_RMI_LANES_COMPARE(ge, x >= y)
  MG_RMI_LANES_COMPARE(gt, x > y)
#undef MG_RMI_LANES_COMPARE
  static Mask nonzero(const V& a) {
    Mask m = 0;
    for (int l = 0; l < 4; ++l) m |= (a.x[l] != T(0) && a.x[l] == a.x[l]) ? (1 << l) : 0;
    return m;
  }
  static Mask both(Mask a, Mask b) { return a & b; }
  static int bits(Mask a) { return a; }
};

#if MG_RMI_HAVE_SSE
struct LanesSse {
  using V = __m128;
  using Mask = __m128;
  static V set1(float a) { return _mm_set1_ps(a); }
  static V load(const float* p) { return _mm_load_ps(p); }  // 16-byte aligned rows of Node / Packet
  static void store(float* p, V a) { _mm_storeu_ps(p, a); }
  static V add(V a, V b) { return _mm_add_ps(a, b); }
  static V sub(V a, V b) { return _mm_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm_mul_ps(a, b); }
  static V div(V a, V b) { return _mm_div_ps(a, b); }
  static V min(V a, V b) { return _mm_min_ps(a, b); }
  static V max(V a, V b) { return _mm_max_ps(a, b); }
  static Mask le(V a, V b) { return _mm_cmple_ps(a, b); }
  static Mask ge(V a, V b) { return _mm_cmpge_ps(a, b); }
  static Mask gt(V a, V b) { return _mm_cmpgt_ps(a, b); }
  static Mask nonzero(V a) { return _mm_and_ps(_mm_cmpneq_ps(a, _mm_setzero_ps()), _mm_cmpord_ps(a, a)); }
  static Mask both(Mask a, Mask b) { return _mm_and_ps(a, b); }
  static int bits(Mask a) { return _mm_movemask_ps(a); }
};
#endif

template <typename T>
struct DefaultLanes {
  using type = Lanes<T>;
};
#if MG_RMI_HAVE_SSE
template <>
struct DefaultLanes<float> {
  using type = LanesSse;
};
#endif

// Nearest hit of ray (o, d) (no zero component of d) in the wide tree below `root`: writes t (inf when none),
// the face (-1) and the barycentrics, as closest_hit does.
template <typename T, typename L = typename DefaultLanes<T>::type>
inline void closest_hit(const Tree<T>& tree, int32_t root, const T* o, const T* d, T* t_out, int64_t* face_out,
                        T* bary_out) {
  using V = typename L::V;
  T best = std::numeric_limits<T>::infinity();
  int64_t best_f = -1;
  T best_u = 0, best_v = 0;
  const V ox = L::set1(o[0]), oy = L::set1(o[1]), oz = L::set1(o[2]);
  const V dx = L::set1(d[0]), dy = L::set1(d[1]), dz = L::set1(d[2]);
  const V ix = L::set1(T(1) / d[0]), iy = L::set1(T(1) / d[1]), iz = L::set1(T(1) / d[2]);
  const V zero = L::set1(T(0)), one = L::set1(T(1));
  struct Entry {
    int32_t ref, count;
    T t;
  };
  constexpr int kStack = 256;  // 3 per level of the wide tree + 4: a wide depth of 84
  Entry stack[kStack];
  int top = 0;
  stack[top++] = {root, 0, T(0)};
  const Node<T>* nodes = tree.nodes.data();
  const Packet<T>* packets = tree.packets.data();
  while (top > 0) {
    const Entry e = stack[--top];
    if (e.t > best) continue;
    if (e.ref < 0) {
      const Packet<T>* p = packets + (-static_cast<int64_t>(e.ref) - 1);
      for (int32_t c = 0; c < e.count; ++c, ++p) {
        const V e1x = L::load(p->e1[0]), e1y = L::load(p->e1[1]), e1z = L::load(p->e1[2]);
        const V e2x = L::load(p->e2[0]), e2y = L::load(p->e2[1]), e2z = L::load(p->e2[2]);
        const V px = L::sub(L::mul(dy, e2z), L::mul(dz, e2y));
        const V py = L::sub(L::mul(dz, e2x), L::mul(dx, e2z));
        const V pz = L::sub(L::mul(dx, e2y), L::mul(dy, e2x));
        const V det = L::add(L::add(L::mul(e1x, px), L::mul(e1y, py)), L::mul(e1z, pz));
        auto ok = L::nonzero(det);
        if (!L::bits(ok)) continue;
        const V inv = L::div(one, det);
        const V sx = L::sub(ox, L::load(p->v0[0])), sy = L::sub(oy, L::load(p->v0[1])),
                sz = L::sub(oz, L::load(p->v0[2]));
        const V u = L::mul(L::add(L::add(L::mul(sx, px), L::mul(sy, py)), L::mul(sz, pz)), inv);
        ok = L::both(ok, L::both(L::ge(u, zero), L::le(u, one)));
        if (!L::bits(ok)) continue;
        const V qx = L::sub(L::mul(sy, e1z), L::mul(sz, e1y));
        const V qy = L::sub(L::mul(sz, e1x), L::mul(sx, e1z));
        const V qz = L::sub(L::mul(sx, e1y), L::mul(sy, e1x));
        const V v = L::mul(L::add(L::add(L::mul(dx, qx), L::mul(dy, qy)), L::mul(dz, qz)), inv);
        ok = L::both(ok, L::both(L::ge(v, zero), L::le(L::add(u, v), one)));
        if (!L::bits(ok)) continue;
        const V t = L::mul(L::add(L::add(L::mul(e2x, qx), L::mul(e2y, qy)), L::mul(e2z, qz)), inv);
        int hit = L::bits(L::both(ok, L::gt(t, zero)));
        if (!hit) continue;
        T tl[4], ul[4], vl[4];
        L::store(tl, t);
        L::store(ul, u);
        L::store(vl, v);
        for (; hit; hit &= hit - 1) {
          const int l = __builtin_ctz(static_cast<unsigned>(hit));
          const int64_t f = p->face[l];
          if (tl[l] < best || (tl[l] == best && f < best_f)) {
            best = tl[l];
            best_f = f;
            best_u = ul[l];
            best_v = vl[l];
          }
        }
      }
      continue;
    }
    const Node<T>& nd = nodes[e.ref];
    // slab test of the 4 boxes within [0, best], axis by axis as bvh::ray_box
    V t0 = zero, t1 = L::set1(best);
    {
      const V ta = L::mul(L::sub(L::load(nd.lo[0]), ox), ix), tb = L::mul(L::sub(L::load(nd.hi[0]), ox), ix);
      t0 = L::max(L::min(tb, ta), t0);
      t1 = L::min(L::max(ta, tb), t1);
    }
    {
      const V ta = L::mul(L::sub(L::load(nd.lo[1]), oy), iy), tb = L::mul(L::sub(L::load(nd.hi[1]), oy), iy);
      t0 = L::max(L::min(tb, ta), t0);
      t1 = L::min(L::max(ta, tb), t1);
    }
    {
      const V ta = L::mul(L::sub(L::load(nd.lo[2]), oz), iz), tb = L::mul(L::sub(L::load(nd.hi[2]), oz), iz);
      t0 = L::max(L::min(tb, ta), t0);
      t1 = L::min(L::max(ta, tb), t1);
    }
    int hit = L::bits(L::le(t0, t1));
    if (!hit) continue;
    T tn[4];
    L::store(tn, t0);
    int idx[4], nh = 0;
    for (; hit; hit &= hit - 1) {  // insertion by decreasing entry: the nearest child is pushed last
      const int k = __builtin_ctz(static_cast<unsigned>(hit));
      if (nd.child[k] < 0 && nd.count[k] == 0) continue;  // an empty lane (or a leaf without faces)
      int j = nh++;
      while (j > 0 && tn[idx[j - 1]] < tn[k]) {
        idx[j] = idx[j - 1];
        --j;
      }
      idx[j] = k;
    }
    if (top + nh > kStack) continue;  // unreachable for mesh_bvh's trees (median splits: depth <= log2 F + 2)
    for (int i = 0; i < nh; ++i) stack[top++] = {nd.child[idx[i]], nd.count[idx[i]], tn[idx[i]]};
  }
  *t_out = best;
  *face_out = best_f;
  bary_of_hit(best_f, best_u, best_v, bary_out);
}

}  // namespace wide
}  // namespace rmi
}  // namespace mg
