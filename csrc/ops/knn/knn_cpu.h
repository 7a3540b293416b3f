// The CPU kernel of knn_points_idx (contract in knn.h), shared by its files: knn_cpu.cpp picks one of five
// algorithms by D, norm and dtype; each lives in its own file and is instantiated there for the types it serves.
//
//   D <= 3 (grid of knn.h):  knn_cpu_block.cpp   3 x 3 x 3 cell blocks per query cell (K up to ~8 cells' worth)
//                            knn_cpu_shell.cpp   shell-by-shell grid search per query (larger K)
//   D > 3, norm 2, float/double:
//                            knn_cpu_gemm.cpp       blocked distance GEMMs, exact distances decide
//                            knn_cpu_gemm_self.cpp  the same for a self query, symmetric blocks (half the GEMMs)
//   D > 3 otherwise:         knn_cpu_scan.cpp    scan of every point (the definition)
//
// Every algorithm writes each query row t = n * P1 + i of dp / ip (N, P1, K), ascending by (distance, index), and
// leaves the entries past min(K, lengths2[n]) and the rows of padded queries untouched (the caller zeroes them).
// l1p / l2p are the lengths clamped into [0, P1] / [0, P2].
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

#include "knn.h"

namespace mg {
namespace knn {

// |q - p| (norm 1) or |q - p|^2 (norm 2): coordinate a accumulates into lane a % 16, the lanes are then summed in
// order (the compiler vectorizes the lanes; every path computes a distance the same way, and for D <= 3 this is
// the plain coordinate-order sum the grid search computes).
template <typename scalar_t, typename acc_t>
inline acc_t exact_distance(const scalar_t* q, const scalar_t* p, int64_t D, int64_t norm) {
  constexpr int L = 16;
  acc_t lane[L] = {};
  int64_t a = 0;
  if (norm == 1) {
    for (; a + L <= D; a += L)
      for (int u = 0; u < L; ++u) lane[u] += std::abs(static_cast<acc_t>(q[a + u]) - static_cast<acc_t>(p[a + u]));
    for (int u = 0; a + u < D; ++u) lane[u] += std::abs(static_cast<acc_t>(q[a + u]) - static_cast<acc_t>(p[a + u]));
  } else {
    for (; a + L <= D; a += L) {
      for (int u = 0; u < L; ++u) {
        const acc_t d = static_cast<acc_t>(q[a + u]) - static_cast<acc_t>(p[a + u]);
        lane[u] += d * d;
      }
    }
    for (int u = 0; a + u < D; ++u) {
      const acc_t d = static_cast<acc_t>(q[a + u]) - static_cast<acc_t>(p[a + u]);
      lane[u] += d * d;
    }
  }
  acc_t s = lane[0];
  for (int u = 1; u < L; ++u) s += lane[u];
  return s;
}

// A (value, index) pair as one sortable key, ordered by value, then index (the tie rule). For float it is one
// 64-bit integer: the value's bits mapped to an unsigned order (negative values too) above a 32-bit index, so
// sorting and selection run on plain integers. For double it is the pair itself.
template <typename acc_t>
struct SortKey {
  using type = std::pair<acc_t, int64_t>;
  static type make(acc_t v, int64_t j) { return {v, j}; }
  static acc_t value(const type& k) { return k.first; }
  static int64_t index(const type& k) { return k.second; }
};
template <>
struct SortKey<float> {
  using type = uint64_t;
  static type make(float v, int64_t j) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof(b));
    b = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    return (static_cast<uint64_t>(b) << 32) | static_cast<uint32_t>(j);
  }
  static float value(type k) {
    uint32_t b = static_cast<uint32_t>(k >> 32);
    b = (b & 0x80000000u) ? (b & 0x7fffffffu) : ~b;
    float v;
    std::memcpy(&v, &b, sizeof(v));
    return v;
  }
  static int64_t index(type k) { return static_cast<int64_t>(k & 0xffffffffu); }
};

// D > 3, any norm, any float dtype (acc_t = mg::acc_t<scalar_t>): knn_cpu_scan.cpp.
template <typename scalar_t, typename acc_t>
void scan_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K,
              int64_t norm, acc_t* dp, int64_t* ip);

// D > 3, norm 2, float/double, P2 < 2^31: knn_cpu_gemm.cpp.
template <typename acc_t>
void gemm_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K, acc_t* dp,
              int64_t* ip);

// As gemm_knn for p1 = p2 with equal lengths; false (nothing written) when its buffers would be too large:
// knn_cpu_gemm_self.cpp.
template <typename acc_t>
bool gemm_knn_self(const at::Tensor& p, const int64_t* lp, int64_t K, acc_t* dp, int64_t* ip);

// D <= 3, the grid g of p2 (acc_t = float or double, qp the queries as contiguous acc_t): knn_cpu_block.cpp when
// block_search_applies(K, P2), knn_cpu_shell.cpp otherwise.
template <typename acc_t>
void block_knn(const Grid& g, const acc_t* qp, int64_t D, const int64_t* l1p, const int64_t* l2p, int64_t N,
               int64_t P1, int64_t K, int norm, acc_t* dp, int64_t* ip);
template <typename acc_t>
void shell_knn(const Grid& g, const acc_t* qp, int64_t D, const int64_t* l1p, const int64_t* l2p, int64_t N,
               int64_t P1, int64_t K, int norm, acc_t* dp, int64_t* ip);

// Blocks pay off while a 3 x 3 x 3 block of cells usually holds K points within the bound (measured on 50,000
// uniform / bunny-surface points: K = 1..256 run 1.1-2.4x faster than the shell search; K = 1 tries the query's own
// cell first, which settles self queries). Keys hold 32-bit indices.
inline bool block_search_applies(int64_t K, int64_t P2) {
  return static_cast<double>(K) <= 8.0 * cell_occupancy(K) && P2 < (int64_t{1} << 31);
}

}  // namespace knn
}  // namespace mg
