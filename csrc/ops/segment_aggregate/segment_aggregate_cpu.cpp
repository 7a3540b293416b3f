// CPU kernels for segment_aggregate (contract in segment_aggregate.h). Groups run in parallel (at::parallel_for);
// a task walks its groups' rows in col order and every requested reduction updates from the row while it is in
// L1. The rows of an unsorted index lie scattered over x, so the loops prefetch the rows a few entries ahead
// (across group boundaries: a task's groups are consecutive in col); without it they wait on memory at every row.
// The per-mode channel loops use the per-element math shared with CUDA (segment_aggregate.h) and are branch-free,
// so the compiler vectorizes them (AVX2 build picked at run time, cpu_kernels.h); exp / log for float32 are the
// vectorizable ones of fast_math.h, and softmax needs one exp per element. The bodies given to cpu::dispatch_isa are
// forced inline (C10_ALWAYS_INLINE_ATTRIBUTE): a large lambda called from both of its builds is otherwise compiled
// once, for the baseline ISA, and run_avx2 only jumps to it (seen in this file's object before: 2 AVX instructions
// in all, fast_exp's floor a libm call per element). The backward is one pass over each
// group's rows: the mean (var) and the log-sum-exp (softmax) come from the forward's stats, the per-group factors
// (grad / n, 2 grad / n, grad * out) are formed once per group.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
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

// Entries ahead of the current one whose rows are prefetched (col order).
constexpr int64_t kPrefetchDistance = 6;

// Prefetch the row of entry j (if it is an entry and its row exists), for reading and, with `write`, also the
// same row of grad_x for writing.
template <typename scalar_t>
inline __attribute__((always_inline)) void prefetch_entry(const int64_t* col, int64_t j, int64_t num_entries,
                                                          int64_t E, int64_t F, const scalar_t* x, scalar_t* write) {
#if defined(__GNUC__)
  if (j >= num_entries) return;
  const int64_t e = col[j];
  if (e < 0 || e >= E) return;
  const int64_t bytes = F * static_cast<int64_t>(sizeof(scalar_t));
  const char* r = reinterpret_cast<const char*>(x + e * F);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(r + off, 0, 3);
  if (write) {
    char* w = reinterpret_cast<char*>(write + e * F);
    for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(w + off, 1, 3);
  }
#endif
}

// What the kernels share: the modes, their state and stats offsets, t / p expanded to F channels, the clamps.
template <typename acc_t>
struct Setup {
  std::vector<Mode> modes;
  std::vector<int64_t> offset;  // forward state of mode k starts at offset[k] * F
  std::vector<int64_t> saved;   // stats block of mode k starts at saved[k] * F (var, softmax; -1 for the others)
  int64_t width = 0;            // forward state slots per channel
  int64_t saved_blocks = 0;     // stats blocks
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
      saved.push_back(aggr::saved_width(k) ? saved_blocks : -1);
      saved_blocks += aggr::saved_width(k);
    }
    if (tp) t.assign(F, acc_t(0));
    if (pp) p.assign(F, acc_t(0));
    for (int64_t f = 0; f < F; ++f) {
      if (tp) t[f] = static_cast<acc_t>(tp[nt == 1 ? 0 : f]);
      if (pp) p[f] = static_cast<acc_t>(pp[np == 1 ? 0 : f]);
    }
  }
};

// x's row as acc_t: the row itself for float32 / float64, converted into buf for the half types.
template <typename acc_t, typename scalar_t>
inline __attribute__((always_inline)) const acc_t* as_acc(const scalar_t* xs, acc_t* __restrict__ buf, int64_t F) {
  if constexpr (std::is_same_v<acc_t, scalar_t>) {
    (void)buf;
    (void)F;
    return xs;
  } else {
    for (int64_t f = 0; f < F; ++f) buf[f] = static_cast<acc_t>(xs[f]);
    return buf;
  }
}

