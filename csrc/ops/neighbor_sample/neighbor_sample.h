// Multi-hop neighbour sampling on a CSR graph (PyG's NeighborSampler / pyg-lib's neighbor_sample semantics).
//
//   neighbor_sample(rowptr: (N + 1,) int64, col: (E,) int64, seeds: (B,) int64, num_neighbors: int[L],
//                   replace, directed, disjoint, weight: (E,) float?, time: (N,) int64|float64?,
//                   seed_time: (B,) same dtype as time?, rng_seed: int)
//       -> (node (M,), row (S,), col (S,), edge (S,), batch (M,) or (0,), num_sampled_nodes (L + 1,),
//           num_sampled_edges (L,) directed / (L + 1,) induced), all int64
//
//   The neighbours of node v are col[rowptr[v] : rowptr[v + 1]]. node starts with the seeds (as given, duplicates
//   included); hop h samples num_neighbors[h] neighbours of every node first reached at hop h - 1 (the seeds for
//   h = 0), in node order, and appends each neighbour not yet in node (disjoint: not yet in the same seed's
//   subtree) in the order it is drawn. row / col are local ids (positions in node) of the sampled node and of its
//   neighbour, edge the CSR position of the edge; edges come hop by hop, frontier node by frontier node, in draw
//   order. batch (disjoint only) is the seed slot each node belongs to. num_sampled_nodes = [B, new at hop 1, ...],
//   num_sampled_edges = edges per hop. directed=False (PyG's induced subgraph): the same nodes, and as edges every
//   CSR edge between two sampled nodes (of the same subtree when disjoint), node by node in node order, then
//   adjacency order; num_sampled_edges[h] counts those whose row node was reached at hop h (h = 0..L).
//
// Sampling one node v of seed slot b (b = 0 unless disjoint) with fan-out k: the eligible neighbours are those
// with time[col[e]] <= seed_time[b] (all without time); m of them.
//   - k == 0 or m == 0: none. k < 0, or k >= m without replacement: all eligible, in CSR order.
//   - uniform, replace: draw j = 0..k-1 picks the eligible edge below(bits(seed, b, v, j), m).
//   - uniform, no replace: Floyd's algorithm (pyg-lib's order): for t = 0..k-1, i = m - k + t,
//     r = below(bits(seed, b, v, t), i + 1), replaced by i when r was already drawn.
//   - weighted, replace: draw j takes the first eligible edge whose running weight sum (CSR order, float64)
//     exceeds unit(bits(seed, b, v, j)) * total (rounding fallback: the last positive-weight edge); none when
//     total <= 0.
//   - weighted, no replace: the same draw over the eligible edges not yet picked (sums recomputed each draw),
//     stopping early when their total is 0.
// The random numbers are counter-based (csrc/common/counter_rng.h): a node's draws depend on (seed, b, v) only,
// never on thread scheduling or on the other seeds of the batch, so CPU and CUDA agree bit for bit.
//
// Checks: devices, dtypes and shapes of every argument in C++; on CPU also rowptr (check_rowptr) and seeds in
// [0, N). CUDA clamps seeds; both clamp col values into [0, N) when reading them (out-of-range col entries give
// unspecified samples, never an out-of-bounds access). Weights must be finite and non-negative (the wrapper
// checks).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cstdint>
#include <optional>

#include "../../common/checks.h"
#include "../../common/counter_rng.h"

namespace mg {
namespace sampling {

inline void check_neighbor_sample_inputs(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& seeds,
                                         c10::IntArrayRef num_neighbors, bool disjoint,
                                         const std::optional<at::Tensor>& weight,
                                         const std::optional<at::Tensor>& time,
                                         const std::optional<at::Tensor>& seed_time) {
  MG_CHECK_DIM(col, 1);
  MG_CHECK_DTYPE(col, at::kLong);
  MG_CHECK_DIM(seeds, 1);
  MG_CHECK_DTYPE(seeds, at::kLong);
  MG_CHECK_SAME_DEVICE(col, rowptr);
  MG_CHECK_SAME_DEVICE(seeds, rowptr);
  check_rowptr(rowptr, col.size(0), col, "rowptr");
  for (const auto k : num_neighbors) TORCH_CHECK(k >= -1, "num_neighbors entries must be >= -1, got ", k);
  if (weight.has_value()) {
    MG_CHECK_FLOATING(*weight);
    MG_CHECK_SHAPE(*weight, {col.size(0)});
    MG_CHECK_SAME_DEVICE(*weight, rowptr);
  }
  TORCH_CHECK(time.has_value() == seed_time.has_value(), "time and seed_time must be given together");
  if (time.has_value()) {
    TORCH_CHECK(disjoint, "temporal sampling (time) needs disjoint=True");
    TORCH_CHECK(time->scalar_type() == at::kLong || time->scalar_type() == at::kDouble,
                "time must be int64 or float64, got ", time->scalar_type());
    MG_CHECK_SHAPE(*time, {rowptr.size(0) - 1});
    MG_CHECK_SAME_DEVICE(*time, rowptr);
    MG_CHECK_SAME_DTYPE(*seed_time, *time);
    MG_CHECK_SHAPE(*seed_time, {seeds.size(0)});
    MG_CHECK_SAME_DEVICE(*seed_time, rowptr);
  }
}

// Upper bound on the picks of a node of degree deg with fan-out k (the buffer each node writes into).
C10_HOST_DEVICE inline int64_t pick_bound(int64_t deg, int64_t k, bool replace) {
  if (deg <= 0 || k == 0) return 0;
  if (k < 0) return deg;
  return replace ? k : (k < deg ? k : deg);
}

C10_HOST_DEVICE inline int64_t clamp_node(int64_t w, int64_t N) { return w < 0 ? 0 : (w >= N ? N - 1 : w); }

// Edge range [rs, re) of node v, clamped into [0, E] (CUDA does not check rowptr).
C10_HOST_DEVICE inline void row_range(const int64_t* rowptr, int64_t E, int64_t v, int64_t& rs, int64_t& re) {
  rs = rowptr[v] < 0 ? 0 : (rowptr[v] > E ? E : rowptr[v]);
  re = rowptr[v + 1] < rs ? rs : (rowptr[v + 1] > E ? E : rowptr[v + 1]);
}

// The graph and sampling parameters one node's draws need. weight_t: the weight dtype (unused when weight is
// null); stamp_t: int64_t or double (unused when time is null).
template <typename weight_t, typename stamp_t>
struct NodeSampler {
  const int64_t* rowptr;
  const int64_t* col;
  int64_t N, E;
  const weight_t* weight;  // null: uniform
  const stamp_t* time;      // null: no temporal constraint
  bool replace;
  uint64_t seed;

