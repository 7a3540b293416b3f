// CPU kernels for segment_aggregate (contract in segment_aggregate.h). Groups run in parallel; each task keeps
// the per-channel state of every requested reduction in one small buffer and walks its groups' rows once, every
// reduction updating from the row while it is in L1. The channel loops are branch-free so the compiler
// vectorizes them (AVX2 build picked at run time, cpu_kernels.h); exp / log for float32 are the vectorizable
// ones of fast_math.h.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../common/checks.h"
#include "../../common/cpu_kernels.h"
#include "../../common/cpu_pool.h"
#include "../../common/dispatch.h"
#include "../../common/fast_math.h"
#include "../gather_scatter/gather_scatter.h"
#include "segment_aggregate.h"

namespace mg {
namespace {

using aggr::Mode;

// Groups per parallel task: about 32k row-channels of work each.
inline int64_t groups_per_task(int64_t rows, int64_t groups, int64_t F) {
  const int64_t per_group = std::max<int64_t>(1, (rows / std::max<int64_t>(groups, 1) + 1) * F);
  return std::max<int64_t>(1, 32768 / per_group);
}

// What the kernels share: the modes, their state offsets, t / p expanded to F channels, the clamp bounds.
template <typename acc_t>
struct Setup {
  std::vector<Mode> modes;
  std::vector<int64_t> offset;  // state of mode k starts at offset[k] * F
  int64_t width = 0;            // total state slots per channel
  std::vector<acc_t> t, p;      // (F,) each when used
  acc_t lo, hi;