// c^p over a row of clamped values into pw, and with kLog log c into lg (the backward's d / dp): the fast
// exp(p log c) for float32 where c > 0, std::pow elsewhere (c <= 0, and float64).
template <bool kLog, typename acc_t>
inline __attribute__((always_inline)) void pow_row(const acc_t* __restrict__ c, const acc_t* __restrict__ p,
                                                   acc_t* __restrict__ pw, acc_t* __restrict__ lg, int64_t F) {
  if constexpr (std::is_same_v<acc_t, float>) {
    bool nonpositive = false;
    for (int64_t f = 0; f < F; ++f) {
      const float l = cpu::fast_log(c[f]);
      if constexpr (kLog) lg[f] = l;
      pw[f] = cpu::fast_exp(p[f] * l);
      nonpositive |= !(c[f] > 0.0f);
    }
    if (nonpositive)
      for (int64_t f = 0; f < F; ++f)
        if (!(c[f] > 0.0f)) pw[f] = std::pow(c[f], p[f]);
  } else {
    for (int64_t f = 0; f < F; ++f) {
      pw[f] = std::pow(c[f], p[f]);
      if constexpr (kLog) lg[f] = std::log(c[f]);
    }
  }
}

// Scratch rows of a task (F entries each).
template <typename acc_t>
struct Scratch {
  std::vector<acc_t> data;
  int64_t F;
  Scratch(int64_t rows, int64_t F_) : data(static_cast<size_t>(rows * F_)), F(F_) {}
  inline __attribute__((always_inline)) acc_t* row(int64_t i) { return data.data() + i * F; }
};

// ---------------------------------------------------------------------- forward

// One row's update of mode m's state a (first: the group's first row; r = 1 / rows so far).
template <typename acc_t>
inline __attribute__((always_inline)) void forward_row(Mode m, acc_t* __restrict__ a, const acc_t* __restrict__ xr,
                                                       bool first, acc_t r, const Setup<acc_t>& s,
                                                       Scratch<acc_t>& tmp, int64_t F) {
  switch (m) {
    case Mode::Sum:
    case Mode::Mean:
      for (int64_t f = 0; f < F; ++f) a[f] += xr[f];
      break;
    case Mode::Max:
      for (int64_t f = 0; f < F; ++f) a[f] = aggr::max_step(a[f], xr[f], first);
      break;
    case Mode::Min:
      for (int64_t f = 0; f < F; ++f) a[f] = aggr::min_step(a[f], xr[f], first);
      break;
    case Mode::Mul:
      for (int64_t f = 0; f < F; ++f) a[f] *= xr[f];
      break;
    case Mode::Var: {  // Welford: mean in a[0:F], sum of squared deviations in a[F:2F]
      acc_t* __restrict__ m2 = a + F;
      for (int64_t f = 0; f < F; ++f) aggr::welford_step(a[f], m2[f], xr[f], r);
      break;
    }
    case Mode::Softmax: {  // running max M = a[0:F], S = a[F:2F], W = a[2F:3F]
      acc_t* __restrict__ S = a + F;
      acc_t* __restrict__ W = a + 2 * F;
      const acc_t* __restrict__ t = s.t.data();
      for (int64_t f = 0; f < F; ++f) {
        const acc_t z = t[f] * xr[f];
        const acc_t e = cpu::exp_of(aggr::softmax_gap(z, a[f]));
        aggr::softmax_step(a[f], S[f], W[f], z, xr[f], e);
      }
      break;
    }
    case Mode::PowerMean: {
      acc_t* __restrict__ c = tmp.row(0);
      acc_t* __restrict__ pw = tmp.row(1);
      for (int64_t f = 0; f < F; ++f) c[f] = aggr::clamp_value(xr[f], s.lo, s.hi);
      pow_row<false>(c, s.p.data(), pw, tmp.row(2), F);
      for (int64_t f = 0; f < F; ++f) a[f] += pw[f];
      break;
    }
  }
}

