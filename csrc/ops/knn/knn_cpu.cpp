// CPU kernel for knn_points_idx (contract in knn.h): parallel over the queries of all clouds.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <ATen/ATen.h>
#include <torch/library.h>

#include "../../common/checks.h"
#include "../../common/cpu_kernels.h"
#include "../../common/cpu_pool.h"
#include "../../common/dispatch.h"
#include "knn.h"

#include <algorithm>
#include <array>
#include <mutex>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

namespace mg {
namespace knn {
namespace {

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

// High D, any norm: scan the cloud with the running top K in the output row (exact; the definition).
template <typename scalar_t, typename acc_t>
void scan_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K,
              int64_t norm, acc_t* dp, int64_t* ip) {
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto a1 = p1.contiguous(), a2 = p2.contiguous();
  const scalar_t* x1 = a1.const_data_ptr<scalar_t>();
  const scalar_t* x2 = a2.const_data_ptr<scalar_t>();
  at::parallel_for(0, N * P1, 16, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / P1, i = t - n * P1;
      const int64_t Keff = std::min<int64_t>(K, l2p[n]);
      if (i >= l1p[n] || Keff == 0) continue;
      const scalar_t* q = x1 + t * D;
      int64_t size = 0;
      for (int64_t j = 0; j < l2p[n]; ++j) {
        const acc_t s = exact_distance<scalar_t, acc_t>(q, x2 + (n * P2 + j) * D, D, norm);
        heap_offer(dp + t * K, ip + t * K, size, Keff, s, j);
      }
      heap_sort(dp + t * K, ip + t * K, size);
    }
  });
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

#if defined(__x86_64__) && defined(__GNUC__)
struct BelowMask16Avx2 {
  __attribute__((target("avx2"))) uint32_t operator()(const float* g, const float* add, float thr) const {
    const __m256 tv = _mm256_set1_ps(thr), two = _mm256_set1_ps(2.0f);
    __m256 v0 = _mm256_loadu_ps(g), v1 = _mm256_loadu_ps(g + 8);
    if (add != nullptr) {
      v0 = _mm256_sub_ps(_mm256_loadu_ps(add), _mm256_mul_ps(two, v0));
      v1 = _mm256_sub_ps(_mm256_loadu_ps(add + 8), _mm256_mul_ps(two, v1));
    }
    const uint32_t lo = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v0, tv, _CMP_LT_OQ)));
    const uint32_t hi = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v1, tv, _CMP_LT_OQ)));
    return lo | (hi << 8);
  }
};
struct BelowMask16LanesAvx2 {
  __attribute__((target("avx2"))) uint32_t operator()(const float* g, float add, const float* thr) const {
    const __m256 av = _mm256_set1_ps(add), two = _mm256_set1_ps(2.0f);
    const __m256 v0 = _mm256_sub_ps(av, _mm256_mul_ps(two, _mm256_loadu_ps(g)));
    const __m256 v1 = _mm256_sub_ps(av, _mm256_mul_ps(two, _mm256_loadu_ps(g + 8)));
    const uint32_t lo =
        static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v0, _mm256_loadu_ps(thr), _CMP_LT_OQ)));
    const uint32_t hi =
        static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v1, _mm256_loadu_ps(thr + 8), _CMP_LT_OQ)));
    return lo | (hi << 8);
  }
};
__attribute__((target("avx2"), flatten)) int64_t filter_row_avx2(const float* gr, const float* add, int64_t cb, int64_t c0,
                                                        uint64_t* b, int64_t size, float& t, int64_t cap, int64_t Kc) {
  return filter_row_with<float>(BelowMask16Avx2{}, gr, add, cb, c0, b, size, t, cap, Kc);
}
__attribute__((target("avx2"), flatten)) void filter_cols_avx2(const float* g, int64_t ld, int64_t ra, int64_t cb,
                                                      const float* add, int64_t a0, uint64_t* b, int64_t* size,
                                                      float* t, int64_t cap, int64_t Kc) {
  filter_cols_with<float>(BelowMask16LanesAvx2{}, g, ld, ra, cb, add, a0, b, size, t, cap, Kc);
}
#endif