  template <typename scalar_t>
  Setup(std::vector<Mode> m, int64_t F, const scalar_t* tp, int64_t nt, const scalar_t* pp, int64_t np,
        std::optional<double> cmin, std::optional<double> cmax)
      : modes(std::move(m)),
        lo(cmin ? static_cast<acc_t>(*cmin) : -std::numeric_limits<acc_t>::infinity()),
        hi(cmax ? static_cast<acc_t>(*cmax) : std::numeric_limits<acc_t>::infinity()) {
    for (Mode k : modes) {
      offset.push_back(width);
      width += aggr::state_width(k);
    }
    if (tp) t.assign(F, acc_t(0));
    if (pp) p.assign(F, acc_t(0));
    for (int64_t f = 0; f < F; ++f) {
      if (tp) t[f] = static_cast<acc_t>(tp[nt == 1 ? 0 : f]);
      if (pp) p[f] = static_cast<acc_t>(pp[np == 1 ? 0 : f]);
    }
  }
};

// c^p over a row of clamped values into out; the fast exp(p log c) where c > 0, std::pow elsewhere.
template <typename acc_t>
inline __attribute__((always_inline)) void pow_row(const acc_t* __restrict__ c, const acc_t* __restrict__ p,
                                                   acc_t* __restrict__ out, int64_t F) {
  if constexpr (std::is_same_v<acc_t, float>) {
    bool nonpositive = false;
    for (int64_t f = 0; f < F; ++f) {
      out[f] = cpu::fast_exp(p[f] * cpu::fast_log(c[f]));
      nonpositive |= !(c[f] > 0.0f);
    }
    if (nonpositive)
      for (int64_t f = 0; f < F; ++f)
        if (!(c[f] > 0.0f)) out[f] = std::pow(c[f], p[f]);
  } else {
    for (int64_t f = 0; f < F; ++f) out[f] = std::pow(c[f], p[f]);
  }
}

// ---------------------------------------------------------------------- forward

template <typename scalar_t>
void forward_kernel(const at::Tensor& x2, const int64_t* rp, const int64_t* col, int64_t num_entries,
                    const Setup<acc_t<scalar_t>>& s, at::Tensor& out) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t E = x2.size(0), F = x2.size(1), V = out.size(0), K = static_cast<int64_t>(s.modes.size());
  const scalar_t* x = x2.const_data_ptr<scalar_t>();
  scalar_t* o = out.mutable_data_ptr<scalar_t>();
  at::parallel_for(0, V, groups_per_task(num_entries, V, F), [&](int64_t v0, int64_t v1) {
    std::vector<acc_t> state(s.width * F), row(F), tmp(F), tmp2(F);
    cpu::dispatch_isa([&] {
      for (int64_t v = v0; v < v1; ++v) {
        int64_t begin, end;
        row_bounds(rp, v, num_entries, &begin, &end);
        for (int64_t k = 0; k < K; ++k) {
          acc_t* a = state.data() + s.offset[k] * F;
          const Mode m = s.modes[k];
          for (int64_t f = 0; f < aggr::state_width(m) * F; ++f) a[f] = acc_t(0);
          if (m == Mode::Mul)
            for (int64_t f = 0; f < F; ++f) a[f] = acc_t(1);
          if (m == Mode::Softmax)
            for (int64_t f = 0; f < F; ++f) a[f] = std::numeric_limits<acc_t>::lowest();  // running max
        }
        int64_t n = 0;
        for (int64_t j = begin; j < end; ++j) {
          const int64_t e = col ? col[j] : j;
          if (e < 0 || e >= E) continue;
          const bool first = n == 0;
          ++n;
          const scalar_t* __restrict__ xs = x + e * F;
          acc_t* __restrict__ xr = row.data();
          for (int64_t f = 0; f < F; ++f) xr[f] = static_cast<acc_t>(xs[f]);
          for (int64_t k = 0; k < K; ++k) {
            acc_t* __restrict__ a = state.data() + s.offset[k] * F;
            switch (s.modes[k]) {
              case Mode::Sum:
              case Mode::Mean:
                for (int64_t f = 0; f < F; ++f) a[f] += xr[f];
                break;
              case Mode::Max:
                for (int64_t f = 0; f < F; ++f) a[f] = (first || xr[f] > a[f]) ? xr[f] : a[f];
                break;
              case Mode::Min:
                for (int64_t f = 0; f < F; ++f) a[f] = (first || xr[f] < a[f]) ? xr[f] : a[f];
                break;
              case Mode::Mul:
                for (int64_t f = 0; f < F; ++f) a[f] *= xr[f];
                break;
              case Mode::Var: {  // Welford: mean in a[0:F], sum of squared deviations in a[F:2F]
                const acc_t r = acc_t(1) / static_cast<acc_t>(n);
                acc_t* __restrict__ m2 = a + F;
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t d = xr[f] - a[f];
                  a[f] = a[f] + d * r;
                  m2[f] = m2[f] + d * (xr[f] - a[f]);
                }
                break;
              }
              case Mode::Softmax: {  // running max M, sum of exp(t x - M) S, sum of exp(t x - M) x W
                acc_t* __restrict__ S = a + F;
                acc_t* __restrict__ W = a + 2 * F;
                const acc_t* __restrict__ t = s.t.data();
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t z = t[f] * xr[f];
                  const acc_t nm = z > a[f] ? z : a[f];
                  const acc_t keep = cpu::exp_of(a[f] - nm), w = cpu::exp_of(z - nm);
                  S[f] = S[f] * keep + w;
                  W[f] = W[f] * keep + w * xr[f];
                  a[f] = nm;
                }
                break;
              }
              case Mode::PowerMean: {
                acc_t* __restrict__ c = tmp.data();
                acc_t* __restrict__ pw = tmp2.data();
                for (int64_t f = 0; f < F; ++f) c[f] = std::min(std::max(xr[f], s.lo), s.hi);
                pow_row(c, s.p.data(), pw, F);
                for (int64_t f = 0; f < F; ++f) a[f] += pw[f];
                break;
              }
            }
          }
        }
        const acc_t inv_n = n ? acc_t(1) / static_cast<acc_t>(n) : acc_t(0);
        for (int64_t k = 0; k < K; ++k) {
          const acc_t* a = state.data() + s.offset[k] * F;
          scalar_t* __restrict__ ok = o + v * K * F + k * F;
          switch (s.modes[k]) {
            case Mode::Sum:
            case Mode::Mul:
              for (int64_t f = 0; f < F; ++f) ok[f] = static_cast<scalar_t>(a[f]);
              break;
            case Mode::Mean:
            case Mode::PowerMean:
              for (int64_t f = 0; f < F; ++f) ok[f] = static_cast<scalar_t>(a[f] * inv_n);
              break;
            case Mode::Max:
            case Mode::Min:
              for (int64_t f = 0; f < F; ++f) ok[f] = static_cast<scalar_t>(n ? a[f] : acc_t(0));
              break;
            case Mode::Var:
              for (int64_t f = 0; f < F; ++f) ok[f] = static_cast<scalar_t>(a[F + f] * inv_n);
              break;
            case Mode::Softmax:
              for (int64_t f = 0; f < F; ++f) ok[f] = static_cast<scalar_t>(n ? a[2 * F + f] / a[F + f] : acc_t(0));
              break;
          }
        }
      }
    });
  });
}