template <typename scalar_t>
void forward_kernel(const at::Tensor& x2, const int64_t* rp, const int64_t* col, int64_t num_entries,
                    const Setup<acc_t<scalar_t>>& s, at::Tensor& out, at::Tensor& stats) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t E = x2.size(0), F = x2.size(1), V = out.size(0), K = static_cast<int64_t>(s.modes.size());
  const int64_t SB = s.saved_blocks;
  const scalar_t* x = x2.const_data_ptr<scalar_t>();
  scalar_t* o = out.mutable_data_ptr<scalar_t>();
  acc_t* st = SB ? stats.mutable_data_ptr<acc_t>() : nullptr;
  at::parallel_for(0, V, groups_per_task(num_entries, V, F), [&](int64_t v0, int64_t v1) {
    std::vector<acc_t> state(s.width * F);
    Scratch<acc_t> tmp(4, F);  // 0-2: powermean, 3: the converted row of a half type
    cpu::dispatch_isa([&]() C10_ALWAYS_INLINE_ATTRIBUTE {
      for (int64_t v = v0; v < v1; ++v) {
        int64_t begin, end;
        row_bounds(rp, v, num_entries, &begin, &end);
        for (int64_t k = 0; k < K; ++k) {
          acc_t* a = state.data() + s.offset[k] * F;
          const Mode m = s.modes[k];
          const acc_t init = m == Mode::Mul ? acc_t(1) : (m == Mode::Softmax ? std::numeric_limits<acc_t>::lowest()
                                                                              : acc_t(0));
          for (int64_t f = 0; f < F; ++f) a[f] = init;  // the running max for softmax
          for (int64_t f = F; f < aggr::state_width(m) * F; ++f) a[f] = acc_t(0);
        }
        int64_t n = 0;
        for (int64_t j = begin; j < end; ++j) {
          if (col) prefetch_entry<scalar_t>(col, j + kPrefetchDistance, num_entries, E, F, x, nullptr);
          const int64_t e = col ? col[j] : j;
          if (e < 0 || e >= E) continue;
          const bool first = n == 0;
          ++n;
          const acc_t r = acc_t(1) / static_cast<acc_t>(n);
          const acc_t* __restrict__ xr = as_acc<acc_t>(x + e * F, tmp.row(3), F);
          for (int64_t k = 0; k < K; ++k)
            forward_row(s.modes[k], state.data() + s.offset[k] * F, xr, first, r, s, tmp, F);
        }
        const acc_t inv_n = n ? acc_t(1) / static_cast<acc_t>(n) : acc_t(0);
        for (int64_t k = 0; k < K; ++k) {
          const acc_t* __restrict__ a = state.data() + s.offset[k] * F;
          scalar_t* __restrict__ ok = o + v * K * F + k * F;
          acc_t* __restrict__ sk = s.saved[k] >= 0 ? st + v * SB * F + s.saved[k] * F : nullptr;
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
              for (int64_t f = 0; f < F; ++f) {
                ok[f] = static_cast<scalar_t>(a[F + f] * inv_n);
                sk[f] = n ? a[f] : acc_t(0);  // a select of values: vectorizes
              }
              break;
            case Mode::Softmax:
              for (int64_t f = 0; f < F; ++f) {
                const acc_t sm = a[2 * F + f] / a[F + f], lse = a[f] + cpu::log_of(a[F + f]);
                ok[f] = static_cast<scalar_t>(n ? sm : acc_t(0));
                sk[f] = n ? lse : acc_t(0);
              }
              break;
          }
        }
      }
    });
  });
}

std::tuple<at::Tensor, at::Tensor> segment_aggregate_cpu(const at::Tensor& x, const at::Tensor& rowptr,
                                                         const std::optional<at::Tensor>& col,
                                                         c10::ArrayRef<c10::string_view> reduce,
                                                         const std::optional<at::Tensor>& t,
                                                         const std::optional<at::Tensor>& p,
                                                         std::optional<double> clamp_min,
                                                         std::optional<double> clamp_max, bool semi_grad) {
  auto modes = aggr::check_inputs(x, rowptr, col, reduce, t, p);
  (void)semi_grad;  // a gradient option only
  const int64_t V = rowptr.size(0) - 1, F = x.size(1), K = static_cast<int64_t>(modes.size());
  auto out = cpu::pooled_empty({V, K * F}, x.options());
  auto stats = cpu::pooled_empty({V, aggr::saved_blocks(modes) * F}, x.options().dtype(aggr::stats_dtype(x)));
  if (out.numel() == 0) return {out, stats};
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
    forward_kernel<scalar_t>(x2, rp.const_data_ptr<int64_t>(), c, entries, s, out, stats);
  });
  return {out, stats};
}

// ---------------------------------------------------------------------- backward

