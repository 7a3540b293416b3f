// CPU kernel for sample_pdf (contract in sample_pdf.h): parallel over rows, a per-thread buffer of partial sums.
//
// A row whose searched partial sums c_0 .. c_{n-2} are non-decreasing (every row with non-negative weights) has a
// unique lower_bound, the number of c_j < v. With sorted quantiles (det=True) it is found by walking forward from
// the previous sample's bin; otherwise it is counted without branches: the blocks of 8 whose last element is below
// v (a block count when there are at most 16 blocks, else a binary search over the block maxima), then the members
// of the next block below v (the row padded with +inf to whole blocks). Other rows (negative weights above -eps,
// NaN) take sample_one's binary search. The bin and the sample are then sample_in_bin's, as
// on CUDA: the two devices agree bit for bit. Uniforms may have any row stride (0: det=True's one expanded row).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <limits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../../common/dispatch.h"
#include "sample_pdf.h"

namespace mg {
namespace pdf {
namespace {

constexpr int64_t kBlock = 8;
constexpr int64_t kMaxCountedBlocks = 16;

// The number of p[0, K) below v (false on NaN), K a multiple of 4: SSE compares for float, a loop otherwise.
template <int K, typename acc_t>
inline int32_t count_lt(const acc_t* p, acc_t v) {
  int32_t k = 0;
  for (int j = 0; j < K; ++j) k += p[j] < v ? 1 : 0;
  return k;
}
#if defined(__SSE2__)
template <>
inline int32_t count_lt<8, float>(const float* p, float v) {
  const __m128 vv = _mm_set1_ps(v);
  const int m = _mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(p), vv)) |
                (_mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(p + 4), vv)) << 4);
  return __builtin_popcount(static_cast<unsigned>(m));
}
template <>
inline int32_t count_lt<16, float>(const float* p, float v) {
  return count_lt<8, float>(p, v) + count_lt<8, float>(p + 8, v);
}
#endif

// lower_bound of v in the non-decreasing c (nb blocks of kBlock, +inf padded) with block maxima top[k] =
// c[kBlock k + kBlock - 1] (+inf padded to at least kMaxCountedBlocks); m: the number of real entries (the result
// is clamped to it).
template <typename acc_t>
inline int64_t count_below(const acc_t* c, const acc_t* top, int64_t nb, int64_t m, acc_t v) {
  int64_t b = 0;
  if (nb <= kMaxCountedBlocks) {
    b = count_lt<kMaxCountedBlocks>(top, v);
  } else {
    for (int64_t len = nb; len > 0;) {  // branch-free lower_bound over the block maxima
      const int64_t half = len / 2;
      const bool below = top[b + half] < v;
      b = below ? b + half + 1 : b;
      len = below ? len - half - 1 : half;
    }
  }
  if (b >= nb) return m;
  return std::min(kBlock * b + count_lt<kBlock>(c + kBlock * b, v), m);
}

template <typename scalar_t, typename acc_t>
void sample_rows(const scalar_t* bp, const scalar_t* wp, const acc_t* up, int64_t u_row, scalar_t* op, int64_t n,
                 int64_t S, acc_t e, int64_t lo, int64_t hi) {
  const int64_t m = n - 1;  // bins are found among c_0 .. c_{m-1}
  const int64_t nb = (m + kBlock - 1) / kBlock;
  std::vector<acc_t> c(static_cast<size_t>(std::max(kBlock * nb, n)));
  const acc_t inf = std::numeric_limits<acc_t>::infinity();
  std::vector<acc_t> top(static_cast<size_t>(std::max(nb, kMaxCountedBlocks)), inf);
  acc_t* cp = c.data();
  const auto sorted_quantiles = [&](const acc_t* ur) {  // non-decreasing (false on NaN)
    bool ok = true;
    for (int64_t s = 1; s < S; ++s) ok = ok && ur[s] >= ur[s - 1];
    return ok && (S == 0 || ur[0] == ur[0]);
  };
  const bool shared_sorted = u_row == 0 && sorted_quantiles(up);  // det=True: one row for all
  for (int64_t r = lo; r < hi; ++r) {
    const scalar_t* br = bp + r * (n + 1);
    const scalar_t* wr = wp + r * n;
    const acc_t* ur = up + r * u_row;
    scalar_t* orow = op + r * S;
    const acc_t total = row_partial_sums<scalar_t, acc_t>(wr, n, e, cp);
    bool sorted = true;
    for (int64_t j = 0; j < m; ++j) sorted = sorted && cp[j] == cp[j] && (j == 0 || cp[j] >= cp[j - 1]);
    if (!sorted) {
      for (int64_t s = 0; s < S; ++s) orow[s] = sample_one<scalar_t, acc_t>(br, wr, cp, n, total, e, ur[s]);
      continue;
    }
    // c_{m} (= c_{n-1}) is never read by sample_in_bin (it reads c_{i-1}, i <= m): the padding may overwrite it
    for (int64_t j = m; j < kBlock * nb; ++j) cp[j] = inf;
    for (int64_t k = 0; k < nb; ++k) top[k] = cp[kBlock * k + kBlock - 1];
    if (u_row == 0 ? shared_sorted : sorted_quantiles(ur)) {
      // sorted quantiles: the bin only moves forward while v grows (a walk); a smaller v is counted afresh
      int64_t i = 0;
      acc_t prev = -inf;
      for (int64_t s = 0; s < S; ++s) {
        const acc_t v = total * ur[s];
        if (v >= prev) {
          while (i < m && cp[i] < v) ++i;
        } else {
          i = count_below(cp, top.data(), nb, m, v);
        }
        prev = v;
        orow[s] = sample_in_bin<scalar_t, acc_t>(br, wr, cp, i, v, e);
      }
      continue;
    }
    for (int64_t s = 0; s < S; ++s) {
      const acc_t v = total * ur[s];
      orow[s] = sample_in_bin<scalar_t, acc_t>(br, wr, cp, count_below(cp, top.data(), nb, m, v), v, e);
    }
  }
}

at::Tensor sample_pdf_cpu(const at::Tensor& bins, const at::Tensor& weights, const at::Tensor& uniforms, double eps) {
  check_inputs(bins, weights, uniforms);
  const int64_t B = weights.size(0), n = weights.size(1), S = uniforms.size(1);
  auto out = at::empty({B, S}, bins.options());
  if (B == 0 || S == 0) return out;
  const auto b = bins.contiguous(), w = weights.contiguous();
  // rows may be strided (det=True passes one row expanded with stride 0); the samples of a row must be contiguous
  const auto u = S == 1 || uniforms.stride(1) == 1 ? uniforms : uniforms.contiguous();
  const int64_t u_row = u.stride(0);
  MG_DISPATCH_FLOATING_TYPES(bins.scalar_type(), "sample_pdf_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const acc_t e = static_cast<acc_t>(eps);
    const scalar_t* bp = b.const_data_ptr<scalar_t>();
    const scalar_t* wp = w.const_data_ptr<scalar_t>();
    const acc_t* up = u.const_data_ptr<acc_t>();
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, B, std::max<int64_t>(1, 16384 / (n + S)), [&](int64_t lo, int64_t hi) {
      sample_rows<scalar_t, acc_t>(bp, wp, up, u_row, op, n, S, e, lo, hi);
    });
  });
  return out;
}

}  // namespace
}  // namespace pdf
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) { m.impl("sample_pdf", &mg::pdf::sample_pdf_cpu); }
