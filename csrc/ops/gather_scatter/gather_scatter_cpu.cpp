// CPU kernels for the fused gather-scatter family (contract in gather_scatter.h).
// Rows of the output run in parallel (at::parallel_for); each row accumulates in a small per-task buffer
// (float32 or float64) and the inner loop over features is contiguous, so the compiler vectorizes it.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <limits>
#include <type_traits>
#include <vector>

#include "../../common/avx2.h"
#include "../../common/checks.h"
#include "../../common/cpu_kernels.h"
#include "../../common/cpu_pool.h"
#include "../../common/dispatch.h"
#include "gather_scatter.h"

namespace mg {
namespace {

// Output rows per parallel task: enough work per task to amortize scheduling.
inline int64_t grain_for(int64_t num_entries, int64_t num_rows, int64_t F) {
  const int64_t per_row = std::max<int64_t>(1, (num_entries / std::max<int64_t>(num_rows, 1) + 1) * F);
  return std::max<int64_t>(1, 32768 / per_row);
}

// Strided 2-D read access: element (r, f) at base[r * rs + f * cs].
template <typename T>
struct Rows {
  const T* base;
  int64_t rs, cs;
  const T* row(int64_t r) const { return base + r * rs; }
};

template <typename T>
Rows<T> rows_of(const at::Tensor& t) {
  return {t.const_data_ptr<T>(), t.stride(0), t.stride(1)};
}

// acc[f] += w * x[f] over a contiguous row; __restrict__ lets the compiler vectorize it.
template <typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) void axpy_row(acc_t* __restrict__ acc, const scalar_t* __restrict__ xr, acc_t w,
                                                    int64_t F) {
  for (int64_t f = 0; f < F; ++f) acc[f] += w * static_cast<acc_t>(xr[f]);
}

// acc[f] += w0 * x0[f] + w1 * x1[f]: two entries per pass over the accumulator.
template <typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) void axpy2_row(acc_t* __restrict__ acc, const scalar_t* __restrict__ x0, acc_t w0,
                                                     const scalar_t* __restrict__ x1, acc_t w1, int64_t F) {
  for (int64_t f = 0; f < F; ++f) acc[f] += w0 * static_cast<acc_t>(x0[f]) + w1 * static_cast<acc_t>(x1[f]);
}

// Running max (IsMax) or min of w * x over a contiguous row, with the entry that holds it; strict comparison, so the
// first entry in CSR order wins ties (deterministic). Value and index lanes are both 32 bit (float32) or the loop
// still vectorizes with the index widened (float64).
template <bool IsMax, typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) void best_row(acc_t* __restrict__ acc, int32_t* __restrict__ at,
                                                    const scalar_t* __restrict__ xr, acc_t w, int32_t k, int64_t F) {
  for (int64_t f = 0; f < F; ++f) {
    const acc_t val = w * static_cast<acc_t>(xr[f]);
    const bool better = IsMax ? val > acc[f] : val < acc[f];
    acc[f] = better ? val : acc[f];
    at[f] = better ? k : at[f];
  }
}

// Two entries per pass (k0 before k1 in CSR order): the better of the two (k0 on ties; a NaN k0 loses, as it never
// beats anything in the one-entry loop), then the strict comparison with the running best. Equal to best_row for k0
// then k1, NaNs included, with half the accumulator traffic.
template <bool IsMax, typename scalar_t, typename acc_t>
inline __attribute__((always_inline)) void best2_row(acc_t* __restrict__ acc, int32_t* __restrict__ at,
                                                     const scalar_t* __restrict__ x0, acc_t w0, int32_t k0,
                                                     const scalar_t* __restrict__ x1, acc_t w1, int32_t k1,
                                                     int64_t F) {
  for (int64_t f = 0; f < F; ++f) {
    const acc_t a0 = w0 * static_cast<acc_t>(x0[f]), a1 = w1 * static_cast<acc_t>(x1[f]);
    const bool second = (IsMax ? a1 > a0 : a1 < a0) || a0 != a0;
    const acc_t val = second ? a1 : a0;
    const int32_t kk = second ? k1 : k0;
    const bool better = IsMax ? val > acc[f] : val < acc[f];
    acc[f] = better ? val : acc[f];
    at[f] = better ? kk : at[f];
  }
}

// Entries ahead of the current one whose source rows are prefetched.
constexpr int64_t kPrefetchDistance = 4;

