// Fused gather-scatter over a CSR graph: no E x F temporary is ever formed.
//
//   gather_scatter(x: (V_src, F), rowptr: (V_dst + 1,) int64, col: (E,) int32|int64, weight: (E,)?, reduce)
//       -> out: (V_dst, F), arg: (V_dst, F) int64 for max/min, (0,) otherwise
//     out[v] = reduce over k in [rowptr[v], rowptr[v+1]) of weight[k] * x[col[k]]   (weight 1 when absent)
//     reduce: "sum"; "mean" (the sum divided by the row's entry count); "max" / "min" (per feature, the first
//     entry in CSR order wins ties; arg holds that CSR position). Rows with no entries give 0 (arg -1).
//     Accumulation in float32 for float16/bfloat16/float32, float64 for float64.
//     Multi-head weights: weight (E, H) with H dividing F; feature f is weighted by weight[k, f / (F / H)]
//     (GAT-style attention over H heads of F / H channels each).
//
//   edge_dot(a: (V_dst, F), b: (V_src, F), rowptr, col, heads = 1) -> (E,) or (E, heads) when heads > 1
//     out[k, h] = <a[v, hC:(h+1)C], b[col[k], hC:(h+1)C]> for k in row v (in CSR order), C = F / heads.
//
//   gather_scatter_arg_backward(grad_out: (V_dst, F), x: (V_src, F), arg: (V_dst, F), rowptr_t: (V_src + 1,),
//                               col_t: (E,), eid_t: (E,), weight: (E,)?, compute_grad_weight)
//       -> grad_x: (V_src, F), grad_weight: (E,) (or (0,))
//     The backward of max/min: rows of the transposed CSR (by source) list each source's out-entries; eid_t
//     maps a transposed entry to its CSR position. Deterministic: every output element is written by one thread.
//
// Inputs are read through their strides (an expanded grad_out is not materialized). The kernels clamp row
// bounds to [0, E] and skip entries whose column is out of range, so malformed input cannot read or write out
// of bounds; the Python wrappers reject it before it gets here, and the raw ops check what they can cheaply
// (see the checks below).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/zeros.h>
#include <c10/util/Exception.h>
#include <string_view>

#include <optional>

#include "../../common/checks.h"
#include "../../common/index_math.h"

