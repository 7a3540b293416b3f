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
// of bounds; the Python wrappers reject it before it gets here.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <string_view>

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

// weight: (E,) or (E, H) with H dividing F, contiguous, dtype of x.
inline void check_edge_weight(const at::Tensor& w, const at::Tensor& col, const at::Tensor& x) {
  TORCH_CHECK((w.dim() == 1 || w.dim() == 2) && w.size(0) == col.size(0),
              "weight must have shape (E,) or (E, H) with one row per CSR entry");
  TORCH_CHECK(w.dim() == 1 || (w.size(1) >= 1 && x.size(1) % w.size(1) == 0),
              "weight heads must divide the number of features");
  TORCH_CHECK(w.scalar_type() == x.scalar_type(), "weight must have the dtype of x");
}

}  // namespace mg
