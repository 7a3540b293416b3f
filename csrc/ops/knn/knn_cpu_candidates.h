// Candidate buffers of knn's GEMM paths (knn_cpu_gemm.cpp, knn_cpu_gemm_self.cpp): each query row appends the
// GEMM entries below its threshold to a buffer of keys (knn_cpu.h's SortKey), cuts the buffer back when it fills,
// and at the end lets the exact distances of its candidates decide (finish_gemm_row).
#pragma once

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../../common/avx2.h"
#include "../../common/cpu_kernels.h"
#include "knn_cpu.h"

namespace mg {
namespace knn {

// Keep the Kc smallest keys of b[0, size); t becomes the largest of their values.
template <typename acc_t>
void cut_to(typename SortKey<acc_t>::type* b, int64_t& size, acc_t& t, int64_t Kc) {
  std::nth_element(b, b + (Kc - 1), b + size);
  size = Kc;
  t = SortKey<acc_t>::value(b[Kc - 1]);
}

// Make room in a full candidate buffer: keep only the keys below a pivot taken from a sorted sample of 16 keys
// (chosen to keep ~1.5 Kc), two branch-free passes; t becomes the pivot's value, so every dropped key is >= t
// and every kept one <= t. When the pivot keeps fewer than Kc or frees fewer than 16 slots, the exact cut.
template <typename acc_t>
void make_room(typename SortKey<acc_t>::type* b, int64_t& size, acc_t& t, int64_t Kc, int64_t cap) {
  using key_t = typename SortKey<acc_t>::type;
  constexpr int S = 16;
  if (size >= 4 * S) {
    key_t smp[S];
    for (int u = 0; u < S; ++u) smp[u] = b[(size * u) / S + size / (2 * S)];
    std::sort(smp, smp + S);
    const int r = static_cast<int>(std::min<int64_t>(S - 1, (3 * S * Kc) / (2 * size) + 1));
    const key_t pivot = smp[r];
    int64_t below = 0;
    for (int64_t e = 0; e < size; ++e) below += b[e] < pivot;
    if (below >= Kc && below + 16 <= cap) {
      int64_t w = 0;
      for (int64_t e = 0; e < size; ++e) {
        const key_t k = b[e];
        b[w] = k;
        w += k < pivot;
      }
      size = w;
      t = SortKey<acc_t>::value(pivot);
      return;
    }
  }
  cut_to<acc_t>(b, size, t, Kc);
}

// GEMM entries become a candidate's value v: the entry itself (a row already holding |x|^2 - 2 q.x), or
// add - 2 g (g a plain dot product, add the column point's |x|^2). Scalar and vector code compute it alike (2 g
// is exact, one rounding in the subtraction).
template <typename acc_t>
inline acc_t entry_value(acc_t g, const acc_t* add, int64_t c) {
  return add == nullptr ? g : add[c] - 2 * g;
}

// Bit u: value of entry u < t, for the 16 entries at g (add: as in entry_value, already offset to g's columns).
template <typename acc_t>
inline uint32_t below_mask16(const acc_t* g, const acc_t* add, acc_t t) {
  uint32_t mask = 0;
  for (int u = 0; u < 16; ++u) mask |= static_cast<uint32_t>(entry_value(g[u], add, u) < t) << u;
  return mask;
}

// Bit u: add - 2 g[u] < t[u] (16 query rows side by side: the transposed use of a symmetric block).
template <typename acc_t>
inline uint32_t below_mask16_lanes(const acc_t* g, acc_t add, const acc_t* t) {
  uint32_t mask = 0;
  for (int u = 0; u < 16; ++u) mask |= static_cast<uint32_t>(add - 2 * g[u] < t[u]) << u;
  return mask;
}

// Append the entries of one GEMM row (columns c0 + [0, cb)) whose value is below the row's threshold t to its
// buffer b (holding size of cap), making room when it would overflow. Returns the new size. Entries left out
// (now or by a cut) are >= t, and t only decreases.
template <typename acc_t, typename Mask>
inline int64_t filter_row_with(const Mask& below, const acc_t* gr, const acc_t* add, int64_t cb, int64_t c0,
                               typename SortKey<acc_t>::type* b, int64_t size, acc_t& t, int64_t cap, int64_t Kc) {
  using Key = SortKey<acc_t>;
  int64_t col = 0;
  for (; col + 16 <= cb; col += 16) {
    const acc_t* ad = add == nullptr ? nullptr : add + col;
    uint32_t mask = below(gr + col, ad, t);
    if (mask == 0) continue;
    if (size + 16 > cap) {
      make_room<acc_t>(b, size, t, Kc, cap);
      mask = below(gr + col, ad, t);
    }
    while (mask != 0) {
      const int u = __builtin_ctz(mask);
      mask &= mask - 1;
      b[size++] = Key::make(entry_value(gr[col + u], ad, u), c0 + col + u);
    }
  }
  for (; col < cb; ++col) {
    const acc_t v = entry_value(gr[col], add, col);
    if (!(v < t)) continue;
    if (size + 1 > cap) make_room<acc_t>(b, size, t, Kc, cap);
    if (v < t) b[size++] = Key::make(v, c0 + col);
  }
  return size;
}

// The transposed use of a symmetric block g (ra x cb, leading dimension ld): column c is query row c of the
// block's column points, row a its candidate a0 + a with value add[a] - 2 g[a][c]. Buffers, sizes and thresholds
// of the cb query rows: b + c * cap, size[c], t[c].
template <typename acc_t, typename Mask>
inline void filter_cols_with(const Mask& below, const acc_t* g, int64_t ld, int64_t ra, int64_t cb, const acc_t* add,
                             int64_t a0, typename SortKey<acc_t>::type* b, int64_t* size, acc_t* t, int64_t cap,
                             int64_t Kc) {
  using Key = SortKey<acc_t>;
  const auto offer = [&](int64_t c, acc_t v, int64_t j) {
    if (!(v < t[c])) return;
    if (size[c] + 1 > cap) {
      make_room<acc_t>(b + c * cap, size[c], t[c], Kc, cap);
      if (!(v < t[c])) return;
    }
    b[c * cap + size[c]++] = Key::make(v, j);
  };
  int64_t c0 = 0;
  for (; c0 + 16 <= cb; c0 += 16) {
    for (int64_t a = 0; a < ra; ++a) {
      const acc_t* gr = g + a * ld + c0;
      uint32_t mask = below(gr, add[a], t + c0);
      while (mask != 0) {
        const int u = __builtin_ctz(mask);
        mask &= mask - 1;
        offer(c0 + u, add[a] - 2 * gr[u], a0 + a);
      }
    }
  }
  for (int64_t a = 0; a < ra; ++a)
    for (int64_t c = c0; c < cb; ++c) offer(c, add[a] - 2 * g[a * ld + c], a0 + a);
}

#if MG_HAVE_AVX2
// The float row / column filters with the AVX2 threshold tests of common/avx2.h, the whole loop compiled for AVX2.
__attribute__((target("avx2"), flatten)) inline int64_t filter_row_avx2(const float* gr, const float* add, int64_t cb,
                                                                       int64_t c0, uint64_t* b, int64_t size, float& t,
                                                                       int64_t cap, int64_t Kc) {
  return filter_row_with<float>(cpu::BelowMask16Avx2{}, gr, add, cb, c0, b, size, t, cap, Kc);
}
__attribute__((target("avx2"), flatten)) inline void filter_cols_avx2(const float* g, int64_t ld, int64_t ra, int64_t cb,
                                                                     const float* add, int64_t a0, uint64_t* b,
                                                                     int64_t* size, float* t, int64_t cap, int64_t Kc) {
  filter_cols_with<float>(cpu::BelowMask16LanesAvx2{}, g, ld, ra, cb, add, a0, b, size, t, cap, Kc);
}
#endif

// A row / the transposed columns of a GEMM block into the candidate buffers: AVX2 for float where the CPU has it,
// the scalar tests otherwise (the same masks either way).
template <typename acc_t>
int64_t filter_row(const acc_t* gr, const acc_t* add, int64_t cb, int64_t c0, typename SortKey<acc_t>::type* b,
                   int64_t size, acc_t& t, int64_t cap, int64_t Kc) {
#if MG_HAVE_AVX2
  if constexpr (std::is_same<acc_t, float>::value) {
    if (cpu::has_avx2()) return filter_row_avx2(gr, add, cb, c0, b, size, t, cap, Kc);
  }
#endif
  return filter_row_with<acc_t>(below_mask16<acc_t>, gr, add, cb, c0, b, size, t, cap, Kc);
}

template <typename acc_t>
void filter_cols(const acc_t* g, int64_t ld, int64_t ra, int64_t cb, const acc_t* add, int64_t a0,
                 typename SortKey<acc_t>::type* b, int64_t* size, acc_t* t, int64_t cap, int64_t Kc) {
#if MG_HAVE_AVX2
  if constexpr (std::is_same<acc_t, float>::value) {
    if (cpu::has_avx2()) return filter_cols_avx2(g, ld, ra, cb, add, a0, b, size, t, cap, Kc);
  }
#endif
  filter_cols_with<acc_t>(below_mask16_lanes<acc_t>, g, ld, ra, cb, add, a0, b, size, t, cap, Kc);
}

// The end of a query row of the GEMM path: its candidates b[0, size) (values: GEMM distances less |q|^2; every
// other point's value is >= threshold t) decide by exact distances, written ascending to od / oi.
template <typename acc_t>
void finish_gemm_row(const acc_t* q, const acc_t* xp, int64_t m2, int64_t D, int64_t Keff, int64_t Kc, acc_t xmax,
                     typename SortKey<acc_t>::type* b, int64_t size, acc_t t, acc_t* od, int64_t* oi) {
  using Key = SortKey<acc_t>;
  const acc_t eps = std::numeric_limits<acc_t>::epsilon();
  if (size > Kc) cut_to<acc_t>(b, size, t, Kc);
  bool proven = Kc == m2;  // every point is a candidate
  if (!proven) {
    // the largest candidate, and the K-th smallest (nth_element orders by value first)
    const acc_t top = Key::value(*std::max_element(b, b + size));
    std::nth_element(b, b + (Keff - 1), b + size);
    acc_t qq = 0;
    for (int64_t a = 0; a < D; ++a) qq += q[a] * q[a];
    const acc_t qnorm = std::sqrt(qq);
    const acc_t delta = acc_t(2) * static_cast<acc_t>(D + 4) * eps * (qnorm + xmax) * (qnorm + xmax);
    proven = top > Key::value(b[Keff - 1]) + 2 * delta;
  }
  if (proven) {
    // the exact distances replace the GEMM ones in the keys, then the K smallest by (distance, index)
    cpu::dispatch_isa([&] {
      for (int64_t e = 0; e < size; ++e) {
        const int64_t j = Key::index(b[e]);
        b[e] = Key::make(exact_distance<acc_t, acc_t>(q, xp + j * D, D, 2), j);
      }
    });
    std::partial_sort(b, b + Keff, b + size);
    for (int64_t e = 0; e < Keff; ++e) {
      od[e] = Key::value(b[e]);
      oi[e] = Key::index(b[e]);
    }
  } else {
    int64_t out = 0;
    cpu::dispatch_isa([&] {
      for (int64_t j = 0; j < m2; ++j) heap_offer(od, oi, out, Keff, exact_distance<acc_t, acc_t>(q, xp + j * D, D, 2), j);
    });
    heap_sort(od, oi, out);
  }
}

// Candidates kept per query by the GEMM paths, and the buffer holding them between cuts.
inline int64_t gemm_candidates(int64_t K) { return K + std::max<int64_t>(8, K / 4); }
inline int64_t gemm_buffer(int64_t Kc) { return 3 * Kc + 32; }

// The first m points of a cloud for the GEMM paths: contiguous, their squared norms and the largest norm.
template <typename acc_t>
struct GemmPoints {
  at::Tensor X, xn;
  acc_t xmax = 0;
  GemmPoints() = default;
  GemmPoints(const at::Tensor& cloud, int64_t m)
      : X(cloud.narrow(0, 0, m).contiguous()), xn(X.square().sum(1).contiguous()),
        xmax(std::sqrt(xn.max().template item<acc_t>())) {}
};

}  // namespace knn
}  // namespace mg
