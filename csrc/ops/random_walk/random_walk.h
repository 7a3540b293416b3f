// node2vec random walks on a CSR graph (torch_cluster's random_walk semantics, counter-based random numbers).
//
//   random_walk(rowptr: (N + 1,) int64, col: (E,) int64, start: (S,) int64, walk_length, p, q, rng_seed)
//       -> (node_seq (S, walk_length + 1) int64, edge_seq (S, walk_length) int64)
//
//   Walk n starts at start[n]. Step l from node v (degree d) with previous node t:
//   - d == 0: stay at v, edge -1 (torch_cluster's behaviour: a fake self-loop);
//   - uniform (p == q == 1) or the first step: edge rowptr[v] + below(bits(seed, n, l, 0), d);
//   - biased, d == 1: the only edge;
//   - biased, d > 1: rejection sampling (node2vec, as torch_cluster): proposal a is the edge
//     rowptr[v] + below(bits(seed, n, l, 2a), d) to x, accepted when unit(bits(seed, n, l, 2a + 1)) is below
//     1/p (x == t), 1 (t among x's neighbours) or 1/q (otherwise), each divided by max(1/p, 1, 1/q). After
//     kMaxAttempts proposals the last one is taken (only reachable for extreme p, q).
//   Walks are independent and every draw is a pure function of (seed, n, l, a) (csrc/common/counter_rng.h), so
//   CPU and CUDA agree bit for bit whatever the thread count.
//
// Checks: devices, dtypes and shapes in C++; on CPU also rowptr (check_rowptr) and start in [0, N). CUDA clamps
// start; both clamp col values into [0, N) when reading them.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/macros/Macros.h>

#include <cmath>
#include <cstdint>

#include "../../common/checks.h"
#include "../../common/counter_rng.h"
#include "../neighbor_sample/neighbor_sample.h"

namespace mg {
namespace sampling {

constexpr int64_t kMaxAttempts = int64_t{1} << 16;

inline void check_random_walk_inputs(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start,
                                     int64_t walk_length, double p, double q) {
  MG_CHECK_DIM(col, 1);
  MG_CHECK_DTYPE(col, at::kLong);
  MG_CHECK_DIM(start, 1);
  MG_CHECK_DTYPE(start, at::kLong);
  MG_CHECK_SAME_DEVICE(col, rowptr);
  MG_CHECK_SAME_DEVICE(start, rowptr);
  check_rowptr(rowptr, col.size(0), col, "rowptr");
  TORCH_CHECK(walk_length >= 0, "walk_length must be non-negative, got ", walk_length);
  TORCH_CHECK(p > 0 && q > 0 && std::isfinite(p) && std::isfinite(q), "p and q must be positive and finite, got ", p,
              " and ", q);
}

// Acceptance ratios (return, neighbour of the previous node, other), computed once on the host.
struct WalkParams {
  bool biased;
  double accept_return, accept_near, accept_far;
};

inline WalkParams walk_params(double p, double q) {
  const double a = 1.0 / p, c = 1.0 / q;
  const double top = a > 1.0 ? (a > c ? a : c) : (1.0 > c ? 1.0 : c);
  return {p != 1.0 || q != 1.0, a / top, 1.0 / top, c / top};
}

// Walk n: writes walk_length + 1 nodes to nodes and walk_length edge ids to edges.
C10_HOST_DEVICE inline void walk_one(const int64_t* rowptr, const int64_t* col, int64_t N, int64_t E, int64_t start,
                                     int64_t n, int64_t walk_length, const WalkParams& wp, uint64_t seed,
                                     int64_t* nodes, int64_t* edges) {
  int64_t cur = start, prev = -1;
  nodes[0] = cur;
  const uint64_t un = static_cast<uint64_t>(n);
  for (int64_t l = 0; l < walk_length; ++l) {
    int64_t rs, re;
    row_range(rowptr, E, cur, rs, re);
    const int64_t d = re - rs;
    const uint64_t ul = static_cast<uint64_t>(l);
    int64_t e = -1;
    if (d <= 0) {
      e = -1;
    } else if (!wp.biased || l == 0) {
      e = rs + rng::below(rng::bits(seed, un, ul, 0), d);
    } else if (d == 1) {
      e = rs;
    } else {
      for (int64_t a = 0; a < kMaxAttempts; ++a) {
        const uint64_t ua = static_cast<uint64_t>(a);
        e = rs + rng::below(rng::bits(seed, un, ul, 2 * ua), d);
        const int64_t x = clamp_node(col[e], N);
        double accept = wp.accept_far;
        if (x == prev) {
          accept = wp.accept_return;
        } else {
          int64_t xs, xe;
          row_range(rowptr, E, x, xs, xe);
          for (int64_t f = xs; f < xe; ++f)
            if (col[f] == prev) {
              accept = wp.accept_near;
              break;
            }
        }
        if (rng::unit(rng::bits(seed, un, ul, 2 * ua + 1)) < accept) break;
      }
    }
    if (e >= 0) {
      prev = cur;
      cur = clamp_node(col[e], N);
    }
    nodes[l + 1] = cur;
    edges[l] = e;
  }
}

}  // namespace sampling
}  // namespace mg
