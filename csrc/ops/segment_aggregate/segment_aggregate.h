// segment_aggregate: several reductions of the rows of x grouped into segments, in one pass over the rows
// (PyG's var / std / softmax / powermean / mul aggregations and MultiAggregation's sets, e.g. PNA's
// mean / min / max / std). No E x F temporary and no sorted copy of x: rows are read through `col`.
//
//   segment_aggregate(x: (E, F), rowptr: (V + 1,) int64, col: (E',) int64 or None, reduce: list of K names,
//                     t: (1,) or (F,) or None, p: (1,) or (F,) or None, clamp_min: float?, clamp_max: float?,
//                     semi_grad: bool) -> out: (V, K * F)
//     Group v holds the rows col[k] for k in [rowptr[v], rowptr[v+1]) (row k itself when col is None: consecutive
//     segments). Columns k * F .. (k + 1) * F - 1 of out hold reduce[k] of each group, per channel f:
//       "sum"       sum_i x_i                      "mean"  sum_i x_i / n
//       "max"/"min" the largest / smallest x_i     "mul"   prod_i x_i
//       "var"       sum_i (x_i - mean)^2 / n       (Welford's update, so never negative; PyG's value is
//                                                  mean(x^2) - mean^2, the same up to rounding)
//       "softmax"   sum_i a_i x_i, a_i = exp(t_f x_i) / sum_j exp(t_f x_j)  (online: running max, sum of exp,
//                                                  sum of exp * x; one pass, stable)
//       "powermean" sum_i c_i^p_f / n, c_i = clamp(x_i, clamp_min, clamp_max) (the inner mean of PyG's
//                                                  PowerMeanAggregation; the outer clamp and 1/p power are
//                                                  elementwise on (V, F) in the caller)
//     n is the group's row count. Groups without rows give 0 (1 for "mul"). t / p: one value for every channel
//     or one per channel (dtype of x). At most one "softmax" and one "powermean" per call.
//
//   segment_aggregate_backward(grad: (V, K * F), x, out, rowptr, col, reduce, t, p, clamp_min, clamp_max,
//                              semi_grad) -> (grad_x: (E, F), grad_t: like t or (0,), grad_p: like p or (0,))
//     d out / d x_i per block: sum, mean 1 / n; max / min 1 for the first row of the group (in col order) equal
//     to the result, 0 for the others; mul prod_{j != i} x_j (zeros handled: out / x_i for x_i != 0, the
//     product of the others for the only zero, 0 when there are two or more); var 2 (x_i - mean) / n, or with
//     semi_grad -2 mean / n (PyG's semi_grad: no gradient through mean(x^2)); softmax a_i (1 + t (x_i - out)),
//     or a_i with semi_grad (no gradient through the weights); powermean p c_i^(p-1) / n where clamp_min <= x_i
//     <= clamp_max (torch.clamp's gradient), else 0.
//     grad_t = sum over groups of sum_i a_i x_i (x_i - out) * grad (summed over channels for a (1,) t);
//     grad_p = sum over groups of sum_i c_i^p log(c_i) / n * grad (likewise).
//
// Accumulation in float32 (float64 for float64). Deterministic on every device: each output element is reduced
// by one thread in row order, each row of grad_x belongs to one group and is written once, and grad_t / grad_p
// are (V, F) partials summed by a fixed-order ATen reduction. No atomics.
// Checked on every backend: devices, dtypes, shapes, the reduce names. Checked on CPU only (checks.h):
// rowptr[0] == 0, rowptr[-1] == E', non-decreasing rowptr. Clamped: row bounds into [0, E']; col entries outside
// [0, E) are skipped (rows no group reaches get 0 gradient).
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

// Accumulator slots per channel each mode keeps while it walks a group.
C10_HOST_DEVICE inline int state_width(Mode m) {
  return (m == Mode::Var || m == Mode::Mul) ? 2 : (m == Mode::Softmax ? 3 : 1);
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

inline void check_backward_inputs(const at::Tensor& grad, const at::Tensor& x, const at::Tensor& out,
                                  const at::Tensor& rowptr, int64_t K) {
  const int64_t V = rowptr.size(0) - 1;
  MG_CHECK_SHAPE(out, {V, K * x.size(1)});
  MG_CHECK_SHAPE(grad, {V, K * x.size(1)});
  MG_CHECK_SAME_DTYPE(grad, x);
  MG_CHECK_SAME_DTYPE(out, x);
  MG_CHECK_SAME_DEVICE(grad, x);
  MG_CHECK_SAME_DEVICE(out, x);
}

// Contiguous pointer of an optional tensor (kept alive by `holder`), nullptr when absent.
template <typename T>
inline const T* optional_data(const std::optional<at::Tensor>& v, at::Tensor& holder) {
  if (!v.has_value() || !v->defined()) return nullptr;
  holder = v->contiguous();
  return holder.const_data_ptr<T>();
}

// The (C,) gradient of a (C,) parameter from its (V, F) per-group partials: summed over the groups (and the
// channels, for C = 1) by ATen's fixed-order reduction; zeros when no partials were formed (semi_grad), (0,) when
// the parameter is absent.
inline at::Tensor param_grad(const at::Tensor& partial, const std::optional<at::Tensor>& param, const at::Tensor& x) {
  if (!param.has_value() || !param->defined()) return at::zeros({0}, x.options());
  if (!partial.defined()) return at::zeros_like(*param);
  const at::Tensor total = param->size(0) == 1 ? partial.sum().reshape({1}) : partial.sum(0);
  return total.to(param->scalar_type());
}

}  // namespace aggr
}  // namespace mg