namespace mg {

enum class Reduce { Sum, Mean, Max, Min };

inline Reduce parse_reduce(std::string_view r) {
  if (r == "sum") return Reduce::Sum;
  if (r == "mean") return Reduce::Mean;
  if (r == "max") return Reduce::Max;
  if (r == "min") return Reduce::Min;
  TORCH_CHECK(false, "reduce must be one of sum, mean, max, min; got ", r);
}

// [begin, end) of CSR row v, clamped so that 0 <= begin <= end <= num_entries.
C10_HOST_DEVICE inline void row_bounds(const int64_t* rowptr, int64_t v, int64_t num_entries, int64_t* begin,
                                       int64_t* end) {
  *begin = clamp64(rowptr[v], 0, num_entries);
  *end = clamp64(rowptr[v + 1], *begin, num_entries);
}

// weight: (E,) or (E, H) with H dividing F, contiguous, dtype and device of x.
inline void check_edge_weight(const at::Tensor& w, const at::Tensor& col, const at::Tensor& x) {
  TORCH_CHECK((w.dim() == 1 || w.dim() == 2) && w.size(0) == col.size(0),
              "weight must have shape (E,) or (E, H) with one row per CSR entry (E = ", col.size(0), "), got ",
              w.sizes());
  TORCH_CHECK(w.dim() == 1 || (w.size(1) >= 1 && x.size(1) % w.size(1) == 0),
              "weight heads must divide the number of features");
  TORCH_CHECK(w.scalar_type() == x.scalar_type(), "weight must have the dtype of x");
  MG_CHECK_SAME_DEVICE(x, w);
}

// ---------------------------------------------------------------------- checks shared by the CPU and CUDA kernels
// Checked on every backend: devices, dtypes, shapes. Checked on CPU only (checks.h): rowptr[0] == 0,
// rowptr[-1] == E, non-decreasing rowptr. Clamped on CUDA: row bounds into [0, E], the row of an entry found by
// binary search within [0, V), columns / edge ids outside their range skipped.

// rowptr: (rows + 1,) int64, col: (E,) int32|int64, both on the device of x (the features the CSR indexes).
inline void check_csr(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& x,
                      const char* rowptr_name = "rowptr") {
  MG_CHECK_DIM(col, 1);
  MG_CHECK_INDEX_DTYPE(col);
  MG_CHECK_SAME_DEVICE(x, col);
  check_rowptr(rowptr, col.size(0), x, rowptr_name);
}

// The weight as a contiguous tensor (undefined when absent), checked against col and x.
inline at::Tensor contiguous_weight(const std::optional<at::Tensor>& weight, const at::Tensor& col, const at::Tensor& x) {
  if (!weight.has_value() || !weight->defined()) return at::Tensor();
  check_edge_weight(*weight, col, x);
  return weight->contiguous();
}

// The optional transposed CSR the forward ops carry for autograd (the backward's kernels and index ops read it):
// not read by the forward kernels, so only its devices, dtypes and shapes are checked here: rowptr_t
// (num_src + 1,) int64, col_t (E,) int32|int64, eid_t (E,) int64, each when given. Its values are checked by the
// backward's own ops (check_csr on CPU; clamped on CUDA).
inline void check_transposed(const at::Tensor& x, int64_t num_src, int64_t num_entries,
                             const std::optional<at::Tensor>& rowptr_t, const std::optional<at::Tensor>& col_t,
                             const std::optional<at::Tensor>& eid_t) {
  MG_CHECK_SAME_DEVICE_OPT(x, rowptr_t);
  MG_CHECK_SAME_DEVICE_OPT(x, col_t);
  MG_CHECK_SAME_DEVICE_OPT(x, eid_t);
  if (rowptr_t.has_value() && rowptr_t->defined()) {
    TORCH_CHECK(rowptr_t->dim() == 1 && rowptr_t->size(0) == num_src + 1, "rowptr_t must have shape (",
                num_src + 1, ",) (one row per source, plus one), got ", rowptr_t->sizes());
    TORCH_CHECK(rowptr_t->scalar_type() == at::kLong, "rowptr_t must be int64, got ", rowptr_t->scalar_type());
  }
  if (col_t.has_value() && col_t->defined()) {
    TORCH_CHECK(col_t->dim() == 1 && col_t->size(0) == num_entries, "col_t must have shape (", num_entries,
                ",), got ", col_t->sizes());
    TORCH_CHECK(col_t->scalar_type() == at::kLong || col_t->scalar_type() == at::kInt,
                "col_t must be int32 or int64, got ", col_t->scalar_type());
  }
  if (eid_t.has_value() && eid_t->defined()) {
    TORCH_CHECK(eid_t->dim() == 1 && eid_t->size(0) == num_entries, "eid_t must have shape (", num_entries,
                ",), got ", eid_t->sizes());
    TORCH_CHECK(eid_t->scalar_type() == at::kLong, "eid_t must be int64, got ", eid_t->scalar_type());
  }
}

inline void check_gather_scatter_inputs(const at::Tensor& x, const at::Tensor& rowptr, const at::Tensor& col,
                                        const std::optional<at::Tensor>& rowptr_t,
                                        const std::optional<at::Tensor>& col_t,
                                        const std::optional<at::Tensor>& eid_t) {
  MG_CHECK_DIM(x, 2);
  MG_CHECK_FLOATING(x);
  check_csr(rowptr, col, x);
  check_transposed(x, x.size(0), col.size(0), rowptr_t, col_t, eid_t);
}

inline void check_edge_dot_inputs(const at::Tensor& a, const at::Tensor& b, const at::Tensor& rowptr,
                                  const at::Tensor& col, int64_t heads, const std::optional<at::Tensor>& rowptr_t,
                                  const std::optional<at::Tensor>& col_t, const std::optional<at::Tensor>& eid_t) {
  MG_CHECK_DIM(a, 2);
  MG_CHECK_DIM(b, 2);
  MG_CHECK_FLOATING(a);
  MG_CHECK_SAME_DTYPE(a, b);
  MG_CHECK_SAME_DEVICE(a, b);
  check_csr(rowptr, col, a);
  check_transposed(a, b.size(0), col.size(0), rowptr_t, col_t, eid_t);
  TORCH_CHECK(a.size(1) == b.size(1), "a and b must have the same number of features");
  TORCH_CHECK(rowptr.size(0) - 1 == a.size(0), "a must have one row per CSR row");
  TORCH_CHECK(heads >= 1 && a.size(1) % heads == 0, "heads must be >= 1 and divide the number of features");
}

inline void check_arg_backward_inputs(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& arg,
                                      const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& eid_t) {
  MG_CHECK_DIM(grad_out, 2);
  MG_CHECK_DIM(x, 2);
  MG_CHECK_DIM(arg, 2);
  MG_CHECK_FLOATING(x);
  MG_CHECK_SAME_DTYPE(grad_out, x);
  MG_CHECK_SAME_DEVICE(x, grad_out);
  MG_CHECK_SAME_DEVICE(x, arg);
  MG_CHECK_SAME_DEVICE(x, eid_t);
  check_csr(rowptr_t, col_t, x, "rowptr_t");
  MG_CHECK_DTYPE(arg, at::kLong);
  MG_CHECK_DTYPE(eid_t, at::kLong);
  MG_CHECK_DIM(eid_t, 1);
  TORCH_CHECK(grad_out.size(1) == x.size(1), "grad_out must have the features of x");
  TORCH_CHECK(arg.sizes() == grad_out.sizes(), "arg must have the shape of grad_out");
  TORCH_CHECK(rowptr_t.size(0) - 1 == x.size(0), "rowptr_t must have one row per row of x");
  TORCH_CHECK(eid_t.numel() == col_t.numel(), "eid_t and col_t must have the same length");
}

// grad_weight of the max/min backward: (E, H) for 2-D weights, (E,) otherwise, (0,) when not wanted.
inline at::Tensor zero_grad_weight(const at::Tensor& w, bool compute, int64_t E, const at::TensorOptions& options) {
  if (!compute) return at::zeros({0}, options);
  return w.defined() && w.dim() == 2 ? at::zeros({E, w.size(1)}, options) : at::zeros({E}, options);
}

}  // namespace mg