template <typename scalar_t, typename index_t>
void gather_scatter_kernel(const at::Tensor& x2, const at::Tensor& rowptr, const at::Tensor& col,
                           const at::Tensor& weight, Reduce reduce, at::Tensor& out, at::Tensor& arg) {
  using acc_t = mg::acc_t<scalar_t>;
  const auto x = rows_of<scalar_t>(x2);
  const int64_t V_src = x2.size(0), F = x2.size(1), V_dst = out.size(0), E = col.numel();
  const int64_t* rp = rowptr.const_data_ptr<int64_t>();
  const index_t* c = col.const_data_ptr<index_t>();
  const scalar_t* w = weight.defined() ? weight.const_data_ptr<scalar_t>() : nullptr;
  // Multi-head weights (E, H): feature f uses head f / C, C = F / H.
  const int64_t H = weight.defined() && weight.dim() == 2 ? weight.size(1) : 1, C = H > 0 ? F / H : F;
  scalar_t* o = out.mutable_data_ptr<scalar_t>();
  int64_t* a = (reduce == Reduce::Max || reduce == Reduce::Min) ? arg.mutable_data_ptr<int64_t>() : nullptr;
  const int64_t row_bytes = x.cs == 1 ? F * static_cast<int64_t>(sizeof(scalar_t)) : 0;

  at::parallel_for(0, V_dst, grain_for(E, V_dst, F), [&](int64_t v0, int64_t v1) {
    std::vector<acc_t> acc_buf(F);
    acc_t* acc = acc_buf.data();
    std::vector<int32_t> loc_buf(a ? F : 0);
    int32_t* loc = loc_buf.data();
    cpu::dispatch_isa([&] {
    for (int64_t v = v0; v < v1; ++v) {
      int64_t begin, end;
      row_bounds(rp, v, E, &begin, &end);
      scalar_t* orow = o + v * F;
      if (reduce == Reduce::Sum || reduce == Reduce::Mean) {
        for (int64_t f = 0; f < F; ++f) acc[f] = acc_t(0);
        int64_t count = 0;
        int64_t k = begin;
        if (x.cs == 1 && H == 1) {  // two entries per pass: half the accumulator traffic, two rows in flight
          for (; k + 1 < end; k += 2) {
            const int64_t u0 = c[k], u1 = c[k + 1];
            const bool ok0 = u0 >= 0 && u0 < V_src, ok1 = u1 >= 0 && u1 < V_src;
            if (!(ok0 && ok1)) break;  // rare: finish this row in the checked loop below
            count += 2;
            const acc_t w0 = w ? static_cast<acc_t>(w[k]) : acc_t(1);
            const acc_t w1 = w ? static_cast<acc_t>(w[k + 1]) : acc_t(1);
            axpy2_row(acc, x.row(u0), w0, x.row(u1), w1, F);
          }
        }
        for (; k < end; ++k) {
          if (row_bytes && k + kPrefetchDistance < end) {
            const int64_t up = c[k + kPrefetchDistance];
            if (up >= 0 && up < V_src) cpu::prefetch_row(x.row(up), row_bytes);
          }
          const int64_t u = c[k];
          if (u < 0 || u >= V_src) continue;
          ++count;
          const scalar_t* xr = x.row(u);
          for (int64_t h = 0; h < H; ++h) {
            const acc_t wk = w ? static_cast<acc_t>(w[k * H + h]) : acc_t(1);
            if (x.cs == 1) {
              axpy_row(acc + h * C, xr + h * C, wk, C);
            } else {
              for (int64_t f = h * C; f < (h + 1) * C; ++f) acc[f] += wk * static_cast<acc_t>(xr[f * x.cs]);
            }
          }
        }
        const acc_t scale = (reduce == Reduce::Mean && count > 0) ? acc_t(1) / acc_t(count) : acc_t(1);
        for (int64_t f = 0; f < F; ++f) orow[f] = static_cast<scalar_t>(acc[f] * scale);
      } else if (x.cs == 1 && H == 1 && end - begin < std::numeric_limits<int32_t>::max()) {
        // Contiguous rows, one weight per entry: the running best and its entry (an int32 offset from `begin`, so
        // value and index lanes have the same width) update in one vectorized pass per entry.
        int64_t* arow = a + v * F;
        int32_t* at = loc;
        const bool is_max = reduce == Reduce::Max;
        bool first = true;
        int64_t k = begin;
        for (; k < end; ++k) {  // the first valid entry initializes the running best
          const int64_t u = c[k];
          if (u < 0 || u >= V_src) continue;
          const scalar_t* xr = x.row(u);
          const acc_t wk = w ? static_cast<acc_t>(w[k]) : acc_t(1);
          for (int64_t f = 0; f < F; ++f) {
            acc[f] = wk * static_cast<acc_t>(xr[f]);
            at[f] = static_cast<int32_t>(k - begin);
          }
          first = false;
          ++k;
          break;
        }
        for (; k + 1 < end; k += 2) {  // then two entries per pass while both are in range
          const int64_t u0 = c[k], u1 = c[k + 1];
          if (!(u0 >= 0 && u0 < V_src && u1 >= 0 && u1 < V_src)) break;  // rare: the checked loop below
          const acc_t w0 = w ? static_cast<acc_t>(w[k]) : acc_t(1);
          const acc_t w1 = w ? static_cast<acc_t>(w[k + 1]) : acc_t(1);
          const int32_t k0 = static_cast<int32_t>(k - begin), k1 = k0 + 1;
          if (is_max) {
            best2_row<true>(acc, at, x.row(u0), w0, k0, x.row(u1), w1, k1, F);
          } else {
            best2_row<false>(acc, at, x.row(u0), w0, k0, x.row(u1), w1, k1, F);
          }
        }
        for (; k < end; ++k) {
          const int64_t u = c[k];
          if (u < 0 || u >= V_src) continue;
          if (row_bytes && k + kPrefetchDistance < end) {
            const int64_t up = c[k + kPrefetchDistance];
            if (up >= 0 && up < V_src) cpu::prefetch_row(x.row(up), row_bytes);
          }
          const scalar_t* xr = x.row(u);
          const acc_t wk = w ? static_cast<acc_t>(w[k]) : acc_t(1);
          const int32_t kk = static_cast<int32_t>(k - begin);  // the first loop above already set the running best
          if (is_max) {
            best_row<true>(acc, at, xr, wk, kk, F);
          } else {
            best_row<false>(acc, at, xr, wk, kk, F);
          }
        }
        if (first) {  // no entries: 0, arg -1
          for (int64_t f = 0; f < F; ++f) {
            orow[f] = scalar_t(0);
            arow[f] = -1;
          }
        } else {
          for (int64_t f = 0; f < F; ++f) {
            orow[f] = static_cast<scalar_t>(acc[f]);
            arow[f] = begin + at[f];
          }
        }
      } else {
        const bool is_max = reduce == Reduce::Max;
        int64_t* arow = a + v * F;
        bool first = true;
        for (int64_t k = begin; k < end; ++k) {
          const int64_t u = c[k];
          if (u < 0 || u >= V_src) continue;
          const scalar_t* xr = x.row(u);
          const scalar_t* wr = w ? w + k * H : nullptr;
          if (first) {
            for (int64_t f = 0; f < F; ++f) {
              acc[f] = (wr ? static_cast<acc_t>(wr[f / C]) : acc_t(1)) * static_cast<acc_t>(xr[f * x.cs]);
              arow[f] = k;
            }
            first = false;
            continue;
          }
          // Strict comparison: the first entry in CSR order wins ties (deterministic).
          for (int64_t f = 0; f < F; ++f) {
            const acc_t val = (wr ? static_cast<acc_t>(wr[f / C]) : acc_t(1)) * static_cast<acc_t>(xr[f * x.cs]);
            const bool better = is_max ? val > acc[f] : val < acc[f];
            acc[f] = better ? val : acc[f];
            arow[f] = better ? k : arow[f];
          }
        }
        if (first) {  // no entries: 0, arg -1
          for (int64_t f = 0; f < F; ++f) {
            orow[f] = scalar_t(0);
            arow[f] = -1;
          }
        } else {
          for (int64_t f = 0; f < F; ++f) orow[f] = static_cast<scalar_t>(acc[f]);
        }
      }
    }
    });
  });
}

