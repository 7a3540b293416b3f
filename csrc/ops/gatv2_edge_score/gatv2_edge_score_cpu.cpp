// CPU kernels for gatv2_edge_score (contract in gatv2_edge_score.h). The forward runs edges in parallel; the
// backward runs a destination pass (grad_x_r, grad_x_e, grad_att partials) and a source pass (grad_x_l) over the
// CSRs, each output row written by one task: no atomics, no per-thread copies of the V x H x C grads. Rows are
// split into ranges of about equal work (a function of the row pointer only, so the grad_att partial sums, one
// per range, are added in the same order whatever the thread count).
//
// float32 runs AVX2 loops (explicit intrinsics: the data-dependent leaky_relu select as a blend, 8 channels per
// instruction, the rows of upcoming edges prefetched), the other dtypes and CPUs without AVX2 the portable loops.
// Both compute every channel with the same operations in the same order (8 lane sums added in lane order, then
// the tail), so their results are bit-identical.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "../../common/avx2.h"
#include "../../common/checks.h"
#include "../../common/cpu_kernels.h"
#include "../../common/cpu_pool.h"
#include "../../common/dispatch.h"
#include "../gather_scatter/gather_scatter.h"
#include "gatv2_edge_score.h"

namespace mg {
namespace {

using gatv2::leaky;
using gatv2::leaky_grad;

// Entries ahead of the current one whose rows are prefetched (twice that for the indices that locate them).
constexpr int64_t kAhead = 4;

struct Sizes {
  int64_t V_src, V_dst, E, H, C;
  int64_t HC() const { return H * C; }
};

// The pointers a pass reads and writes (any output may be null).
template <typename scalar_t>
struct Pass {
  using acc_t = mg::acc_t<scalar_t>;
  const scalar_t *g, *xl, *xr, *xe;
  const acc_t* att;
  const int64_t *other, *ptr, *perm;  // other: src (destination pass) or dst (source pass) of each edge
  Sizes n;
  acc_t slope;
  scalar_t *grad_rows, *ge;  // grad_x_r or grad_x_l rows; grad_x_e rows (destination pass only)
};

// ---------------------------------------------------------------------- portable loops (every dtype)

// sum over c < C of w[c] * leaky_relu(a[c] + b[c] (+ e[c])): eight lane sums (lane l takes the channels c = l mod 8
// of the full groups of eight), added in lane order, then the tail.
template <bool kEdge, typename scalar_t, typename acc_t>
inline acc_t score_head(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b,
                        const scalar_t* __restrict__ e, const acc_t* __restrict__ w, int64_t C, acc_t slope) {
  constexpr int64_t L = 8;
  acc_t lane[L] = {};
  int64_t c = 0;
  for (; c + L <= C; c += L) {
    for (int64_t l = 0; l < L; ++l) {
      acc_t z = static_cast<acc_t>(a[c + l]) + static_cast<acc_t>(b[c + l]);
      if constexpr (kEdge) z = z + static_cast<acc_t>(e[c + l]);
      lane[l] += w[c + l] * leaky(z, slope);
    }
  }
  acc_t s = 0;
  for (int64_t l = 0; l < L; ++l) s += lane[l];
  for (; c < C; ++c) {
    acc_t z = static_cast<acc_t>(a[c]) + static_cast<acc_t>(b[c]);
    if constexpr (kEdge) z = z + static_cast<acc_t>(e[c]);
    s += w[c] * leaky(z, slope);
  }
  return s;
}

// One edge's head h (C channels): d = grad * att * leaky_relu'(z); acc += d; ger = d (when non-null);
// ap += grad * leaky_relu(z) (when non-null).
template <bool kEdge, typename scalar_t, typename acc_t>
inline void grad_head(const scalar_t* __restrict__ a, const scalar_t* __restrict__ b, const scalar_t* __restrict__ x,
                      const acc_t* __restrict__ w, acc_t gh, acc_t slope, int64_t C, acc_t* __restrict__ acc,
                      scalar_t* __restrict__ ger, acc_t* __restrict__ ap) {
  for (int64_t c = 0; c < C; ++c) {
    acc_t z = static_cast<acc_t>(a[c]) + static_cast<acc_t>(b[c]);
    if constexpr (kEdge) z = z + static_cast<acc_t>(x[c]);
    const acc_t d = gh * w[c] * leaky_grad(z, slope);
    acc[c] += d;
    if (ger) ger[c] = static_cast<scalar_t>(d);
    if (ap) ap[c] += gh * leaky(z, slope);
  }
}

template <bool kEdge, typename scalar_t>
void forward_edges(const scalar_t* xl, const scalar_t* xr, const scalar_t* xe, const acc_t<scalar_t>* att,
                   const int64_t* src, const int64_t* dst, Sizes n, acc_t<scalar_t> slope, scalar_t* out, int64_t e0,
                   int64_t e1) {
  const int64_t HC = n.HC();
  for (int64_t e = e0; e < e1; ++e) {
    const int64_t u = src[e], v = dst[e];
    for (int64_t h = 0; h < n.H; ++h) {
      const int64_t o = h * n.C;
      out[e * n.H + h] = static_cast<scalar_t>(
          score_head<kEdge>(xl + u * HC + o, xr + v * HC + o, kEdge ? xe + e * HC + o : nullptr, att + o, n.C, slope));
    }
  }
}

// Rows [r0, r1) of a pass. kDst: the destination pass (row v's own features are x_r[v], each entry's other side is
// x_l[src[e]]); else the source pass (x_l[u], the other side x_r[dst[e]]). ap: this range's grad_att partial sums.
template <bool kDst, bool kEdge, typename scalar_t>
void pass_rows(const Pass<scalar_t>& p, int64_t r0, int64_t r1, acc_t<scalar_t>* acc, acc_t<scalar_t>* ap) {
  using acc_t = mg::acc_t<scalar_t>;
  const Sizes n = p.n;
  const int64_t HC = n.HC();
  const scalar_t* own = kDst ? p.xr : p.xl;
  const scalar_t* oth = kDst ? p.xl : p.xr;
  for (int64_t r = r0; r < r1; ++r) {
    std::fill(acc, acc + HC, acc_t(0));
    int64_t begin, end;
    row_bounds(p.ptr, r, n.E, &begin, &end);
    const scalar_t* mine = own + r * HC;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t e = p.perm[k];
      if (e < 0 || e >= n.E) continue;
      const scalar_t* other = oth + p.other[e] * HC;
      const scalar_t* x = kEdge ? p.xe + e * HC : nullptr;
      scalar_t* ger = p.ge ? p.ge + e * HC : nullptr;
      for (int64_t h = 0; h < n.H; ++h) {
        const int64_t o = h * n.C;
        const scalar_t* a = kDst ? other + o : mine + o;
        const scalar_t* b = kDst ? mine + o : other + o;
        grad_head<kEdge>(a, b, kEdge ? x + o : nullptr, p.att + o, static_cast<acc_t>(p.g[e * n.H + h]), p.slope,
                         n.C, acc + o, ger ? ger + o : nullptr, ap ? ap + o : nullptr);
      }
    }
    if (p.grad_rows) {
      scalar_t* out = p.grad_rows + r * HC;
      for (int64_t i = 0; i < HC; ++i) out[i] = static_cast<scalar_t>(acc[i]);
    }
  }
}

// ---------------------------------------------------------------------- AVX2 loops (float32)
#if MG_HAVE_AVX2

#define MG_AVX2 __attribute__((target("avx2"), always_inline)) inline

// leaky_relu(z) = z > 0 ? z : z * slope, and leaky_relu'(z) = z > 0 ? 1 : slope, as blends (ordered compare: NaN
// takes the slope branch, as the scalar select does).
MG_AVX2 __m256 positive8(__m256 z) { return _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GT_OQ); }
MG_AVX2 __m256 leaky8(__m256 z, __m256 pos, __m256 slope) {
  return _mm256_blendv_ps(_mm256_mul_ps(z, slope), z, pos);
}