at::Tensor segment_aggregate_cpu(const at::Tensor& x, const at::Tensor& rowptr, const std::optional<at::Tensor>& col,
                                 c10::ArrayRef<c10::string_view> reduce, const std::optional<at::Tensor>& t,
                                 const std::optional<at::Tensor>& p, std::optional<double> clamp_min,
                                 std::optional<double> clamp_max, bool semi_grad) {
  auto modes = aggr::check_inputs(x, rowptr, col, reduce, t, p);
  (void)semi_grad;  // a gradient option only
  const int64_t V = rowptr.size(0) - 1, F = x.size(1), K = static_cast<int64_t>(modes.size());
  auto out = cpu::pooled_empty({V, K * F}, x.options());
  if (out.numel() == 0) return out;
  const auto x2 = x.contiguous();
  const auto rp = rowptr.contiguous();
  at::Tensor col_h, t_h, p_h;
  const int64_t* c = aggr::optional_data<int64_t>(col, col_h);
  const int64_t entries = c ? col->size(0) : x.size(0);
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "segment_aggregate_cpu", [&] {
    const scalar_t* tp = aggr::optional_data<scalar_t>(t, t_h);
    const scalar_t* pp = aggr::optional_data<scalar_t>(p, p_h);
    const Setup<mg::acc_t<scalar_t>> s(modes, F, tp, tp ? t->size(0) : 0, pp, pp ? p->size(0) : 0, clamp_min,
                                       clamp_max);
    forward_kernel<scalar_t>(x2, rp.const_data_ptr<int64_t>(), c, entries, s, out);
  });
  return out;
}

// ---------------------------------------------------------------------- backward