// The per-group factor of mode m's gradient, per channel, from the output gradient g and the output o:
// sum / max / min / softmax g, mean / powermean g / n, var 2 g / n, mul g * out.
template <typename acc_t, typename scalar_t>
inline __attribute__((always_inline)) void group_factor(Mode m, const scalar_t* __restrict__ g,
                                                        const scalar_t* __restrict__ o, acc_t inv_n,
                                                        acc_t* __restrict__ out, int64_t F) {
  switch (m) {
    case Mode::Mean:
    case Mode::PowerMean:
      for (int64_t f = 0; f < F; ++f) out[f] = static_cast<acc_t>(g[f]) * inv_n;
      break;
    case Mode::Var:
      for (int64_t f = 0; f < F; ++f) out[f] = acc_t(2) * static_cast<acc_t>(g[f]) * inv_n;
      break;
    case Mode::Mul:
      for (int64_t f = 0; f < F; ++f) out[f] = static_cast<acc_t>(g[f]) * static_cast<acc_t>(o[f]);
      break;
    default:
      for (int64_t f = 0; f < F; ++f) out[f] = static_cast<acc_t>(g[f]);
      break;
  }
}

// kAccumulate: grad_x rows are added to (col repeats a row; run serially on a zeroed grad_x) instead of written.
template <typename scalar_t, bool kAccumulate>
void backward_kernel(const at::Tensor& g2, const at::Tensor& x2, const at::Tensor& out2, const at::Tensor& stats2,
                     const int64_t* rp, const int64_t* col, int64_t num_entries, const Setup<acc_t<scalar_t>>& s,
                     bool semi, at::Tensor& grad_x, acc_t<scalar_t>* gt_part, acc_t<scalar_t>* gp_part) {
  using acc_t = mg::acc_t<scalar_t>;
  const int64_t E = x2.size(0), F = x2.size(1), V = out2.size(0), K = static_cast<int64_t>(s.modes.size());
  const int64_t SB = s.saved_blocks;
  const scalar_t* x = x2.const_data_ptr<scalar_t>();
  const scalar_t* go = g2.const_data_ptr<scalar_t>();
  const scalar_t* oo = out2.const_data_ptr<scalar_t>();
  const acc_t* st = SB ? stats2.const_data_ptr<acc_t>() : nullptr;
  scalar_t* gx = grad_x.mutable_data_ptr<scalar_t>();
  const bool any_mul = aggr::has_mode(s.modes, Mode::Mul);
  const int64_t grain = kAccumulate ? std::max<int64_t>(V, 1) : groups_per_task(num_entries, V, F);
  at::parallel_for(0, V, grain, [&](int64_t v0, int64_t v1) {
    Scratch<acc_t> fac(K, F);  // the per-group factor of each mode
    Scratch<acc_t> tmp(10, F);
    Scratch<acc_t> found(K, F);  // max / min: 1 once a row has taken the gradient (acc_t lanes vectorize with x)
    cpu::dispatch_isa([&]() C10_ALWAYS_INLINE_ATTRIBUTE {
      acc_t* __restrict__ ga = tmp.row(0);
      acc_t* __restrict__ dt = tmp.row(1);
      acc_t* __restrict__ dp = tmp.row(2);
      acc_t* __restrict__ mz = tmp.row(3);  // mul: zeros per channel
      acc_t* __restrict__ mp = tmp.row(4);  // mul: product of the nonzero values
      acc_t* __restrict__ c = tmp.row(5);
      acc_t* __restrict__ pw = tmp.row(6);
      acc_t* __restrict__ lg = tmp.row(7);
      acc_t* __restrict__ dc = tmp.row(8);
      acc_t* __restrict__ buf = tmp.row(9);
      for (int64_t v = v0; v < v1; ++v) {
        int64_t begin, end;
        row_bounds(rp, v, num_entries, &begin, &end);
        int64_t n = end - begin;
        if (col) {
          n = 0;
          for (int64_t j = begin; j < end; ++j) n += col[j] >= 0 && col[j] < E;
        }
        if (n == 0) continue;
        const acc_t inv_n = acc_t(1) / static_cast<acc_t>(n);
        const scalar_t* gv = go + v * K * F;
        const scalar_t* ov = oo + v * K * F;
        for (int64_t k = 0; k < K; ++k) group_factor(s.modes[k], gv + k * F, ov + k * F, inv_n, fac.row(k), F);
        std::fill(found.data.begin(), found.data.end(), acc_t(0));
        for (int64_t f = 0; f < F; ++f) {
          dt[f] = acc_t(0);
          dp[f] = acc_t(0);
        }
        // mul: a product of 0 in some channel means a zero row there (or an underflow): count the zeros and
        // multiply the nonzero values, for the lone zero's gradient (torch.prod's rule).
        bool mul_zero = false;
        if (any_mul)
          for (int64_t k = 0; k < K; ++k)
            if (s.modes[k] == Mode::Mul)
              for (int64_t f = 0; f < F; ++f) mul_zero |= static_cast<acc_t>(ov[k * F + f]) == acc_t(0);
        for (int64_t f = 0; f < F; ++f) {
          mz[f] = acc_t(0);
          mp[f] = acc_t(1);
        }
        if (mul_zero) {
          for (int64_t j = begin; j < end; ++j) {
            const int64_t e = col ? col[j] : j;
            if (e < 0 || e >= E) continue;
            const acc_t* __restrict__ xr = as_acc<acc_t>(x + e * F, buf, F);
            for (int64_t f = 0; f < F; ++f) {
              const bool zero = xr[f] == acc_t(0);
              mp[f] *= zero ? acc_t(1) : xr[f];
              mz[f] += zero ? acc_t(1) : acc_t(0);
            }
          }
        }
        for (int64_t j = begin; j < end; ++j) {
          if (col) prefetch_entry<scalar_t>(col, j + kPrefetchDistance, num_entries, E, F, x, gx);
          const int64_t e = col ? col[j] : j;
          if (e < 0 || e >= E) continue;
          const acc_t* __restrict__ xr = as_acc<acc_t>(x + e * F, buf, F);
          for (int64_t f = 0; f < F; ++f) ga[f] = acc_t(0);
          for (int64_t k = 0; k < K; ++k) {
            const acc_t* __restrict__ a = fac.row(k);
            const scalar_t* __restrict__ ok = ov + k * F;
            const acc_t* __restrict__ sk = s.saved[k] >= 0 ? st + v * SB * F + s.saved[k] * F : nullptr;
            switch (s.modes[k]) {
              case Mode::Sum:
              case Mode::Mean:
                for (int64_t f = 0; f < F; ++f) ga[f] += a[f];
                break;
              case Mode::Max:
              case Mode::Min: {  // the first row equal to the result takes the gradient
                acc_t* __restrict__ fd = found.row(k);
                for (int64_t f = 0; f < F; ++f) {
                  const bool hit = (fd[f] == acc_t(0)) & (xr[f] == static_cast<acc_t>(ok[f]));
                  ga[f] += hit ? a[f] : acc_t(0);
                  fd[f] = hit ? acc_t(1) : fd[f];
                }
                break;
              }
              case Mode::Mul: {
                const scalar_t* __restrict__ g = gv + k * F;
                for (int64_t f = 0; f < F; ++f)
                  ga[f] += aggr::mul_grad_x(static_cast<acc_t>(g[f]), a[f], xr[f], mz[f], mp[f]);
                break;
              }
              case Mode::Var:
                for (int64_t f = 0; f < F; ++f) ga[f] += aggr::var_grad_x(a[f], xr[f], sk[f], semi);
                break;
              case Mode::Softmax: {  // a_i = exp(t x_i - lse)
                const acc_t* __restrict__ t = s.t.data();
                for (int64_t f = 0; f < F; ++f) {
                  const acc_t w = cpu::exp_of(t[f] * xr[f] - sk[f]);
                  const acc_t dev = xr[f] - static_cast<acc_t>(ok[f]);
                  ga[f] += aggr::softmax_grad_x(a[f], w, t[f], dev, semi);
                  dt[f] += a[f] * w * xr[f] * dev;
                }
                break;
              }
              case Mode::PowerMean: {
                const acc_t* __restrict__ p = s.p.data();
                for (int64_t f = 0; f < F; ++f) c[f] = aggr::clamp_value(xr[f], s.lo, s.hi);
                pow_row<true>(c, p, pw, lg, F);
                bool nonpositive = false;
                for (int64_t f = 0; f < F; ++f) {
                  dc[f] = aggr::powermean_dc(p[f], pw[f], c[f]);
                  const acc_t dpf = a[f] * pw[f] * lg[f];  // d c^p / d p = c^p log c
                  dp[f] += c[f] > acc_t(0) ? dpf : acc_t(0);
                  nonpositive |= !(c[f] > acc_t(0));
                }
                if (nonpositive)  // p c^(p - 1) by std::pow where c <= 0
                  for (int64_t f = 0; f < F; ++f)
                    if (!(c[f] > acc_t(0))) dc[f] = p[f] * std::pow(c[f], p[f] - acc_t(1));
                for (int64_t f = 0; f < F; ++f) {
                  const bool inside = (xr[f] >= s.lo) & (xr[f] <= s.hi);  // torch.clamp's gradient mask
                  const acc_t gf = a[f] * dc[f];
                  ga[f] += inside ? gf : acc_t(0);
                }
                break;
              }
            }
          }
          scalar_t* __restrict__ gr = gx + e * F;
          if constexpr (kAccumulate) {
            for (int64_t f = 0; f < F; ++f) gr[f] = static_cast<scalar_t>(static_cast<acc_t>(gr[f]) + ga[f]);
          } else {
            for (int64_t f = 0; f < F; ++f) gr[f] = static_cast<scalar_t>(ga[f]);
          }
        }
        if (gt_part)
          for (int64_t f = 0; f < F; ++f) gt_part[v * F + f] = dt[f];
        if (gp_part)
          for (int64_t f = 0; f < F; ++f) gp_part[v * F + f] = dp[f];
      }
    });
  });
}