template <bool kEdge>
MG_AVX2 __m256 z8(const float* a, const float* b, const float* x) {
  __m256 z = _mm256_add_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(b));
  if constexpr (kEdge) z = _mm256_add_ps(z, _mm256_loadu_ps(x));
  return z;
}

template <bool kEdge>
MG_AVX2 float score_head_avx2(const float* a, const float* b, const float* e, const float* w, int64_t C,
                              float slope) {
  const __m256 sv = _mm256_set1_ps(slope);
  __m256 lanes = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const __m256 z = z8<kEdge>(a + c, b + c, kEdge ? e + c : nullptr);
    lanes = _mm256_add_ps(lanes, _mm256_mul_ps(_mm256_loadu_ps(w + c), leaky8(z, positive8(z), sv)));
  }
  alignas(32) float lane[8];
  _mm256_store_ps(lane, lanes);
  float s = 0;
  for (int l = 0; l < 8; ++l) s += lane[l];
  for (; c < C; ++c) {
    float z = a[c] + b[c];
    if constexpr (kEdge) z = z + e[c];
    s += w[c] * leaky(z, slope);
  }
  return s;
}

template <bool kEdge>
MG_AVX2 void grad_head_avx2(const float* a, const float* b, const float* x, const float* w, float gh, float slope,
                            int64_t C, float* acc, float* ger, float* ap) {
  const __m256 sv = _mm256_set1_ps(slope), one = _mm256_set1_ps(1.0f), ghv = _mm256_set1_ps(gh);
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const __m256 z = z8<kEdge>(a + c, b + c, kEdge ? x + c : nullptr);
    const __m256 pos = positive8(z);
    const __m256 d = _mm256_mul_ps(_mm256_mul_ps(ghv, _mm256_loadu_ps(w + c)), _mm256_blendv_ps(sv, one, pos));
    _mm256_storeu_ps(acc + c, _mm256_add_ps(_mm256_loadu_ps(acc + c), d));
    if (ger) _mm256_storeu_ps(ger + c, d);
    if (ap) _mm256_storeu_ps(ap + c, _mm256_add_ps(_mm256_loadu_ps(ap + c), _mm256_mul_ps(ghv, leaky8(z, pos, sv))));
  }
  for (; c < C; ++c) {
    float z = a[c] + b[c];
    if constexpr (kEdge) z = z + x[c];
    const float d = gh * w[c] * leaky_grad(z, slope);
    acc[c] += d;
    if (ger) ger[c] = d;
    if (ap) ap[c] += gh * leaky(z, slope);
  }
}