std::tuple<at::Tensor, at::Tensor> gather_scatter_cpu(const at::Tensor& x, const at::Tensor& rowptr,
                                                      const at::Tensor& col, const std::optional<at::Tensor>& weight,
                                                      c10::string_view reduce_name,
                                                      const std::optional<at::Tensor>& rowptr_t,
                                                      const std::optional<at::Tensor>& col_t,
                                                      const std::optional<at::Tensor>& eid_t) {
  check_gather_scatter_inputs(x, rowptr, col, rowptr_t, col_t, eid_t);
  const Reduce reduce = parse_reduce(std::string_view(reduce_name.data(), reduce_name.size()));
  const at::Tensor w = contiguous_weight(weight, col, x);
  const int64_t V_dst = rowptr.size(0) - 1, F = x.size(1);
  auto out = cpu::pooled_empty({V_dst, F}, x.options());
  const bool with_arg = reduce == Reduce::Max || reduce == Reduce::Min;
  auto arg = cpu::pooled_empty({with_arg ? V_dst : 0, with_arg ? F : 0}, x.options().dtype(at::kLong));
  if (out.numel() == 0) return {out, arg};
  const auto rp = rowptr.contiguous();
  const auto c = col.contiguous();
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_scatter_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "gather_scatter_cpu", [&] {
      gather_scatter_kernel<scalar_t, index_t>(x, rp, c, w, reduce, out, arg);
    });
  });
  return {out, arg};
}

