// segment_aggregate: several reductions of the rows of x grouped into segments, in one pass over the rows
// (PyG's var / std / softmax / powermean / mul aggregations and MultiAggregation's sets, e.g. PNA's
// mean / min / max / std). No E x F temporary and no sorted copy of x: rows are read through `col`.
//
//   segment_aggregate(x: (E, F), rowptr: (V + 1,) int64, col: (E',) int64 or None, reduce: list of K names,
//                     t: (1,) or (F,) or None, p: (1,) or (F,) or None, clamp_min: float?, clamp_max: float?,
//                     semi_grad: bool) -> (out: (V, K * F), stats: (V, S * F) float32 (float64 for float64 x))
//     Group v holds the rows col[k] for k in [rowptr[v], rowptr[v+1]) (row k itself when col is None: consecutive
//     segments). Columns k * F .. (k + 1) * F - 1 of out hold reduce[k] of each group, per channel f:
//       "sum"       sum_i x_i                      "mean"  sum_i x_i / n
//       "max"/"min" the largest / smallest x_i     "mul"   prod_i x_i
//       "var"       sum_i (x_i - mean)^2 / n       (Welford's update, so never negative; PyG's value is
//                                                  mean(x^2) - mean^2, the same up to rounding)
//       "softmax"   sum_i a_i x_i, a_i = exp(t_f x_i) / sum_j exp(t_f x_j)  (online: running max, sum of exp,
//                                                  sum of exp * x; one pass, one exp per element, stable)
//       "powermean" sum_i c_i^p_f / n, c_i = clamp(x_i, clamp_min, clamp_max) (the inner mean of PyG's
//                                                  PowerMeanAggregation; the outer clamp and 1/p power are
//                                                  elementwise on (V, F) in the caller)
//     n is the group's row count. Groups without rows give 0 (1 for "mul"). t / p: one value for every channel
//     or one per channel (dtype of x). At most one "softmax" and one "powermean" per call.
//     stats: what the backward reuses instead of a second pass over the group, S blocks of F columns in the
//     order of reduce, one per "var" (the mean) and per "softmax" (log sum_j exp(t_f x_j), so a_i = exp(t_f x_i
//     - stats)); 0 for groups without rows. S = 0 (shape (V, 0)) when neither is requested.
//
//   segment_aggregate_backward(grad: (V, K * F), x, out, stats, rowptr, col, reduce, t, p, clamp_min, clamp_max,
//                              semi_grad) -> (grad_x: (E, F), grad_t: like t or (0,), grad_p: like p or (0,))
//     d out / d x_i per block: sum, mean 1 / n; max / min 1 for the first row of the group (in col order) equal
//     to the result, 0 for the others; mul prod_{j != i} x_j (zeros handled: out / x_i for x_i != 0, the
//     product of the others for the only zero, 0 when there are two or more); var 2 (x_i - mean) / n, or with
//     semi_grad -2 mean / n (PyG's semi_grad: no gradient through mean(x^2)); softmax a_i (1 + t (x_i - out)),
//     or a_i with semi_grad (no gradient through the weights); powermean p c_i^(p-1) / n where clamp_min <= x_i
//     <= clamp_max (torch.clamp's gradient), else 0.
//     grad_t = sum over groups of sum_i a_i x_i (x_i - out) * grad (summed over channels for a (1,) t);
//     grad_p = sum over groups of sum_i c_i^p log(c_i) / n * grad (likewise).
//     One pass over each group's rows (mean and log-sum-exp come from stats); "mul" adds a pass over the groups
//     whose product is 0 in some channel (the zero count and the product of the nonzero values).
//     A row listed by col more than once gets the sum of its gradients (CPU: a serial accumulating pass, taken
//     only when col repeats a row); rows col never lists get 0.
//
// Accumulation in float32 (float64 for float64). Deterministic on every device: each output element is reduced
// by one thread in row order, each row of grad_x belongs to one group and is written once, and grad_t / grad_p
// are (V, F) partials summed in a fixed order (CPU: blocks of groups, so the results are bit-identical for any
// thread count; CUDA: ATen's reduction). No atomics.
// Checked on every backend: devices, dtypes, shapes, the reduce names. Checked on CPU only (checks.h):
// rowptr[0] == 0, rowptr[-1] == E', non-decreasing rowptr. Clamped: row bounds into [0, E']; col entries outside
// [0, E) are skipped (rows no group reaches get 0 gradient). CUDA assumes col lists each row at most once (the
// group CSR of an index does); a repeated row there gets one of its gradients.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/util/ArrayRef.h>
#include <c10/util/Exception.h>
#include <c10/util/string_view.h>

#include <optional>
#include <string_view>
#include <vector>

#include "../../common/checks.h"