template <bool kEdge>
__attribute__((target("avx2"))) void forward_edges_avx2(const float* xl, const float* xr, const float* xe,
                                                        const float* att, const int64_t* src, const int64_t* dst,
                                                        Sizes n, float slope, float* out, int64_t e0, int64_t e1) {
  const int64_t HC = n.HC(), bytes = HC * static_cast<int64_t>(sizeof(float));
  for (int64_t e = e0; e < e1; ++e) {
    if (e + kAhead < e1) {
      cpu::prefetch_row(xl + src[e + kAhead] * HC, bytes);
      if (dst[e + kAhead] != dst[e + kAhead - 1]) cpu::prefetch_row(xr + dst[e + kAhead] * HC, bytes);
      if constexpr (kEdge) cpu::prefetch_row(xe + (e + kAhead) * HC, bytes);
    }
    const float* a = xl + src[e] * HC;
    const float* b = xr + dst[e] * HC;
    for (int64_t h = 0; h < n.H; ++h) {
      const int64_t o = h * n.C;
      out[e * n.H + h] = score_head_avx2<kEdge>(a + o, b + o, kEdge ? xe + e * HC + o : nullptr, att + o, n.C, slope);
    }
  }
}

template <bool kDst, bool kEdge>
__attribute__((target("avx2"))) void pass_rows_avx2(const Pass<float>& p, int64_t r0, int64_t r1, float* acc,
                                                    float* ap) {
  const Sizes n = p.n;
  const int64_t HC = n.HC(), bytes = HC * static_cast<int64_t>(sizeof(float));
  const float* own = kDst ? p.xr : p.xl;
  const float* oth = kDst ? p.xl : p.xr;
  const int64_t V_oth = kDst ? n.V_src : n.V_dst;
  for (int64_t r = r0; r < r1; ++r) {
    std::fill(acc, acc + HC, 0.0f);
    int64_t begin, end;
    row_bounds(p.ptr, r, n.E, &begin, &end);
    const float* mine = own + r * HC;
    for (int64_t k = begin; k < end; ++k) {
      // The entries ahead: their index and grad lines first, then (once those have arrived) their rows.
      if (k + 2 * kAhead < end) {
        const int64_t f = p.perm[k + 2 * kAhead];
        if (f >= 0 && f < n.E) {
          __builtin_prefetch(p.other + f, 0, 3);
          __builtin_prefetch(p.g + f * n.H, 0, 3);
        }
      }
      if (k + kAhead < end) {
        const int64_t f = p.perm[k + kAhead];
        if (f >= 0 && f < n.E) {
          const int64_t q = p.other[f];
          if (q >= 0 && q < V_oth) cpu::prefetch_row(oth + q * HC, bytes);
          if constexpr (kEdge) cpu::prefetch_row(p.xe + f * HC, bytes);
        }
      }
      const int64_t e = p.perm[k];
      if (e < 0 || e >= n.E) continue;
      const float* other = oth + p.other[e] * HC;
      const float* x = kEdge ? p.xe + e * HC : nullptr;
      float* ger = p.ge ? p.ge + e * HC : nullptr;
      for (int64_t h = 0; h < n.H; ++h) {
        const int64_t o = h * n.C;
        const float* a = kDst ? other + o : mine + o;
        const float* b = kDst ? mine + o : other + o;
        grad_head_avx2<kEdge>(a, b, kEdge ? x + o : nullptr, p.att + o, p.g[e * n.H + h], p.slope, n.C, acc + o,
                              ger ? ger + o : nullptr, ap ? ap + o : nullptr);
      }
    }
    if (p.grad_rows) std::copy(acc, acc + HC, p.grad_rows + r * HC);
  }
}