// aggr::param_grad's contract (the (C,) gradient of a (C,) parameter from its (V, F) per-group partials), summed in
// an order that does not depend on the thread count (ATen's reductions split the groups by thread count, so their
// rounding would): per channel, blocks of kParamBlock groups in parallel, then the block sums in block order; for
// C = 1 the channels in order.
constexpr int64_t kParamBlock = 1024;

template <typename acc_t>
at::Tensor param_grad_cpu(const at::Tensor& partial, const std::optional<at::Tensor>& param, const at::Tensor& x) {
  if (!param.has_value() || !param->defined()) return at::zeros({0}, x.options());
  if (!partial.defined()) return at::zeros_like(*param);
  const int64_t V = partial.size(0), F = partial.size(1), B = (V + kParamBlock - 1) / kParamBlock;
  const acc_t* pp = partial.const_data_ptr<acc_t>();
  std::vector<acc_t> blocks(static_cast<size_t>(B * F), acc_t(0));
  at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      acc_t* __restrict__ sum = blocks.data() + b * F;
      for (int64_t v = b * kParamBlock; v < std::min(V, (b + 1) * kParamBlock); ++v)
        for (int64_t f = 0; f < F; ++f) sum[f] += pp[v * F + f];
    }
  });
  auto total = at::zeros({param->size(0)}, partial.options());
  acc_t* out = total.mutable_data_ptr<acc_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t f = 0; f < F; ++f) out[param->size(0) == 1 ? 0 : f] += blocks[b * F + f];
  return total.to(param->scalar_type());
}