namespace mg {
namespace aggr {

enum class Mode : int { Sum = 0, Mean, Max, Min, Mul, Var, Softmax, PowerMean };

// Accumulator slots per channel each mode keeps while it walks a group in the forward.
C10_HOST_DEVICE inline int state_width(Mode m) { return m == Mode::Var ? 2 : (m == Mode::Softmax ? 3 : 1); }

// Blocks of F columns each mode saves in `stats` for the backward: the mean (var), the log-sum-exp (softmax).
C10_HOST_DEVICE inline int saved_width(Mode m) { return (m == Mode::Var || m == Mode::Softmax) ? 1 : 0; }

// ---------------------------------------------------------------------- per-element math, CPU and CUDA
// One definition of every update and gradient term, used by both backends (the CPU calls them inside its
// vectorized channel loops, the CUDA kernels once per thread). Both arms of a select are computed before it: GCC
// (trapping math) does not if-convert a select whose arm does arithmetic or compares (`a || b`, nested ?:), and
// the channel loop would stay scalar. exp / log are the caller's (the vectorizable
// fast_math.h ones on the CPU, the device's on CUDA), passed in as values. Always inlined: the CPU's AVX2 build
// of the loops (cpu_kernels.h) vectorizes only what is inlined into it.

// Welford's update by row x of a group's running mean and sum of squared deviations m2; r = 1 / (rows so far).
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE void welford_step(T& mean, T& m2, T x, T r) {
  const T d = x - mean;
  mean = mean + d * r;
  m2 = m2 + d * (x - mean);
}

// max / min: x replaces the running extreme a at the group's first row or when strictly beyond it (the first
// row attaining the extreme keeps it).
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T max_step(T a, T x, bool first) { return (first | (x > a)) ? x : a; }
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T min_step(T a, T x, bool first) { return (first | (x < a)) ? x : a; }

template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T clamp_value(T x, T lo, T hi) {
  const T up = x < lo ? lo : x;
  return up > hi ? hi : up;
}

// Online softmax over z = t x with running max M, S = sum exp(z - M), W = sum exp(z - M) x. The argument of the
// one exp a row needs is -|z - M| (softmax_gap): when z raises the max the old sums are scaled by
// e = exp(M - z) and the row weighs 1, otherwise the row weighs e = exp(z - M). The first row (M = lowest)
// gives S = 1, W = x.
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T softmax_gap(T z, T M) {
  const T d = z - M, nd = -d;
  return d > T(0) ? nd : d;
}
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE void softmax_step(T& M, T& S, T& W, T z, T x, T e) {
  const bool up = z > M;
  const T S_up = S * e + T(1), S_keep = S + e, W_up = W * e + x, W_keep = W + e * x;
  S = up ? S_up : S_keep;
  W = up ? W_up : W_keep;
  M = up ? z : M;
}

// d out / d x_i of one row for softmax, times grad g: w = a_i = exp(t x - lse); dev = x - out.
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T softmax_grad_x(T g, T w, T t, T dev, bool semi) {
  const T gw = g * w, full = gw * (T(1) + t * dev);
  return semi ? gw : full;
}

// mul: the row's gradient from go = grad * out (x != 0), or for x == 0 the product of the group's nonzero
// values when x is its only zero (zeros == 1), else 0 (torch.prod's rule).
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T mul_grad_x(T g, T go, T x, T zeros, T prod_nonzero) {
  const bool zero = x == T(0);
  const bool lone_zero = zero & (zeros == T(1));
  const T lone = g * prod_nonzero, other = go / (zero ? T(1) : x);
  return lone_zero ? lone : (zero ? T(0) : other);
}

// var: c2 = 2 grad / n; the row's gradient 2 (x - mean) grad / n, or -2 mean grad / n with semi_grad.
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T var_grad_x(T c2, T x, T mean, bool semi) {
  const T nm = -mean, d = x - mean;
  return c2 * (semi ? nm : d);
}

// powermean, d c^p / d c for a clamped value c with pw = c^p: p c^p / c where c > 0 (no second pow); 0 for
// c <= 0, where the caller uses p c^(p - 1). (d c^p / d p = c^p log c; torch.clamp's gradient is 0 outside
// [clamp_min, clamp_max].)
template <typename T>
C10_ALWAYS_INLINE C10_HOST_DEVICE T powermean_dc(T p, T pw, T c) {
  const T d = p * pw / (c > T(0) ? c : T(1));
  return c > T(0) ? d : T(0);
}

inline Mode parse_mode(std::string_view r) {
  if (r == "sum") return Mode::Sum;
  if (r == "mean") return Mode::Mean;
  if (r == "max") return Mode::Max;
  if (r == "min") return Mode::Min;
  if (r == "mul") return Mode::Mul;
  if (r == "var") return Mode::Var;
  if (r == "softmax") return Mode::Softmax;
  if (r == "powermean") return Mode::PowerMean;
  TORCH_CHECK(false, "reduce must be among sum, mean, max, min, mul, var, softmax, powermean; got ", r);
}

// At most this many reductions per call (the CUDA kernels keep their state in registers).
constexpr int kMaxModes = 8;

inline std::vector<Mode> parse_modes(c10::ArrayRef<c10::string_view> reduce) {
  TORCH_CHECK(!reduce.empty() && reduce.size() <= static_cast<size_t>(kMaxModes), "reduce must name 1 to ",
              kMaxModes, " reductions, got ", reduce.size());
  std::vector<Mode> modes;
  int softmax = 0, powermean = 0;
  for (const auto& r : reduce) {
    modes.push_back(parse_mode(std::string_view(r.data(), r.size())));
    softmax += modes.back() == Mode::Softmax;
    powermean += modes.back() == Mode::PowerMean;
  }
  TORCH_CHECK(softmax <= 1 && powermean <= 1, "reduce may name softmax and powermean once each");
  return modes;
}

inline bool has_mode(const std::vector<Mode>& modes, Mode m) {
  for (Mode k : modes)
    if (k == m) return true;
  return false;
}

// t / p: 1-D, 1 or F entries, dtype and device of x; given exactly when its mode is requested.
inline void check_param(const std::optional<at::Tensor>& v, bool needed, const at::Tensor& x, const char* name,
                        const char* mode) {
  const bool given = v.has_value() && v->defined();
  TORCH_CHECK(given == needed, name, given ? " is only used by " : " is required by ", mode);
  if (!given) return;
  TORCH_CHECK(v->dim() == 1 && (v->size(0) == 1 || v->size(0) == x.size(1)), name,
              " must have shape (1,) or (F,) with F = ", x.size(1), ", got ", v->sizes());
  MG_CHECK_SAME_DTYPE((*v), x);
  MG_CHECK_SAME_DEVICE((*v), x);
}

inline std::vector<Mode> check_inputs(const at::Tensor& x, const at::Tensor& rowptr, const std::optional<at::Tensor>& col,
                                      c10::ArrayRef<c10::string_view> reduce, const std::optional<at::Tensor>& t,
                                      const std::optional<at::Tensor>& p) {
  MG_CHECK_DIM(x, 2);
  MG_CHECK_FLOATING(x);
  int64_t entries = x.size(0);
  if (col.has_value() && col->defined()) {
    TORCH_CHECK(col->dim() == 1, "col must be 1-D, got ", col->dim(), "-D");
    TORCH_CHECK(col->scalar_type() == at::kLong, "col must be int64, got ", col->scalar_type());
    MG_CHECK_SAME_DEVICE(x, (*col));
    entries = col->size(0);
  }
  check_rowptr(rowptr, entries, x, "rowptr");
  auto modes = parse_modes(reduce);
  check_param(t, has_mode(modes, Mode::Softmax), x, "t", "softmax");
  check_param(p, has_mode(modes, Mode::PowerMean), x, "p", "powermean");
  return modes;
}

// Total saved blocks S of a mode list (stats has S * F columns).
inline int64_t saved_blocks(const std::vector<Mode>& modes) {
  int64_t s = 0;
  for (Mode m : modes) s += saved_width(m);
  return s;
}

// The dtype of stats: the accumulation type of x.
inline at::ScalarType stats_dtype(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

inline void check_backward_inputs(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& out,
                                  const at::Tensor& stats, const at::Tensor& rowptr, const std::vector<Mode>& modes) {
  const int64_t V = rowptr.size(0) - 1, K = static_cast<int64_t>(modes.size());
  MG_CHECK_SHAPE(out, {V, K * x.size(1)});
  MG_CHECK_SHAPE(grad, {V, K * x.size(1)});
  MG_CHECK_SHAPE(stats, {V, saved_blocks(modes) * x.size(1)});
  MG_CHECK_SAME_DTYPE(grad, x);
  MG_CHECK_SAME_DTYPE(out, x);
  TORCH_CHECK(stats.scalar_type() == stats_dtype(x), "stats must be ", stats_dtype(x), " for ", x.scalar_type(),
              " x, got ", stats.scalar_type());
  MG_CHECK_SAME_DEVICE(grad, x);
  MG_CHECK_SAME_DEVICE(out, x);
  MG_CHECK_SAME_DEVICE(stats, x);
}

// Contiguous pointer of an optional tensor (kept alive by `holder`), nullptr when absent.
template <typename T>
inline const T* optional_data(const std::optional<at::Tensor>& v, at::Tensor& holder) {
  if (!v.has_value() || !v->defined()) return nullptr;
  holder = v->contiguous();
  return holder.const_data_ptr<T>();
}

// The (C,) gradient of a (C,) parameter from its (V, F) per-group partials: summed over the groups (and the
// channels, for C = 1) by ATen's reduction (CUDA; the CPU sums in blocks, segment_aggregate_cpu.cpp); zeros when no
// partials were formed (semi_grad), (0,) when the parameter is absent.
inline at::Tensor param_grad(const at::Tensor& partial, const std::optional<at::Tensor>& param, const at::Tensor& x) {
  if (!param.has_value() || !param->defined()) return at::zeros({0}, x.options());
  if (!partial.defined()) return at::zeros_like(*param);
  const at::Tensor total = param->size(0) == 1 ? partial.sum().reshape({1}) : partial.sum(0);
  return total.to(param->scalar_type());
}

}  // namespace aggr
}  // namespace mg