#undef MG_AVX2
#endif  // MG_HAVE_AVX2

template <typename scalar_t>
constexpr bool avx2_type() {
  return MG_HAVE_AVX2 && std::is_same_v<scalar_t, float>;
}

// ---------------------------------------------------------------------- drivers

// Edges [e0, e1) of the forward.
template <bool kEdge, typename scalar_t>
void forward_range(const scalar_t* xl, const scalar_t* xr, const scalar_t* xe, const acc_t<scalar_t>* att,
                   const int64_t* src, const int64_t* dst, Sizes n, acc_t<scalar_t> slope, scalar_t* out, int64_t e0,
                   int64_t e1) {
#if MG_HAVE_AVX2
  if constexpr (avx2_type<scalar_t>()) {
    if (cpu::has_avx2()) return forward_edges_avx2<kEdge>(xl, xr, xe, att, src, dst, n, slope, out, e0, e1);
  }
#endif
  forward_edges<kEdge, scalar_t>(xl, xr, xe, att, src, dst, n, slope, out, e0, e1);
}

// Splits rows [0, R) into ranges of about equal work (entries + rows, a function of ptr and the sizes only):
// range i is [s[i], s[i + 1]).
std::vector<int64_t> row_ranges(const int64_t* ptr, int64_t R, int64_t E, int64_t HC) {
  const int64_t work = E + R;
  const int64_t count = std::max<int64_t>(1, std::min<int64_t>({R, int64_t{1024}, work * std::max<int64_t>(HC, 1) >> 16}));
  std::vector<int64_t> s(count + 1);
  s[0] = 0;
  s[count] = R;
  // cost(r) = ptr[r] + r is strictly increasing (ptr is non-decreasing: checked on CPU); range i starts at the
  // first row whose cost reaches i * work / count.
  int64_t lo = 0;
  for (int64_t i = 1; i < count; ++i) {
    const int64_t target = static_cast<int64_t>((static_cast<__int128>(work) * i) / count);
    int64_t a = lo, b = R;
    while (a < b) {
      const int64_t m = a + (b - a) / 2;
      if (ptr[m] + m < target) a = m + 1; else b = m;
    }
    s[i] = lo = a;
  }
  return s;
}