// <a, b> over C contiguous channels: eight lane sums (lane l takes the channels c = l mod 8 of the full groups of
// eight), added in lane order, then the tail. The AVX2 loop below computes the same sums in the same order.
template <typename scalar_t, typename acc_t>
inline acc_t dot_lanes(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b, int64_t C) {
  acc_t lane[8] = {};
  int64_t c = 0;
  for (; c + 8 <= C; c += 8)
    for (int l = 0; l < 8; ++l) lane[l] += static_cast<acc_t>(a[c + l]) * static_cast<acc_t>(b[c + l]);
  acc_t s = 0;
  for (int l = 0; l < 8; ++l) s += lane[l];
  for (; c < C; ++c) s += static_cast<acc_t>(a[c]) * static_cast<acc_t>(b[c]);
  return s;
}

#if MG_HAVE_AVX2
// Rows [v0, v1) of edge_dot for contiguous float32 rows, the source rows of upcoming entries prefetched.
template <typename index_t>
__attribute__((target("avx2"))) void edge_dot_rows_avx2(const float* A, int64_t as, const float* B, int64_t bs,
                                                        const int64_t* rp, const index_t* cp, int64_t E,
                                                        int64_t V_src, int64_t H, int64_t C, float* o, int64_t v0,
                                                        int64_t v1) {
  const int64_t bytes = H * C * static_cast<int64_t>(sizeof(float));
  for (int64_t v = v0; v < v1; ++v) {
    int64_t begin, end;
    row_bounds(rp, v, E, &begin, &end);
    const float* ar = A + v * as;
    for (int64_t k = begin; k < end; ++k) {
      if (k + kPrefetchDistance < end) {
        const int64_t up = cp[k + kPrefetchDistance];
        if (up >= 0 && up < V_src) cpu::prefetch_row(B + up * bs, bytes);
      }
      const int64_t u = cp[k];
      if (u < 0 || u >= V_src) {
        for (int64_t h = 0; h < H; ++h) o[k * H + h] = 0.0f;
        continue;
      }
      const float* br = B + u * bs;
      for (int64_t h = 0; h < H; ++h) {
        const float* x = ar + h * C;
        const float* y = br + h * C;
        __m256 acc = _mm256_setzero_ps();
        int64_t c = 0;
        for (; c + 8 <= C; c += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(x + c), _mm256_loadu_ps(y + c)));
        alignas(32) float lane[8];
        _mm256_store_ps(lane, acc);
        float s = 0;
        for (int l = 0; l < 8; ++l) s += lane[l];
        for (; c < C; ++c) s += x[c] * y[c];
        o[k * H + h] = s;
      }
    }
  }
}
#endif

// The AVX2 rows of edge_dot when they apply (float32, contiguous rows, an AVX2 CPU); false otherwise.
template <typename scalar_t, typename index_t>
bool edge_dot_rows_fast(const Rows<scalar_t>& A, const Rows<scalar_t>& B, const int64_t* rp, const index_t* cp,
                        int64_t E, int64_t V_src, int64_t H, int64_t C, scalar_t* o, int64_t v0, int64_t v1) {
#if MG_HAVE_AVX2
  if constexpr (std::is_same_v<scalar_t, float>) {
    if (A.cs == 1 && B.cs == 1 && cpu::has_avx2()) {
      edge_dot_rows_avx2<index_t>(A.base, A.rs, B.base, B.rs, rp, cp, E, V_src, H, C, o, v0, v1);
      return true;
    }
  }
#endif
  return false;
}

