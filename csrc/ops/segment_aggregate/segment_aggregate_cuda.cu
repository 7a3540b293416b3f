// CUDA kernels for segment_aggregate (contract in segment_aggregate.h): one thread per (group, channel), walking
// the group's rows once with every requested reduction's state in registers (adjacent threads read adjacent
// channels of the same row: coalesced). The per-element math is segment_aggregate.h's, shared with the CPU. The
// backward's thread takes the mean / log-sum-exp from the forward's stats and writes grad_x[row, channel] for each
// of the group's rows in one pass (mul adds a first pass where its product is 0: the zero count): every element
// has one writer, no atomics; grad_t / grad_p are (V, F) partials summed by ATen. Row bounds are clamped into
// [0, E'], col entries outside [0, E) skipped (no device sync, no out-of-bounds access on malformed input).
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/cuda/CUDAGuard.h>
#include <torch/library.h>

#include <cfloat>

#include "../../common/checks.h"
#include "../../common/cuda_utils.cuh"
#include "../../common/dispatch.h"
#include "../gather_scatter/gather_scatter.h"
#include "segment_aggregate.h"

namespace mg {
namespace {

using aggr::kMaxModes;
using aggr::Mode;

// The requested modes, by value in the kernel's parameters.
struct ModeList {
  int n;
  int m[kMaxModes];
};

ModeList to_list(const std::vector<Mode>& modes) {
  ModeList l{};
  l.n = static_cast<int>(modes.size());
  for (int k = 0; k < l.n; ++k) l.m[k] = static_cast<int>(modes[k]);
  return l;
}

template <typename acc_t>
__device__ inline acc_t lowest() {
  return sizeof(acc_t) == 8 ? static_cast<acc_t>(-DBL_MAX) : static_cast<acc_t>(-FLT_MAX);
}

template <typename scalar_t>
__global__ void segment_aggregate_kernel(const scalar_t* __restrict__ x, const int64_t* __restrict__ rowptr,
                                         const int64_t* __restrict__ col, int64_t num_entries, int64_t V, int64_t E,
                                         int64_t F, ModeList modes, const scalar_t* __restrict__ tv, int64_t nt,
                                         const scalar_t* __restrict__ pv, int64_t np, acc_t<scalar_t> lo,
                                         acc_t<scalar_t> hi, scalar_t* __restrict__ out,
                                         acc_t<scalar_t>* __restrict__ stats, int64_t SB) {
  using acc_t = mg::acc_t<scalar_t>;
  const int K = modes.n;
  MG_CUDA_KERNEL_LOOP(i, V * F) {
    const int64_t v = i / F, f = i - v * F;
    int64_t begin, end;
    row_bounds(rowptr, v, num_entries, &begin, &end);
    const acc_t t = tv ? static_cast<acc_t>(tv[nt == 1 ? 0 : f]) : acc_t(0);
    const acc_t p = pv ? static_cast<acc_t>(pv[np == 1 ? 0 : f]) : acc_t(0);
    acc_t a0[kMaxModes], a1[kMaxModes], a2[kMaxModes];
#pragma unroll
    for (int k = 0; k < kMaxModes; ++k) {
      const Mode m = static_cast<Mode>(modes.m[k]);
      a0[k] = m == Mode::Mul ? acc_t(1) : (m == Mode::Softmax ? lowest<acc_t>() : acc_t(0));
      a1[k] = acc_t(0);
      a2[k] = acc_t(0);
    }
    int64_t n = 0;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t e = col ? col[j] : j;
      if (e < 0 || e >= E) continue;
      const bool first = n == 0;
      ++n;
      const acc_t xv = static_cast<acc_t>(x[e * F + f]);
#pragma unroll
      for (int k = 0; k < kMaxModes; ++k) {
        if (k >= K) break;
        switch (static_cast<Mode>(modes.m[k])) {
          case Mode::Sum:
          case Mode::Mean:
            a0[k] += xv;
            break;
          case Mode::Max:
            a0[k] = aggr::max_step(a0[k], xv, first);
            break;
          case Mode::Min:
            a0[k] = aggr::min_step(a0[k], xv, first);
            break;
          case Mode::Mul:
            a0[k] *= xv;
            break;
          case Mode::Var:
            aggr::welford_step(a0[k], a1[k], xv, acc_t(1) / static_cast<acc_t>(n));
            break;
          case Mode::Softmax: {
            const acc_t z = t * xv;
            aggr::softmax_step(a0[k], a1[k], a2[k], z, xv, exp(aggr::softmax_gap(z, a0[k])));
            break;
          }
          case Mode::PowerMean:
            a0[k] += pow(aggr::clamp_value(xv, lo, hi), p);
            break;
        }
      }
    }
    const acc_t inv_n = n ? acc_t(1) / static_cast<acc_t>(n) : acc_t(0);
    scalar_t* ov = out + v * K * F + f;
    int64_t saved = 0;  // stats column block of the next var / softmax
#pragma unroll
    for (int k = 0; k < kMaxModes; ++k) {
      if (k >= K) break;
      acc_t r = a0[k];
      switch (static_cast<Mode>(modes.m[k])) {
        case Mode::Mean:
        case Mode::PowerMean:
          r = a0[k] * inv_n;
          break;
        case Mode::Max:
        case Mode::Min:
          r = n ? a0[k] : acc_t(0);
          break;
        case Mode::Var:
          r = a1[k] * inv_n;
          stats[v * SB * F + (saved++) * F + f] = n ? a0[k] : acc_t(0);
          break;
        case Mode::Softmax:
          r = n ? a2[k] / a1[k] : acc_t(0);
          stats[v * SB * F + (saved++) * F + f] = n ? a0[k] + log(a1[k]) : acc_t(0);
          break;
        default:
          break;
      }
      ov[k * F] = static_cast<scalar_t>(r);
    }
  }
}

template <typename scalar_t>
__global__ void segment_aggregate_backward_kernel(
    const scalar_t* __restrict__ grad, const scalar_t* __restrict__ x, const scalar_t* __restrict__ out,
    const acc_t<scalar_t>* __restrict__ stats, int64_t SB, const int64_t* __restrict__ rowptr,
    const int64_t* __restrict__ col, int64_t num_entries, int64_t V, int64_t E, int64_t F, ModeList modes,
    const scalar_t* __restrict__ tv, int64_t nt, const scalar_t* __restrict__ pv, int64_t np, acc_t<scalar_t> lo,
    acc_t<scalar_t> hi, bool semi, scalar_t* __restrict__ gx, acc_t<scalar_t>* __restrict__ gt_part,
    acc_t<scalar_t>* __restrict__ gp_part) {
  using acc_t = mg::acc_t<scalar_t>;
  const int K = modes.n;
  MG_CUDA_KERNEL_LOOP(i, V * F) {
    const int64_t v = i / F, f = i - v * F;
    int64_t begin, end;
    row_bounds(rowptr, v, num_entries, &begin, &end);
    const acc_t t = tv ? static_cast<acc_t>(tv[nt == 1 ? 0 : f]) : acc_t(0);
    const acc_t p = pv ? static_cast<acc_t>(pv[np == 1 ? 0 : f]) : acc_t(0);
    int64_t n = 0;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t e = col ? col[j] : j;
      n += e >= 0 && e < E;
    }
    if (n == 0) continue;
    const acc_t inv_n = acc_t(1) / static_cast<acc_t>(n);
    // Per mode: the output gradient g, the output o, the per-group factor a (segment_aggregate_cpu.cpp's
    // group_factor) and the saved statistic s (mean / log-sum-exp).
    acc_t g[kMaxModes], o[kMaxModes], a[kMaxModes], s[kMaxModes];
    bool found[kMaxModes];
    bool mul_zero = false;
    int64_t saved = 0;
#pragma unroll
    for (int k = 0; k < kMaxModes; ++k) {
      const Mode m = static_cast<Mode>(modes.m[k]);
      g[k] = k < K ? static_cast<acc_t>(grad[v * K * F + k * F + f]) : acc_t(0);
      o[k] = k < K ? static_cast<acc_t>(out[v * K * F + k * F + f]) : acc_t(0);
      a[k] = (m == Mode::Mean || m == Mode::PowerMean) ? g[k] * inv_n
             : m == Mode::Var                          ? acc_t(2) * g[k] * inv_n
             : m == Mode::Mul                          ? g[k] * o[k]
                                                       : g[k];
      s[k] = acc_t(0);
      if (k < K && aggr::saved_width(m)) s[k] = stats[v * SB * F + (saved++) * F + f];
      mul_zero = mul_zero || (k < K && m == Mode::Mul && o[k] == acc_t(0));
      found[k] = false;
    }
    // mul with a product of 0: the zero count and the product of the nonzero values (torch.prod's rule).
    acc_t zeros = 0, prod_nonzero = 1;
    if (mul_zero) {
      for (int64_t j = begin; j < end; ++j) {
        const int64_t e = col ? col[j] : j;
        if (e < 0 || e >= E) continue;
        const acc_t xv = static_cast<acc_t>(x[e * F + f]);
        prod_nonzero *= xv == acc_t(0) ? acc_t(1) : xv;
        zeros += xv == acc_t(0) ? acc_t(1) : acc_t(0);
      }
    }
    acc_t dt = 0, dp = 0;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t e = col ? col[j] : j;
      if (e < 0 || e >= E) continue;
      const acc_t xv = static_cast<acc_t>(x[e * F + f]);
      acc_t ga = 0;
#pragma unroll
      for (int k = 0; k < kMaxModes; ++k) {
        if (k >= K) break;
        switch (static_cast<Mode>(modes.m[k])) {
          case Mode::Sum:
          case Mode::Mean:
            ga += a[k];
            break;
          case Mode::Max:
          case Mode::Min: {
            const bool hit = !found[k] && xv == o[k];
            ga += hit ? a[k] : acc_t(0);
            found[k] = found[k] || hit;
            break;
          }
          case Mode::Mul:
            ga += aggr::mul_grad_x(g[k], a[k], xv, zeros, prod_nonzero);
            break;
          case Mode::Var:
            ga += aggr::var_grad_x(a[k], xv, s[k], semi);
            break;
          case Mode::Softmax: {
            const acc_t w = exp(t * xv - s[k]);
            const acc_t dev = xv - o[k];
            ga += aggr::softmax_grad_x(a[k], w, t, dev, semi);
            dt += a[k] * w * xv * dev;
            break;
          }
          case Mode::PowerMean: {
            const acc_t c = aggr::clamp_value(xv, lo, hi);
            const acc_t pw = pow(c, p);
            const acc_t dc = c > acc_t(0) ? aggr::powermean_dc(p, pw, c) : p * pow(c, p - acc_t(1));
            const bool inside = xv >= lo && xv <= hi;
            ga += inside ? a[k] * dc : acc_t(0);
            dp += c > acc_t(0) ? a[k] * pw * log(c) : acc_t(0);
            break;
          }
        }
      }
      gx[e * F + f] = static_cast<scalar_t>(ga);
    }
    if (gt_part) gt_part[v * F + f] = dt;
    if (gp_part) gp_part[v * F + f] = dp;
  }
}