// One pass (destination or source) over all rows, in parallel over the row ranges; part (ranges x H*C, or null)
// receives each range's grad_att partial sums.
template <bool kDst, bool kEdge, typename scalar_t>
void run_pass(const Pass<scalar_t>& p, acc_t<scalar_t>* part, const std::vector<int64_t>& ranges) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t HC = p.n.HC(), count = static_cast<int64_t>(ranges.size()) - 1;
  at::parallel_for(0, count, 1, [&](int64_t i0, int64_t i1) {
    std::vector<acc_t> acc_buf(HC);
    for (int64_t i = i0; i < i1; ++i) {
      acc_t* ap = part ? part + i * HC : nullptr;
#if MG_HAVE_AVX2
      if constexpr (avx2_type<scalar_t>()) {
        if (cpu::has_avx2()) {
          pass_rows_avx2<kDst, kEdge>(p, ranges[i], ranges[i + 1], acc_buf.data(), ap);
          continue;
        }
      }
#endif
      pass_rows<kDst, kEdge>(p, ranges[i], ranges[i + 1], acc_buf.data(), ap);
    }
  });
}

at::Tensor gatv2_edge_score_cpu(const at::Tensor& x_l, const at::Tensor& x_r, const std::optional<at::Tensor>& x_e,
                                const at::Tensor& att, const at::Tensor& src, const at::Tensor& dst,
                                double negative_slope, const std::optional<at::Tensor>& dst_ptr,
                                const std::optional<at::Tensor>& dst_perm, const std::optional<at::Tensor>& src_ptr,
                                const std::optional<at::Tensor>& src_perm) {
  gatv2::check_inputs(x_l, x_r, x_e, att, src, dst, dst_ptr, dst_perm, src_ptr, src_perm);
  const Sizes n{x_l.size(0), x_r.size(0), src.size(0), x_l.size(1), x_l.size(2)};
  if (n.E == 0 || n.H == 0 || n.C == 0) return at::zeros({n.E, n.H}, x_l.options());
  auto out = at::empty({n.E, n.H}, x_l.options());
  const auto xl = x_l.contiguous(), xr = x_r.contiguous(), s = src.contiguous(), d = dst.contiguous();
  const bool has_e = gatv2::given(x_e);
  const auto xe = has_e ? x_e->contiguous() : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(xl.scalar_type(), "gatv2_edge_score_cpu", [&] {
    using acc = mg::acc_t<scalar_t>;
    const auto w = att.to(c10::CppTypeToScalarType<acc>::value).contiguous();
    const auto run = [&](auto edge) {
      constexpr bool kEdge = decltype(edge)::value;
      const scalar_t* xlp = xl.const_data_ptr<scalar_t>();
      const scalar_t* xrp = xr.const_data_ptr<scalar_t>();
      const scalar_t* xep = has_e ? xe.const_data_ptr<scalar_t>() : nullptr;
      const acc* wp = w.const_data_ptr<acc>();
      const int64_t* sp = s.const_data_ptr<int64_t>();
      const int64_t* dp = d.const_data_ptr<int64_t>();
      scalar_t* op = out.mutable_data_ptr<scalar_t>();
      const int64_t grain = std::max<int64_t>(1, 16384 / n.HC());
      const acc slope = static_cast<acc>(negative_slope);
      at::parallel_for(0, n.E, grain, [&](int64_t e0, int64_t e1) {
        forward_range<kEdge, scalar_t>(xlp, xrp, xep, wp, sp, dp, n, slope, op, e0, e1);
      });
    };
    has_e ? run(std::true_type{}) : run(std::false_type{});
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> gatv2_edge_score_backward_cpu(
    const at::Tensor& grad, const at::Tensor& x_l, const at::Tensor& x_r, const std::optional<at::Tensor>& x_e,
    const at::Tensor& att, const at::Tensor& src, const at::Tensor& dst, double negative_slope,
    const std::optional<at::Tensor>& dst_ptr, const std::optional<at::Tensor>& dst_perm,
    const std::optional<at::Tensor>& src_ptr, const std::optional<at::Tensor>& src_perm,
    std::array<bool, 4> output_mask) {
  gatv2::Csr csr = gatv2::check_inputs(x_l, x_r, x_e, att, src, dst, dst_ptr, dst_perm, src_ptr, src_perm);
  gatv2::check_grad(grad, x_l, src);
  const Sizes n{x_l.size(0), x_r.size(0), src.size(0), x_l.size(1), x_l.size(2)};
  const bool has_e = gatv2::given(x_e);
  const auto opts = x_l.options();
  const auto none = [&] { return at::empty({0}, opts); };
  at::Tensor gxl = output_mask[0] ? cpu::pooled_empty({n.V_src, n.H, n.C}, opts) : none();
  at::Tensor gxr = output_mask[1] ? cpu::pooled_empty({n.V_dst, n.H, n.C}, opts) : none();
  at::Tensor ge = output_mask[2] && has_e ? at::zeros({n.E, n.H, n.C}, opts) : none();
  at::Tensor gatt = output_mask[3] ? at::zeros({n.H, n.C}, opts) : none();
  if (n.H * n.C == 0) return {gxl.zero_(), gxr.zero_(), ge, gatt};
  if (!csr.defined()) csr = gatv2::build_csr(src.contiguous(), dst.contiguous(), n.V_src, n.V_dst);
  const auto g = grad.contiguous(), xl = x_l.contiguous(), xr = x_r.contiguous();
  const auto s = src.contiguous(), d = dst.contiguous();
  const auto xe = has_e ? x_e->contiguous() : at::Tensor();
  MG_DISPATCH_FLOATING_TYPES(xl.scalar_type(), "gatv2_edge_score_backward_cpu", [&] {
    using acc = mg::acc_t<scalar_t>;
    const auto acc_type = c10::CppTypeToScalarType<acc>::value;
    const auto w = att.to(acc_type).contiguous();
    const int64_t HC = n.HC();
    const Pass<scalar_t> base{g.const_data_ptr<scalar_t>(), xl.const_data_ptr<scalar_t>(),
                              xr.const_data_ptr<scalar_t>(), has_e ? xe.const_data_ptr<scalar_t>() : nullptr,
                              w.const_data_ptr<acc>(), nullptr, nullptr, nullptr, n,
                              static_cast<acc>(negative_slope), nullptr, nullptr};
    const auto run = [&](auto edge) {
      constexpr bool kEdge = decltype(edge)::value;
      if (output_mask[1] || ge.numel() || output_mask[3]) {
        Pass<scalar_t> p = base;
        p.other = s.const_data_ptr<int64_t>();
        p.ptr = csr.dst_ptr.const_data_ptr<int64_t>();
        p.perm = csr.dst_perm.const_data_ptr<int64_t>();
        p.grad_rows = output_mask[1] ? gxr.mutable_data_ptr<scalar_t>() : nullptr;
        p.ge = ge.numel() ? ge.mutable_data_ptr<scalar_t>() : nullptr;
        const auto ranges = row_ranges(p.ptr, n.V_dst, n.E, HC);
        at::Tensor part;
        if (output_mask[3]) part = at::zeros({static_cast<int64_t>(ranges.size()) - 1, HC}, opts.dtype(acc_type));
        run_pass<true, kEdge>(p, part.defined() ? part.mutable_data_ptr<acc>() : nullptr, ranges);
        if (part.defined()) {  // the ranges' partial sums, added in range order
          const acc* pp = part.const_data_ptr<acc>();
          scalar_t* o = gatt.mutable_data_ptr<scalar_t>();
          const int64_t count = part.size(0);
          for (int64_t i = 0; i < HC; ++i) {
            acc t = 0;
            for (int64_t r = 0; r < count; ++r) t += pp[r * HC + i];
            o[i] = static_cast<scalar_t>(t);
          }
        }
      }
      if (output_mask[0]) {
        Pass<scalar_t> p = base;
        p.other = d.const_data_ptr<int64_t>();
        p.ptr = csr.src_ptr.const_data_ptr<int64_t>();
        p.perm = csr.src_perm.const_data_ptr<int64_t>();
        p.grad_rows = gxl.mutable_data_ptr<scalar_t>();
        run_pass<false, kEdge>(p, nullptr, row_ranges(p.ptr, n.V_src, n.E, HC));
      }
    };
    has_e ? run(std::true_type{}) : run(std::false_type{});
  });
  return {gxl, gxr, ge, gatt};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("gatv2_edge_score", &mg::gatv2_edge_score_cpu);
  m.impl("gatv2_edge_score_backward", &mg::gatv2_edge_score_backward_cpu);
}