// How col covers the rows of x: whether it lists some row twice, how many rows it lists and which (`listed`).
// One serial pass over col (E' int64 reads, E bytes): a few ms at E = 4M, against a zero-fill of grad_x.
struct Coverage {
  bool repeated = false;
  int64_t distinct = 0;
  std::vector<uint8_t> listed;
};

Coverage coverage_of(const int64_t* col, int64_t entries, int64_t E) {
  Coverage cov;
  cov.listed.assign(static_cast<size_t>(E), uint8_t(0));
  uint8_t* seen = cov.listed.data();
  bool repeated = false;
  int64_t distinct = 0;
  for (int64_t j = 0; j < entries; ++j) {
    const int64_t e = col[j];
    if (e < 0 || e >= E) continue;
    repeated |= seen[e] != 0;
    distinct += seen[e] == 0;
    seen[e] = 1;
  }
  cov.repeated = repeated;
  cov.distinct = distinct;
  return cov;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> segment_aggregate_backward_cpu(
    const at::Tensor& grad, const at::Tensor& x, const at::Tensor& out, const at::Tensor& stats,
    const at::Tensor& rowptr, const std::optional<at::Tensor>& col, c10::ArrayRef<c10::string_view> reduce,
    const std::optional<at::Tensor>& t, const std::optional<at::Tensor>& p, std::optional<double> clamp_min,
    std::optional<double> clamp_max, bool semi_grad) {
  auto modes = aggr::check_inputs(x, rowptr, col, reduce, t, p);
  aggr::check_backward_inputs(grad, x, out, stats, rowptr, modes);
  const int64_t V = rowptr.size(0) - 1, E = x.size(0), F = x.size(1);
  const auto acc_opts = x.options().dtype(aggr::stats_dtype(x));
  at::Tensor gt_part, gp_part;
  if (t.has_value() && t->defined() && !semi_grad) gt_part = at::zeros({V, F}, acc_opts);
  if (p.has_value() && p->defined()) gp_part = at::zeros({V, F}, acc_opts);
  if (E * F == 0 || V == 0) {  // no group has a row: every gradient is 0
    return {at::zeros({E, F}, x.options()), aggr::param_grad(at::Tensor(), t, x),
            aggr::param_grad(at::Tensor(), p, x)};
  }
  const auto x2 = x.contiguous();
  const auto g2 = grad.contiguous();
  const auto o2 = out.contiguous();
  const auto s2 = stats.contiguous();
  const auto rp = rowptr.contiguous();
  at::Tensor col_h, t_h, p_h;
  const int64_t* c = aggr::optional_data<int64_t>(col, col_h);
  const int64_t entries = c ? col->size(0) : E;
  // ptr segments (rowptr checked: 0 .. E, non-decreasing) cover every row once; col may skip or repeat rows.
  Coverage cov;
  if (c) cov = coverage_of(c, entries, E);
  at::Tensor grad_x = cov.repeated ? at::zeros({E, F}, x.options()) : cpu::pooled_empty({E, F}, x.options());
  MG_DISPATCH_FLOATING_TYPES(x.scalar_type(), "segment_aggregate_backward_cpu", [&] {
    using acc_t = mg::acc_t<scalar_t>;
    const scalar_t* tp = aggr::optional_data<scalar_t>(t, t_h);
    const scalar_t* pp = aggr::optional_data<scalar_t>(p, p_h);
    const Setup<acc_t> s(modes, F, tp, tp ? t->size(0) : 0, pp, pp ? p->size(0) : 0, clamp_min, clamp_max);
    acc_t* gtp = gt_part.defined() ? gt_part.mutable_data_ptr<acc_t>() : nullptr;
    acc_t* gpp = gp_part.defined() ? gp_part.mutable_data_ptr<acc_t>() : nullptr;
    if (cov.repeated) {
      backward_kernel<scalar_t, true>(g2, x2, o2, s2, rp.const_data_ptr<int64_t>(), c, entries, s, semi_grad, grad_x,
                                      gtp, gpp);
    } else {
      backward_kernel<scalar_t, false>(g2, x2, o2, s2, rp.const_data_ptr<int64_t>(), c, entries, s, semi_grad,
                                       grad_x, gtp, gpp);
    }
  });
  if (c && !cov.repeated && cov.distinct < E) {  // rows col does not list get 0
    uint8_t* listed = cov.listed.data();
    char* base = static_cast<char*>(grad_x.mutable_data_ptr());
    const int64_t row_bytes = F * static_cast<int64_t>(x.element_size());
    at::parallel_for(0, E, 4096, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        if (!listed[r]) std::memset(base + r * row_bytes, 0, static_cast<size_t>(row_bytes));
    });
  }
  at::Tensor gt, gp;
  AT_DISPATCH_FLOATING_TYPES(aggr::stats_dtype(x), "segment_aggregate_param_grad", [&] {
    gt = param_grad_cpu<scalar_t>(gt_part, t, x);
    gp = param_grad_cpu<scalar_t>(gp_part, p, x);
  });
  return {grad_x, gt, gp};
}

}  // namespace
}  // namespace mg

TORCH_LIBRARY_IMPL(meshgraph, CPU, m) {
  m.impl("segment_aggregate", &mg::segment_aggregate_cpu);
  m.impl("segment_aggregate_backward", &mg::segment_aggregate_backward_cpu);
}