template <typename acc_t>
int64_t filter_row(const acc_t* gr, const acc_t* add, int64_t cb, int64_t c0, typename SortKey<acc_t>::type* b,
                   int64_t size, acc_t& t, int64_t cap, int64_t Kc) {
#if defined(__x86_64__) && defined(__GNUC__)
  if constexpr (std::is_same<acc_t, float>::value) {
    if (cpu::has_avx2()) return filter_row_avx2(gr, add, cb, c0, b, size, t, cap, Kc);
  }
#endif
  return filter_row_with<acc_t>(below_mask16<acc_t>, gr, add, cb, c0, b, size, t, cap, Kc);
}

template <typename acc_t>
void filter_cols(const acc_t* g, int64_t ld, int64_t ra, int64_t cb, const acc_t* add, int64_t a0,
                 typename SortKey<acc_t>::type* b, int64_t* size, acc_t* t, int64_t cap, int64_t Kc) {
#if defined(__x86_64__) && defined(__GNUC__)
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

// High D, norm 2, float/double: blocked distance GEMM (|x|^2 - 2 q.x, BLAS; |q|^2 is the same for a whole row)
// with a running set of Kc = K + max(8, K / 4) candidates per query -- only a B1 x B2 block of distances exists
// at a time -- then the exact distances of the candidates decide, as in scan_knn. A row keeps its candidates in a
// buffer: entries below the row's threshold are appended (a vectorized test skips 16 entries at a time), and a
// full buffer makes room (make_room: keeps the entries below a new, lower threshold, at least Kc of them). So
// every entry outside the final Kc candidates has a GEMM distance >= the largest candidate's.
// The GEMM distances carry a rounding error below delta = 2 (D + 4) eps (|q| + max |x|)^2; when the largest
// candidate exceeds the K-th smallest candidate by more than 2 delta, no point outside can beat the K-th exact
// distance: the answer is exact (finish_gemm_row). Otherwise (massive ties) that query is rescanned.
template <typename acc_t>
void gemm_knn(const at::Tensor& p1, const at::Tensor& p2, const int64_t* l1p, const int64_t* l2p, int64_t K, acc_t* dp,
              int64_t* ip) {
  const int64_t N = p1.size(0), P1 = p1.size(1), D = p1.size(2);
  struct Cloud {
    at::Tensor Q;
    GemmPoints<acc_t> pts;
    int64_t m1, m2, Keff, Kc;
  };
  std::vector<Cloud> clouds(N);
  int64_t rows = 0;
  for (int64_t n = 0; n < N; ++n) {
    Cloud& c = clouds[n];
    c.m1 = l1p[n];
    c.m2 = l2p[n];
    c.Keff = std::min<int64_t>(K, c.m2);
    c.Kc = std::min<int64_t>(gemm_candidates(K), c.m2);
    if (c.m1 == 0 || c.Keff == 0) continue;
    c.Q = p1[n].narrow(0, 0, c.m1).contiguous();
    c.pts = GemmPoints<acc_t>(p2[n], c.m2);
    rows += c.m1;
  }
  // tasks: (cloud, block of B1 query rows); B1 shrinks so that every thread gets several
  constexpr int64_t B2 = 1024;
  const int64_t B1 = std::min<int64_t>(256, std::max<int64_t>(16, rows / (4 * at::get_num_threads()) + 1));
  std::vector<std::pair<int64_t, int64_t>> tasks;
  for (int64_t n = 0; n < N; ++n)
    if (clouds[n].Q.defined())
      for (int64_t r0 = 0; r0 < clouds[n].m1; r0 += B1) tasks.emplace_back(n, r0);
  using Key = SortKey<acc_t>;
  using key_t = typename Key::type;
  at::parallel_for(0, static_cast<int64_t>(tasks.size()), 1, [&](int64_t task_lo, int64_t task_hi) {
    at::Tensor G;
    std::vector<key_t> buf;
    std::vector<int64_t> cnt;
    std::vector<acc_t> thr;
    for (int64_t task = task_lo; task < task_hi; ++task) {
      const auto [n, r0] = tasks[task];
      const Cloud& c = clouds[n];
      const int64_t rb = std::min(B1, c.m1 - r0), Kc = c.Kc, Keff = c.Keff;
      const int64_t cap = gemm_buffer(Kc);
      if (!G.defined()) G = at::empty({B1, B2}, c.Q.options());
      buf.resize(static_cast<size_t>(rb * cap));
      cnt.assign(static_cast<size_t>(rb), 0);
      thr.assign(static_cast<size_t>(rb), std::numeric_limits<acc_t>::infinity());
      const auto Qb = c.Q.narrow(0, r0, rb);
      for (int64_t c0 = 0; c0 < c.m2; c0 += B2) {
        const int64_t cb = std::min(B2, c.m2 - c0);
        auto g = G.narrow(0, 0, rb).narrow(1, 0, cb);
        at::addmm_out(g, c.pts.xn.narrow(0, c0, cb).unsqueeze(0), Qb, c.pts.X.narrow(0, c0, cb).t(), 1, -2);
        const acc_t* gp = g.template const_data_ptr<acc_t>();
        const int64_t ld = g.stride(0);
        for (int64_t r = 0; r < rb; ++r)
          cnt[r] = filter_row<acc_t>(gp + r * ld, nullptr, cb, c0, buf.data() + r * cap, cnt[r], thr[r], cap, Kc);
      }
      // exact distances of the candidates decide; rescan where the margin does not prove it
      for (int64_t r = 0; r < rb; ++r) {
        const int64_t row = r0 + r, t = n * P1 + row;
        finish_gemm_row<acc_t>(c.Q.template const_data_ptr<acc_t>() + row * D,
                               c.pts.X.template const_data_ptr<acc_t>(), c.m2, D, Keff, Kc, c.pts.xmax,
                               buf.data() + r * cap, cnt[r], thr[r], dp + t * K, ip + t * K);
      }
    }
  });
}

// Self query of the GEMM path (p1 is p2, equal lengths): the dot products of a cloud with itself are symmetric,
// so only the blocks I <= J of B x B query/point blocks are computed (half the GEMM work). Block (I, J) feeds the
// rows of I (columns J, values |x_b|^2 - 2 x_a.x_b) and, transposed, the rows of J (columns I, the same dot
// products with |x_a|^2). All rows keep their candidate buffers until every block is done; a lock per row block
// orders the updates of two tasks that share it. Then each row finishes as in gemm_knn.
template <typename acc_t>
bool gemm_knn_self(const at::Tensor& p, const int64_t* lp, int64_t K, acc_t* dp, int64_t* ip) {
  const int64_t N = p.size(0), P = p.size(1), D = p.size(2);
  constexpr int64_t B = 512;
  using key_t = typename SortKey<acc_t>::type;
  const int64_t Kc_max = gemm_candidates(K), cap = gemm_buffer(Kc_max);
  int64_t rows = 0;
  for (int64_t n = 0; n < N; ++n) rows += lp[n];
  // every row's buffer at once: only when that stays modest
  if (static_cast<double>(rows) * static_cast<double>(cap) * sizeof(key_t) > 256.0 * (1 << 20)) return false;
  std::vector<int64_t> row0(N + 1, 0);
  for (int64_t n = 0; n < N; ++n) row0[n + 1] = row0[n] + lp[n];
  std::vector<key_t> buf(static_cast<size_t>(std::max<int64_t>(rows, 1) * cap));
  std::vector<int64_t> cnt(static_cast<size_t>(std::max<int64_t>(rows, 1)), 0);
  std::vector<acc_t> thr(static_cast<size_t>(std::max<int64_t>(rows, 1)), std::numeric_limits<acc_t>::infinity());
  std::vector<GemmPoints<acc_t>> cloud(N);
  std::vector<int64_t> block0(N + 1, 0);  // global index of each cloud's first row block (one lock each)
  std::vector<std::array<int64_t, 3>> tasks;  // (cloud, I, J)
  for (int64_t n = 0; n < N; ++n) {
    const int64_t m = lp[n], nb = (m + B - 1) / B;
    block0[n + 1] = block0[n] + nb;
    if (m == 0) continue;
    cloud[n] = GemmPoints<acc_t>(p[n], m);
    for (int64_t I = 0; I < nb; ++I)
      for (int64_t J = I; J < nb; ++J) tasks.push_back({n, I, J});
  }
  std::vector<std::mutex> locks(static_cast<size_t>(std::max<int64_t>(block0[N], 1)));
  at::parallel_for(0, static_cast<int64_t>(tasks.size()), 1, [&](int64_t lo, int64_t hi) {
    at::Tensor G;
    for (int64_t task = lo; task < hi; ++task) {
      const auto [n, I, J] = tasks[task];
      const int64_t m = lp[n], Kc = std::min<int64_t>(Kc_max, m);
      const int64_t a0 = I * B, ra = std::min(B, m - a0), b0 = J * B, rb = std::min(B, m - b0);
      const at::Tensor& X = cloud[n].X;
      if (!G.defined()) G = at::empty({B, B}, X.options());
      auto g = G.narrow(0, 0, ra).narrow(1, 0, rb);
      at::mm_out(g, X.narrow(0, a0, ra), X.narrow(0, b0, rb).t());
      const acc_t* gp = g.template const_data_ptr<acc_t>();
      const int64_t ld = g.stride(0);
      const acc_t* xnp = cloud[n].xn.template const_data_ptr<acc_t>();
      {
        std::lock_guard<std::mutex> hold(locks[block0[n] + I]);
        for (int64_t a = 0; a < ra; ++a) {
          const int64_t r = row0[n] + a0 + a;
          cnt[r] = filter_row<acc_t>(gp + a * ld, xnp + b0, rb, b0, buf.data() + r * cap, cnt[r], thr[r], cap, Kc);
        }
      }
      if (J != I) {
        std::lock_guard<std::mutex> hold(locks[block0[n] + J]);
        const int64_t r = row0[n] + b0;
        filter_cols<acc_t>(gp, ld, ra, rb, xnp + a0, a0, buf.data() + r * cap, cnt.data() + r, thr.data() + r, cap,
                           Kc);
      }
    }
  });
  at::parallel_for(0, rows, 16, [&](int64_t lo, int64_t hi) {
    int64_t n = std::upper_bound(row0.begin(), row0.end(), lo) - row0.begin() - 1;
    for (int64_t r = lo; r < hi; ++r) {
      while (r >= row0[n + 1]) ++n;
      const int64_t m = lp[n], i = r - row0[n], t = n * P + i;
      const acc_t* xp = cloud[n].X.template const_data_ptr<acc_t>();
      finish_gemm_row<acc_t>(xp + i * D, xp, m, D, std::min(K, m), std::min<int64_t>(Kc_max, m), cloud[n].xmax,
                             buf.data() + r * cap, cnt[r], thr[r], dp + t * K, ip + t * K);
    }
  });
  return true;
}

// ---------------------------------------------------------------- D <= 3: block search over grid cells
//
// Queries are bucketed by the grid cell they fall in (clamped into the grid). For each query cell the points of
// the 3 x 3 x 3 block of cells around it are gathered once into coordinate arrays; every query of the cell then
// computes its distances to the whole block and keeps those below `bound`, the distance from the query to the
// nearest face of the block that is not a face of the grid (no point outside the block is closer than that). If
// at least K points of the block are closer than the bound, the K smallest of them by (distance, index) are the
// answer; otherwise (sparse surroundings) the query falls back to the shell-by-shell grid_search.
//
// Blocks pay off while a 3 x 3 x 3 block of cells usually holds K points within the bound (measured on 50,000
// uniform / bunny-surface points: K = 1..256 run 1.1-2.4x faster than the shell search; K = 1 tries the query's own
// cell first, which settles self queries).
inline bool block_search_applies(int64_t K, int64_t P2) {
  return static_cast<double>(K) <= 8.0 * cell_occupancy(K) && P2 < (int64_t{1} << 31);
}

template <typename acc_t>
void block_knn(const Grid& g, const acc_t* qp, int64_t D, const int64_t* l1p, const int64_t* l2p, int64_t N,
               int64_t P1, int64_t K, int norm, acc_t* dp, int64_t* ip) {
  using Key = SortKey<acc_t>;
  const acc_t* params = g.params.const_data_ptr<acc_t>();
  const acc_t* pts = g.pts.const_data_ptr<acc_t>();
  const int64_t* pidx = g.point_idx.const_data_ptr<int64_t>();
  const int64_t* cs = g.cell_start.const_data_ptr<int64_t>();
  const int64_t C = g.cell_start.size(0) - 1;
  // 1. the cell of every query (-1: nothing to do), then the queries in cell order (counting sort)
  std::vector<int64_t> qcell(static_cast<size_t>(N * P1));
  at::parallel_for(0, N * P1, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / P1, i = t - n * P1;
      if (i >= l1p[n] || l2p[n] == 0) {
        qcell[t] = -1;
        continue;
      }
      const acc_t* pr = params + 8 * n;
      int64_t cell = 0;
      for (int a = 0; a < 3; ++a)
        cell = cell * static_cast<int64_t>(pr[4 + a]) + clamped_cell(a < D ? qp[t * D + a] : acc_t(0), pr, a);
      qcell[t] = static_cast<int64_t>(pr[7]) + cell;
    }
  });
  std::vector<int64_t> qstart(static_cast<size_t>(C + 1), 0);
  for (int64_t t = 0; t < N * P1; ++t)
    if (qcell[t] >= 0) ++qstart[qcell[t] + 1];
  for (int64_t c = 0; c < C; ++c) qstart[c + 1] += qstart[c];
  const int64_t T1 = qstart[C];
  // in cell order: the query's row t, its cell and its coordinates (read in sequence below)
  std::vector<int64_t> qorder(static_cast<size_t>(std::max<int64_t>(T1, 1)));
  std::vector<int64_t> scell(static_cast<size_t>(std::max<int64_t>(T1, 1)));
  std::vector<acc_t> sq(static_cast<size_t>(3 * std::max<int64_t>(T1, 1)), acc_t(0));
  {
    std::vector<int64_t>& fill = qstart;  // consumed as each cell's write cursor
    for (int64_t t = 0; t < N * P1; ++t) {
      if (qcell[t] < 0) continue;
      const int64_t k = fill[qcell[t]]++;
      qorder[k] = t;
      scell[k] = qcell[t];
      for (int64_t a = 0; a < D; ++a) sq[3 * k + a] = qp[t * D + a];
    }
  }
  at::parallel_for(0, T1, 256, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> bx, by, bz;
    std::vector<int32_t> bi;
    std::vector<typename Key::type> keys;
    int64_t cur = -1, m = 0, n = 0;
    acc_t hint = std::numeric_limits<acc_t>::infinity();  // see "tighter limit" below
    int64_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0}, dims[3] = {1, 1, 1}, own[3] = {0, 0, 0};
    const acc_t* pr = params;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t t = qorder[k];
      if (scell[k] != cur) {  // gather the block of this cell
        cur = scell[k];
        hint = std::numeric_limits<acc_t>::infinity();
        n = t / P1;
        pr = params + 8 * n;
        for (int a = 0; a < 3; ++a) dims[a] = static_cast<int64_t>(pr[4 + a]);
        int64_t local = cur - static_cast<int64_t>(pr[7]);
        own[2] = local % dims[2];
        local /= dims[2];
        own[1] = local % dims[1];
        own[0] = local / dims[1];
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::max<int64_t>(own[a] - 1, 0);
          hi[a] = std::min<int64_t>(own[a] + 1, dims[a] - 1);
        }
        m = 0;
        const int64_t first = static_cast<int64_t>(pr[7]);
        for (int64_t x = lo[0]; x <= hi[0]; ++x) {
          for (int64_t y = lo[1]; y <= hi[1]; ++y) {
            const int64_t row = first + (x * dims[1] + y) * dims[2];
            m += cs[row + hi[2] + 1] - cs[row + lo[2]];
          }
        }
        if (static_cast<int64_t>(bx.size()) < m) {
          bx.resize(m);
          by.resize(m);
          bz.resize(m);
          bi.resize(m);
          keys.resize(m);
        }
        int64_t w = 0;
        for (int64_t x = lo[0]; x <= hi[0]; ++x) {
          for (int64_t y = lo[1]; y <= hi[1]; ++y) {
            const int64_t row = first + (x * dims[1] + y) * dims[2];
            for (int64_t u = cs[row + lo[2]]; u < cs[row + hi[2] + 1]; ++u, ++w) {
              bx[w] = pts[3 * u];
              by[w] = pts[3 * u + 1];
              bz[w] = pts[3 * u + 2];
              bi[w] = static_cast<int32_t>(pidx[u]);
            }
          }
        }
      }
      const int64_t Keff = std::min<int64_t>(K, l2p[n]);
      const acc_t q[3] = {sq[3 * k], sq[3 * k + 1], sq[3 * k + 2]};
      // Distance bound (squared for norm 2) from q to the nearest face of the cell range [l, h] that is not a grid
      // face, less a rounding margin (cells were assigned in floating point: a point may sit a few ulps across
      // its cell's face). Every point outside the range is at least that far from q.
      const auto range_bound = [&](const int64_t* l, const int64_t* h) {
        const acc_t eps = std::numeric_limits<acc_t>::epsilon();
        acc_t gap = std::numeric_limits<acc_t>::infinity();
        for (int a = 0; a < 3; ++a) {
          const acc_t tol = 8 * eps * (std::abs(pr[a]) + static_cast<acc_t>(dims[a]) * pr[3] + std::abs(q[a]));
          if (l[a] > 0) gap = std::min(gap, q[a] - (pr[a] + static_cast<acc_t>(l[a]) * pr[3]) - tol);
          if (h[a] + 1 < dims[a]) gap = std::min(gap, (pr[a] + static_cast<acc_t>(h[a] + 1) * pr[3]) - q[a] - tol);
        }
        return !(gap > 0) ? acc_t(0)
                          : (norm == 1 || gap == std::numeric_limits<acc_t>::infinity() ? gap : gap * gap);
      };
      acc_t* od = dp + t * K;
      int64_t* oi = ip + t * K;
      if (Keff == 1) {
        // K = 1: the query's own cell first; its nearest point wins when closer than the cell's faces (a self
        // query finds itself at 0)
        const int64_t cell = cur;
        acc_t bd = std::numeric_limits<acc_t>::infinity();
        int64_t bj = -1;
        for (int64_t u = cs[cell]; u < cs[cell + 1]; ++u) {
          const acc_t d = point_distance(q, pts + 3 * u, norm);
          if (d < bd || (d == bd && pidx[u] < bj)) {
            bd = d;
            bj = pidx[u];
          }
        }
        if (bj >= 0 && bd < range_bound(own, own)) {
          od[0] = bd;
          oi[0] = bj;
          continue;
        }
      }
      const acc_t bound = range_bound(lo, hi);
      typename Key::type* kp = keys.data();
      // the block's points closer than `limit`, as keys in kp[0, cnt)
      const auto collect = [&](acc_t limit) {
        int64_t cnt = 0;
        if (norm == 2) {
          for (int64_t j = 0; j < m; ++j) {
            const acc_t dx = q[0] - bx[j], dy = q[1] - by[j], dz = q[2] - bz[j];
            acc_t s = dx * dx;
            s += dy * dy;
            s += dz * dz;
            kp[cnt] = Key::make(s, bi[j]);
            cnt += s < limit;
          }
        } else {
          for (int64_t j = 0; j < m; ++j) {
            acc_t s = std::abs(q[0] - bx[j]);
            s += std::abs(q[1] - by[j]);
            s += std::abs(q[2] - bz[j]);
            kp[cnt] = Key::make(s, bi[j]);
            cnt += s < limit;
          }
        }
        return cnt;
      };
      // First try a tighter limit: twice the previous query's K-th distance (squared: 1.41 times the radius) --
      // queries of one cell lie close together -- so the selection below sorts few keys. Too tight: retry with
      // the block bound.
      const acc_t first_limit = hint > 0 ? std::min(bound, hint) : bound;  // 0: a self query of K = 1
      int64_t cnt = collect(first_limit);
      if (cnt < Keff && first_limit < bound) cnt = collect(bound);
      if (cnt >= Keff) {
        if (cnt > Keff) std::nth_element(kp, kp + (Keff - 1), kp + cnt);
        std::sort(kp, kp + Keff);
        hint = 2 * Key::value(kp[Keff - 1]);
        for (int64_t r = 0; r < Keff; ++r) {
          od[r] = Key::value(kp[r]);
          oi[r] = Key::index(kp[r]);
        }
      } else {
        int64_t size = 0;
        grid_search(q, pr, pts, pidx, cs, Keff, norm, od, oi, size);
        heap_sort(od, oi, size);
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor> knn_points_idx_cpu(const at::Tensor& p1, const at::Tensor& p2,
                                                      const at::Tensor& lengths1, const at::Tensor& lengths2, int64_t K,
                                                      int64_t norm) {
  check_knn_inputs(p1, p2, lengths1, lengths2, K, norm);
  const int64_t N = p1.size(0), P1 = p1.size(1), P2 = p2.size(1), D = p1.size(2);
  const auto acc_type = point_acc_type(p1);
  // outputs from the reuse pool (warm pages); entries past min(K, length) stay 0
  auto dists = cpu::pooled_empty({N, P1, K}, p1.options().dtype(acc_type)).zero_();
  auto idx = cpu::pooled_empty({N, P1, K}, p1.options().dtype(at::kLong)).zero_();
  if (N == 0 || P1 == 0) return {dists.to(p1.scalar_type()), idx};
  const auto l1 = clamped_lengths(lengths1, P1);
  const auto l2 = clamped_lengths(lengths2, P2);
  const int64_t* l1p = l1.const_data_ptr<int64_t>();
  const int64_t* l2p = l2.const_data_ptr<int64_t>();
  MG_DISPATCH_FLOATING_TYPES(p1.scalar_type(), "knn_points_idx_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    acc_t* dp = dists.mutable_data_ptr<acc_t>();
    int64_t* ip = idx.mutable_data_ptr<int64_t>();
    if (D <= 3) {
      const Grid g = build_grid(p2, l2, acc_type, cell_occupancy(K));
      const auto q1 = p1.to(acc_type).contiguous();
      const acc_t* qp = q1.const_data_ptr<acc_t>();
      const acc_t* pts = g.pts.const_data_ptr<acc_t>();
      const int64_t* pidx = g.point_idx.const_data_ptr<int64_t>();
      const int64_t* cs = g.cell_start.const_data_ptr<int64_t>();
      const acc_t* params = g.params.const_data_ptr<acc_t>();
      if (block_search_applies(K, P2)) {
        block_knn<acc_t>(g, qp, D, l1p, l2p, N, P1, K, static_cast<int>(norm), dp, ip);
        return;
      }
      at::parallel_for(0, N * P1, 64, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
          const int64_t n = t / P1, i = t - n * P1;
          const int64_t Keff = std::min<int64_t>(K, l2p[n]);
          if (i >= l1p[n] || Keff == 0) continue;
          acc_t q[3] = {0, 0, 0};
          for (int64_t a = 0; a < D; ++a) q[a] = qp[t * D + a];
          int64_t size = 0;
          grid_search(q, params + 8 * n, pts, pidx, cs, Keff, static_cast<int>(norm), dp + t * K, ip + t * K, size);
          heap_sort(dp + t * K, ip + t * K, size);
        }
      });
    } else if (norm == 2 && std::is_same<acc_t, scalar_t>::value && P2 < (int64_t{1} << 31)) {
      const bool self = p1.data_ptr() == p2.data_ptr() && p1.sizes() == p2.sizes() &&
                        p1.strides() == p2.strides() && std::equal(l1p, l1p + N, l2p);
      if (!self || !gemm_knn_self<acc_t>(p1, l1p, K, dp, ip)) gemm_knn<acc_t>(p1, p2, l1p, l2p, K, dp, ip);
    } else {
      scan_knn<scalar_t, acc_t>(p1, p2, l1p, l2p, K, norm, dp, ip);
    }
  });
  return {dists.to(p1.scalar_type()), idx};
}

}  // namespace
}  // namespace knn
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("knn_points_idx", &mg::knn::knn_points_idx_cpu); }