  C10_HOST_DEVICE void range(int64_t v, int64_t& rs, int64_t& re) const { row_range(rowptr, E, v, rs, re); }

  C10_HOST_DEVICE int64_t bound(int64_t v, int64_t k) const {
    int64_t rs, re;
    range(v, rs, re);
    return pick_bound(re - rs, k, replace);
  }

  C10_HOST_DEVICE bool eligible(int64_t e, stamp_t st) const {
    return time == nullptr || time[clamp_node(col[e], N)] <= st;
  }

  // CSR position of the r-th eligible edge of [rs, re).
  C10_HOST_DEVICE int64_t nth_eligible(int64_t rs, int64_t re, int64_t r, stamp_t st) const {
    if (time == nullptr) return rs + r;
    for (int64_t e = rs; e < re; ++e)
      if (eligible(e, st) && r-- == 0) return e;
    return re - 1;  // unreachable for r < m
  }

  // Weighted draw over the eligible edges of [rs, re) not in sorted[0, n_sorted) (picked CSR positions,
  // ascending). Returns -1 when their total weight is not positive.
  C10_HOST_DEVICE int64_t weighted_pick(int64_t rs, int64_t re, stamp_t st, uint64_t r, const int64_t* sorted,
                                        int64_t n_sorted) const {
    double total = 0;
    int64_t s = 0;
    for (int64_t e = rs; e < re; ++e) {
      while (s < n_sorted && sorted[s] < e) ++s;
      if ((s < n_sorted && sorted[s] == e) || !eligible(e, st)) continue;
      total += static_cast<double>(weight[e]);
    }
    if (!(total > 0)) return -1;
    const double target = rng::unit(r) * total;
    double cum = 0;
    int64_t last = -1;
    s = 0;
    for (int64_t e = rs; e < re; ++e) {
      while (s < n_sorted && sorted[s] < e) ++s;
      if ((s < n_sorted && sorted[s] == e) || !eligible(e, st)) continue;
      const double w = static_cast<double>(weight[e]);
      cum += w;
      if (w > 0) last = e;
      if (cum > target) return e;
    }
    return last;
  }

  // Samples node v (seed slot b, seed time st) with fan-out k: writes the picked CSR positions, in draw order, to
  // out (room for pick_bound(deg, k, replace)) and returns how many. scratch: the same room (weighted, no
  // replacement: the picks so far, sorted).
  C10_HOST_DEVICE int64_t sample(int64_t v, int64_t b, int64_t k, stamp_t st, int64_t* out, int64_t* scratch) const {
    int64_t rs, re;
    range(v, rs, re);
    if (re <= rs || k == 0) return 0;
    int64_t m = re - rs;
    if (time != nullptr) {
      m = 0;
      for (int64_t e = rs; e < re; ++e) m += eligible(e, st) ? 1 : 0;
    }
    if (m == 0) return 0;
    const uint64_t ub = static_cast<uint64_t>(b), uv = static_cast<uint64_t>(v);
    if (k < 0 || (!replace && k >= m)) {
      int64_t n = 0;
      for (int64_t e = rs; e < re; ++e)
        if (eligible(e, st)) out[n++] = e;
      return n;
    }
    if (weight == nullptr) {
      if (replace) {
        for (int64_t j = 0; j < k; ++j) out[j] = nth_eligible(rs, re, rng::below(rng::bits(seed, ub, uv, j), m), st);
      } else {
        for (int64_t t = 0; t < k; ++t) {  // Floyd: out holds ranks among the eligible edges
          const int64_t i = m - k + t;
          int64_t r = rng::below(rng::bits(seed, ub, uv, t), i + 1);
          for (int64_t u = 0; u < t; ++u)
            if (out[u] == r) {
              r = i;
              break;
            }
          out[t] = r;
        }
        for (int64_t t = 0; t < k; ++t) out[t] = nth_eligible(rs, re, out[t], st);
      }
      return k;
    }
    if (replace) {
      int64_t n = 0;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t e = weighted_pick(rs, re, st, rng::bits(seed, ub, uv, j), nullptr, 0);
        if (e < 0) break;
        out[n++] = e;
      }
      return n;
    }
    int64_t n = 0;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t e = weighted_pick(rs, re, st, rng::bits(seed, ub, uv, j), scratch, n);
      if (e < 0) break;
      out[n] = e;
      int64_t s = n++;  // insert e into the sorted picks
      while (s > 0 && scratch[s - 1] > e) {
        scratch[s] = scratch[s - 1];
        --s;
      }
      scratch[s] = e;
    }
    return n;
  }
};

}  // namespace sampling
}  // namespace mg