std::tuple<at::Tensor, at::Tensor> segment_aggregate_cuda(const at::Tensor& x, const at::Tensor& rowptr,
                                                          const std::optional<at::Tensor>& col,
                                                          c10::ArrayRef<c10::string_view> reduce,
                                                          const std::optional<at::Tensor>& t,
                                                          const std::optional<at::Tensor>& p,
                                                          std::optional<double> clamp_min,
                                                          std::optional<double> clamp_max, bool semi_grad) {
  auto modes = aggr::check_inputs(x, rowptr, col, reduce, t, p);
  (void)semi_grad;
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t V = rowptr.size(0) - 1, E = x.size(0), F = x.size(1), K = static_cast<int64_t>(modes.size());
  const int64_t SB = aggr::saved_blocks(modes);
  auto out = at::empty({V, K * F}, x.options());
  auto stats = at::empty({V, SB * F}, x.options().dtype(aggr::stats_dtype(x)));
  if (out.numel() == 0) return {out, stats};
  const auto x2 = x.contiguous();
  const auto rp = rowptr.contiguous();
  at::Tensor col_h, t_h, p_h;
  const int64_t* c = aggr::optional_data<int64_t>(col, col_h);
  const int64_t entries = c ? col->size(0) : E;
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "segment_aggregate_cuda", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* tp = aggr::optional_data<scalar_t>(t, t_h);
    const scalar_t* pp = aggr::optional_data<scalar_t>(p, p_h);
    const acc_t lo = clamp_min ? static_cast<acc_t>(*clamp_min) : -INFINITY;
    const acc_t hi = clamp_max ? static_cast<acc_t>(*clamp_max) : INFINITY;
    segment_aggregate_kernel<scalar_t><<<cuda::num_blocks(V * F), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
        x2.const_data_ptr<scalar_t>(), rp.const_data_ptr<int64_t>(), c, entries, V, E, F, to_list(modes), tp,
        tp ? t->size(0) : 0, pp, pp ? p->size(0) : 0, lo, hi, out.mutable_data_ptr<scalar_t>(),
        SB ? stats.mutable_data_ptr<acc_t>() : nullptr, SB);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {out, stats};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> segment_aggregate_backward_cuda(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& out, const at::Tensor& stats,
    const at::Tensor& rowptr, const std::optional<at::Tensor>& col, c10::ArrayRef<c10::string_view> reduce,
    const std::optional<at::Tensor>& t, const std::optional<at::Tensor>& p, std::optional<double> clamp_min,
    std::optional<double> clamp_max, bool semi_grad) {
  auto modes = aggr::check_inputs(x, rowptr, col, reduce, t, p);
  const int64_t V = rowptr.size(0) - 1, E = x.size(0), F = x.size(1);
  const int64_t SB = aggr::saved_blocks(modes);
  aggr::check_backward_inputs(grad, x, out, stats, rowptr, modes);
  const c10::cuda::CUDAGuard guard(x.device());
  auto grad_x = at::zeros({E, F}, x.options());  // rows col does not list get 0
  const auto acc_opts = x.options().dtype(aggr::stats_dtype(x));
  at::Tensor gt_part, gp_part;
  if (t.has_value() && t->defined() && !semi_grad) gt_part = at::zeros({V, F}, acc_opts);
  if (p.has_value() && p->defined()) gp_part = at::zeros({V, F}, acc_opts);
  if (E * F > 0 && V > 0) {
    const auto x2 = x.contiguous();
    const auto g2 = grad.contiguous();
    const auto o2 = out.contiguous();
    const auto s2 = stats.contiguous();
    const auto rp = rowptr.contiguous();
    at::Tensor col_h, t_h, p_h;
    const int64_t* c = aggr::optional_data<int64_t>(col, col_h);
    const int64_t entries = c ? col->size(0) : E;
    MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "segment_aggregate_backward_cuda", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      const scalar_t* tp = aggr::optional_data<scalar_t>(t, t_h);
      const scalar_t* pp = aggr::optional_data<scalar_t>(p, p_h);
      const acc_t lo = clamp_min ? static_cast<acc_t>(*clamp_min) : -INFINITY;
      const acc_t hi = clamp_max ? static_cast<acc_t>(*clamp_max) : INFINITY;
      segment_aggregate_backward_kernel<scalar_t>
          <<<cuda::num_blocks(V * F), cuda::kThreads, 0, c10::cuda::getCurrentCUDAStream()>>>(
              g2.const_data_ptr<scalar_t>(), x2.const_data_ptr<scalar_t>(), o2.const_data_ptr<scalar_t>(),
              SB ? s2.const_data_ptr<acc_t>() : nullptr, SB, rp.const_data_ptr<int64_t>(), c, entries, V, E, F,
              to_list(modes), tp, tp ? t->size(0) : 0, pp, pp ? p->size(0) : 0, lo, hi, semi_grad,
              grad_x.mutable_data_ptr<scalar_t>(),
              gt_part.defined() ? gt_part.mutable_data_ptr<acc_t>() : nullptr,
              gp_part.defined() ? gp_part.mutable_data_ptr<acc_t>() : nullptr);
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    });
  }
  return {grad_x, aggr::param_grad(gt_part, t, x), aggr::param_grad(gp_part, p, x)};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CUDA, m) {
  m.impl("segment_aggregate", &mg::segment_aggregate_cuda);
  m.impl("segment_aggregate_backward", &mg::segment_aggregate_backward_cuda);
}