at::Tensor edge_dot_cpu(const at::Tensor& a, const at::Tensor& b, const at::Tensor& rowptr, const at::Tensor& col,
                        int64_t heads, const std::optional<at::Tensor>& rowptr_t,
                        const std::optional<at::Tensor>& col_t, const std::optional<at::Tensor>& eid_t) {
  check_edge_dot_inputs(a, b, rowptr, col, heads, rowptr_t, col_t, eid_t);
  const int64_t E = col.numel(), F = a.size(1), V_dst = a.size(0), V_src = b.size(0), H = heads, C = F / H;
  auto out = heads == 1 ? at::empty({E}, a.options()) : at::empty({E, H}, a.options());
  if (E == 0) return out;
  const auto rp = rowptr.contiguous();
  const auto c = col.contiguous();
  out.zero_();  // entries outside every row (malformed rowptr) stay 0
  MG_DISPATCH_FLOATING_TYPES(a.scalar_type(), "edge_dot_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "edge_dot_cpu", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      const auto A = rows_of<scalar_t>(a);
      const auto B = rows_of<scalar_t>(b);
      const int64_t* rpp = rp.const_data_ptr<int64_t>();
      const index_t* cp = c.const_data_ptr<index_t>();
      scalar_t* o = out.mutable_data_ptr<scalar_t>();
      at::parallel_for(0, V_dst, grain_for(E, V_dst, F), [&](int64_t v0, int64_t v1) {
        if (edge_dot_rows_fast<scalar_t, index_t>(A, B, rpp, cp, E, V_src, H, C, o, v0, v1)) return;
        for (int64_t v = v0; v < v1; ++v) {
          int64_t begin, end;
          row_bounds(rpp, v, E, &begin, &end);
          const scalar_t* ar = A.row(v);
          for (int64_t k = begin; k < end; ++k) {
            const int64_t u = cp[k];
            const bool ok = u >= 0 && u < V_src;
            const scalar_t* br = ok ? B.row(u) : nullptr;
            for (int64_t h = 0; h < H; ++h) {
              acc_t s = 0;
              if (ok) {
                if (A.cs == 1 && B.cs == 1) {
                  s = dot_lanes<scalar_t, acc_t>(ar + h * C, br + h * C, C);
                } else {
                  for (int64_t f = h * C; f < (h + 1) * C; ++f)
                    s += static_cast<acc_t>(ar[f * A.cs]) * static_cast<acc_t>(br[f * B.cs]);
                }
              }
              o[k * H + h] = static_cast<scalar_t>(s);
            }
          }
        }
      });
    });
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor> gather_scatter_arg_backward_cpu(
    const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& arg, const at::Tensor& rowptr_t,
    const at::Tensor& col_t, const at::Tensor& eid_t, const std::optional<at::Tensor>& weight,
    bool compute_grad_weight) {
  check_arg_backward_inputs(grad_out, x, arg, rowptr_t, col_t, eid_t);
  const int64_t V_src = x.size(0), V_dst = grad_out.size(0), F = x.size(1), E = col_t.numel();
  const auto ar = arg.contiguous();
  const at::Tensor w = contiguous_weight(weight, col_t, x);
  const int64_t H = w.defined() && w.dim() == 2 ? w.size(1) : 1, C = F / H;
  auto grad_x = cpu::pooled_empty({V_src, F}, x.options());
  auto grad_w = zero_grad_weight(w, compute_grad_weight, E, x.options());
  if (grad_x.numel() == 0 && !compute_grad_weight) return {grad_x, grad_w};
  const auto rp = rowptr_t.contiguous();
  const auto c = col_t.contiguous();
  const auto eid = eid_t.contiguous();
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "gather_scatter_arg_backward_cpu", [&] {
    MG_DISPATCH_INDEX_TYPES(c.scalar_type(), "gather_scatter_arg_backward_cpu", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      const auto G = rows_of<scalar_t>(grad_out);
      const auto X = rows_of<scalar_t>(x);
      const int64_t* argp = ar.const_data_ptr<int64_t>();
      const int64_t* rpp = rp.const_data_ptr<int64_t>();
      const index_t* cp = c.const_data_ptr<index_t>();
      const int64_t* ep = eid.const_data_ptr<int64_t>();
      const scalar_t* wp = w.defined() ? w.const_data_ptr<scalar_t>() : nullptr;
      scalar_t* gx = grad_x.mutable_data_ptr<scalar_t>();
      scalar_t* gw = compute_grad_weight ? grad_w.mutable_data_ptr<scalar_t>() : nullptr;
      const int threads = at::get_num_threads();
      if (!gw && G.cs == 1 && V_src > 0 && E > static_cast<int64_t>(threads) * V_dst) {
        // Many entries per output row: walk the (V_dst, F) winners instead of every entry's whole arg row (which
        // reads E * F indices). Each task owns a range of source rows and scans all winners in row order, so every
        // grad_x[u, f] still sums its contributions in increasing v: the same order as the transposed walk below,
        // whatever the thread count. src_of[k] is entry k's source row (-1: none, or out of range).
        std::vector<int64_t> src_of(E, -1);
        at::parallel_for(0, V_src, grain_for(E, V_src, 1), [&](int64_t u0, int64_t u1) {
          for (int64_t u = u0; u < u1; ++u) {
            int64_t begin, end;
            row_bounds(rpp, u, E, &begin, &end);
            for (int64_t t = begin; t < end; ++t) {
              const int64_t v = cp[t], e = ep[t];
              if (v >= 0 && v < V_dst && e >= 0 && e < E) src_of[e] = u;
            }
          }
        });
        const int64_t chunk = (V_src + threads - 1) / threads;
        at::parallel_for(0, threads, 1, [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t u0 = t * chunk, u1 = std::min(V_src, u0 + chunk);
            if (u0 >= u1) continue;
            // float / double accumulate in grad_x itself; half types in a float buffer of the task's rows
            constexpr bool in_place = std::is_same_v<acc_t, scalar_t>;
            std::vector<acc_t> buf(in_place ? 0 : static_cast<size_t>((u1 - u0) * F), acc_t(0));
            acc_t* acc = in_place ? reinterpret_cast<acc_t*>(gx + u0 * F) : buf.data();
            if constexpr (in_place) std::fill(acc, acc + (u1 - u0) * F, acc_t(0));
            for (int64_t v = 0; v < V_dst; ++v) {
              const int64_t* arow = argp + v * F;
              const scalar_t* grow = G.row(v);
              for (int64_t f = 0; f < F; ++f) {
                const int64_t k = arow[f];
                if (k < 0 || k >= E) continue;
                const int64_t u = src_of[k];
                if (u < u0 || u >= u1) continue;
                const acc_t we = wp ? static_cast<acc_t>(wp[k * H + f / C]) : acc_t(1);
                acc[(u - u0) * F + f] += we * static_cast<acc_t>(grow[f]);
              }
            }
            if constexpr (!in_place) {
              for (int64_t i = 0; i < (u1 - u0) * F; ++i) gx[u0 * F + i] = static_cast<scalar_t>(acc[i]);
            }
          }
        });
        return;
      }
      at::parallel_for(0, V_src, grain_for(E, V_src, F), [&](int64_t u0, int64_t u1) {
        std::vector<acc_t> acc(F);
        for (int64_t u = u0; u < u1; ++u) {
          std::fill(acc.begin(), acc.end(), acc_t(0));
          int64_t begin, end;
          row_bounds(rpp, u, E, &begin, &end);
          const scalar_t* xr = X.row(u);
          for (int64_t t = begin; t < end; ++t) {
            const int64_t v = cp[t], e = ep[t];
            if (v < 0 || v >= V_dst || e < 0 || e >= E) continue;
            const int64_t* arow = argp + v * F;
            const scalar_t* grow = G.row(v);
            for (int64_t h = 0; h < H; ++h) {
              const acc_t we = wp ? static_cast<acc_t>(wp[e * H + h]) : acc_t(1);
              acc_t dw = 0;
              for (int64_t f = h * C; f < (h + 1) * C; ++f) {
                if (arow[f] == e) {
                  const acc_t g = static_cast<acc_t>(grow[f * G.cs]);
                  acc[f] += we * g;
                  dw += g * static_cast<acc_t>(xr[f * X.cs]);
                }
              }
              if (gw) gw[e * H + h] = static_cast<scalar_t>(dw);
            }
          }
          scalar_t* grow_x = gx + u * F;
          for (int64_t f = 0; f < F; ++f) grow_x[f] = static_cast<scalar_t>(acc[f]);
        }
      });
    });
  });
  return {grad_x, grad_w};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("gather_scatter", &mg::gather_scatter_cpu);
  m.impl("edge_dot", &mg::edge_dot_cpu);
  m.impl("gather_scatter_arg_backward", &mg::gather_scatter_arg_backward_cpu);
}