template <typename scalar_t>
void backward_kernel(const at::Tensor& g2, const at::Tensor& x2, const at::Tensor& out2, const int64_t* rp,
                     const int64_t* col, int64_t num_entries, const Setup<acc_t<scalar_t>>& s, bool semi,
                     at::Tensor& grad_x, acc_t<scalar_t>* gt_part, acc_t<scalar_t>* gp_part) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t E = x2.size(0), F = x2.size(1), V = out2.size(0), K = static_cast<int64_t>(s.modes.size());
  const scalar_t* x = x2.const_data_ptr<scalar_t>();
  const scalar_t* go = g2.const_data_ptr<scalar_t>();
  const scalar_t* oo = out2.const_data_ptr<scalar_t>();
  scalar_t* gx = grad_x.mutable_data_ptr<scalar_t>();
  bool stats = false;  // a first pass over the group is needed (mean, zero count and product, softmax max / sum)
  for (Mode m : s.modes) stats |= m == Mode::Var || m == Mode::Mul || m == Mode::Softmax;
  at::parallel_for(0, V, groups_per_task(num_entries, V, F), [&](int64_t v0, int64_t v1) {
    std::vector<acc_t> state(s.width * F), row(F), acc(F), tmp(F), tmp2(F);
    std::vector<char> found(K * F);
    cpu::dispatch_isa([&] {
      for (int64_t v = v0; v < v1; ++v) {
        int64_t begin, end;
        row_bounds(rp, v, num_entries, &begin, &end);
        int64_t n = 0;
        for (int64_t j = begin; j < end; ++j) {
          const int64_t e = col ? col[j] : j;
          n += e >= 0 && e < E;
        }
        if (n == 0) continue;
        const acc_t inv_n = acc_t(1) / static_cast<acc_t>(n);
        if (stats) {
          for (int64_t k = 0; k < K; ++k) {
            acc_t* a = state.data() + s.offset[k] * F;
            const Mode m = s.modes[k];
            for (int64_t f = 0; f < aggr::state_width(m) * F; ++f) a[f] = acc_t(0);
            if (m == Mode::Mul)
              for (int64_t f = 0; f < F; ++f) a[f] = acc_t(1);
            if (m == Mode::Softmax)
              for (int64_t f = 0; f < F; ++f) a[f] = std::numeric_limits<acc_t>::lowest();
          }
          for (int64_t j = begin; j < end; ++j) {
            const int64_t e = col ? col[j] : j;
            if (e < 0 || e >= E) continue;
            const scalar_t* __restrict__ xs = x + e * F;
            for (int64_t k = 0; k < K; ++k) {
              acc_t* __restrict__ a = state.data() + s.offset[k] * F;
              if (s.modes[k] == Mode::Var) {  // the sum (the mean below)
                for (int64_t f = 0; f < F; ++f) a[f] += static_cast<acc_t>(xs[f]);
              } else if (s.modes[k] == Mode::Mul) {  // product of the nonzero values, count of the zeros
                acc_t* __restrict__ zeros = a + F;
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t xv = static_cast<acc_t>(xs[f]);
                  a[f] *= xv == acc_t(0) ? acc_t(1) : xv;
                  zeros[f] += xv == acc_t(0) ? acc_t(1) : acc_t(0);
                }
              } else if (s.modes[k] == Mode::Softmax) {  // running max, sum of exp (the forward's recursion)
                acc_t* __restrict__ S = a + F;
                const acc_t* __restrict__ t = s.t.data();
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t z = t[f] * static_cast<acc_t>(xs[f]);
                  const acc_t nm = z > a[f] ? z : a[f];
                  S[f] = S[f] * cpu::exp_of(a[f] - nm) + cpu::exp_of(z - nm);
                  a[f] = nm;
                }
              }
            }
          }
        }
        std::fill(found.begin(), found.end(), char(0));
        const scalar_t* gv = go + v * K * F;
        const scalar_t* ov = oo + v * K * F;
        for (int64_t j = begin; j < end; ++j) {
          const int64_t e = col ? col[j] : j;
          if (e < 0 || e >= E) continue;
          const scalar_t* __restrict__ xs = x + e * F;
          acc_t* __restrict__ xr = row.data();
          acc_t* __restrict__ ga = acc.data();
          for (int64_t f = 0; f < F; ++f) {
            xr[f] = static_cast<acc_t>(xs[f]);
            ga[f] = acc_t(0);
          }
          for (int64_t k = 0; k < K; ++k) {
            const scalar_t* __restrict__ g = gv + k * F;
            const scalar_t* __restrict__ ok = ov + k * F;
            const acc_t* __restrict__ a = state.data() + s.offset[k] * F;
            switch (s.modes[k]) {
              case Mode::Sum:
                for (int64_t f = 0; f < F; ++f) ga[f] += static_cast<acc_t>(g[f]);
                break;
              case Mode::Mean:
                for (int64_t f = 0; f < F; ++f) ga[f] += static_cast<acc_t>(g[f]) * inv_n;
                break;
              case Mode::Max:
              case Mode::Min: {  // the first row equal to the result takes the gradient
                char* __restrict__ fd = found.data() + k * F;
                for (int64_t f = 0; f < F; ++f) {
                  const bool hit = !fd[f] && xr[f] == static_cast<acc_t>(ok[f]);
                  ga[f] += hit ? static_cast<acc_t>(g[f]) : acc_t(0);
                  fd[f] = fd[f] | hit;
                }
                break;
              }
              case Mode::Mul: {  // torch's prod rule: out / x, the others' product for a lone zero, else 0
                const acc_t* __restrict__ zeros = a + F;
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t gf = static_cast<acc_t>(g[f]);
                  const bool zero = xr[f] == acc_t(0);
                  const acc_t nonzero = gf * static_cast<acc_t>(ok[f]) / (zero ? acc_t(1) : xr[f]);
                  const acc_t lone_zero = zeros[f] == acc_t(1) ? gf * a[f] : acc_t(0);
                  ga[f] += zero ? lone_zero : nonzero;
                }
                break;
              }
              case Mode::Var:
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t mean = a[f] * inv_n;
                  const acc_t d = semi ? -mean : xr[f] - mean;
                  ga[f] += static_cast<acc_t>(g[f]) * (acc_t(2) * d * inv_n);
                }
                break;
              case Mode::Softmax: {
                const acc_t* __restrict__ S = a + F;
                const acc_t* __restrict__ t = s.t.data();
                acc_t* __restrict__ dt = tmp.data();
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t w = cpu::exp_of(t[f] * xr[f] - a[f]) / S[f];
                  const acc_t gw = static_cast<acc_t>(g[f]) * w;
                  const acc_t dev = xr[f] - static_cast<acc_t>(ok[f]);
                  ga[f] += semi ? gw : gw * (acc_t(1) + t[f] * dev);
                  dt[f] = gw * xr[f] * dev;
                }
                if (gt_part) {
                  acc_t* __restrict__ gtv = gt_part + v * F;
                  for (int64_t f = 0; f < F; ++f) gtv[f] += dt[f];
                }
                break;
              }
              case Mode::PowerMean: {
                acc_t* __restrict__ c = tmp.data();
                acc_t* __restrict__ pw = tmp2.data();
                const acc_t* __restrict__ p = s.p.data();
                for (int64_t f = 0; f < F; ++f) c[f] = std::min(std::max(xr[f], s.lo), s.hi);
                pow_row(c, p, pw, F);
                if (gp_part) {  // d c^p / d p = c^p log c (0 at c = 0)
                  acc_t* __restrict__ gpv = gp_part + v * F;
                  for (int64_t f = 0; f < F; ++f)
                    gpv[f] += c[f] > acc_t(0) ? static_cast<acc_t>(g[f]) * inv_n * pw[f] * cpu::log_of(c[f]) : acc_t(0);
                }
                bool nonpositive = false;  // d c^p / d c = p c^p / c for c > 0, p c^(p - 1) by std::pow otherwise
                for (int64_t f = 0; f < F; ++f) {
                  pw[f] = c[f] > acc_t(0) ? p[f] * pw[f] / c[f] : acc_t(0);
                  nonpositive |= !(c[f] > acc_t(0));
                }
                if (nonpositive)
                  for (int64_t f = 0; f < F; ++f)
                    if (!(c[f] > acc_t(0))) pw[f] = p[f] * std::pow(c[f], p[f] - acc_t(1));
                for (int64_t f = 0; f < F; ++f) {
                  const bool inside = xr[f] >= s.lo && xr[f] <= s.hi;  // torch.clamp's gradient mask
                  ga[f] += inside ? static_cast<acc_t>(g[f]) * inv_n * pw[f] : acc_t(0);
                }
                break;
              }
            }
          }
          scalar_t* __restrict__ gr = gx + e * F;
          for (int64_t f = 0; f < F; ++f) gr[f] = static_cast<scalar_t>(ga[f]);
        }
      }
    });
  });
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> segment_aggregate_backward_cpu(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& out, const at::Tensor& rowptr,
    const std::optional<at::Tensor>& col, c10::ArrayRef<c10::string_view> reduce, const std::optional<at::Tensor>& t,
    const std::optional<at::Tensor>& p, std::optional<double> clamp_min, std::optional<double> clamp_max,
    bool semi_grad) {
  auto modes = aggr::check_inputs(x, rowptr, col, reduce, t, p);
  const int64_t V = rowptr.size(0) - 1, E = x.size(0), F = x.size(1), K = static_cast<int64_t>(modes.size());
  aggr::check_backward_inputs(grad, x, out, rowptr, K);
  auto grad_x = at::zeros({E, F}, x.options());  // rows no group reaches get 0
  const auto acc_opts = x.options().dtype(x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
  at::Tensor gt_part, gp_part;
  if (t.has_value() && t->defined() && !semi_grad) gt_part = at::zeros({V, F}, acc_opts);
  if (p.has_value() && p->defined()) gp_part = at::zeros({V, F}, acc_opts);
  if (E * F > 0 && V > 0) {
    const auto x2 = x.contiguous();
    const auto g2 = grad.contiguous();
    const auto o2 = out.contiguous();
    const auto rp = rowptr.contiguous();
    at::Tensor col_h, t_h, p_h;
    const int64_t* c = aggr::optional_data<int64_t>(col, col_h);
    const int64_t entries = c ? col->size(0) : E;
    MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "segment_aggregate_backward_cpu", [&] {
      using acc_t = mg::acc_t<scalar_t>;
      const scalar_t* tp = aggr::optional_data<scalar_t>(t, t_h);
      const scalar_t* pp = aggr::optional_data<scalar_t>(p, p_h);
      const Setup<acc_t> s(modes, F, tp, tp ? t->size(0) : 0, pp, pp ? p->size(0) : 0, clamp_min, clamp_max);
      backward_kernel<scalar_t>(g2, x2, o2, rp.const_data_ptr<int64_t>(), c, entries, s, semi_grad, grad_x,
                                gt_part.defined() ? gt_part.mutable_data_ptr<acc_t>() : nullptr,
                                gp_part.defined() ? gp_part.mutable_data_ptr<acc_t>() : nullptr);
    });
  }
  return {grad_x, aggr::param_grad(gt_part, t, x), aggr::param_grad(gp_part, p, x)};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("segment_aggregate", &mg::segment_aggregate_cpu);
  m.impl("segment_aggregate_backward", &mg::segment_aggregate_backward_cpu);
}
