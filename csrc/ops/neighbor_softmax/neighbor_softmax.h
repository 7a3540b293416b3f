// neighbor_softmax: softmax of per-edge scores over each destination's in-edges (GAT attention), fused.
//
//   neighbor_softmax(scores: (E, H) or (E,), rowptr: (V + 1,) int64, edge_id: (E,) int64 or None) -> like scores
//     CSR entry k of row v stands for scores row e = edge_id[k] (e = k when edge_id is None), so scores stay in
//     the caller's edge order and no permuted copy is made. For each row v and head h:
//     out[e, h] = exp(s[e, h] - m) / sum over the row's entries e' of exp(s[e', h] - m), m the row maximum.
//     edge_id must be a permutation of [0, E) (checked cheaply: ids out of range are skipped); rows not
//     reached stay 0.
//   neighbor_softmax_backward(grad, out, rowptr, edge_id) -> like out
//     grad_in[e, h] = out[e, h] * (grad[e, h] - sum over the row's entries e' of out[e', h] * grad[e', h]).
//
// Accumulation in float32 (float64 for float64). Row bounds are clamped to [0, E]. Deterministic: one thread
// per (row, head), no atomics.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

#include "../../common/checks.h"

namespace mg {

// Checks shared by the CPU and CUDA kernels: devices, dtypes and shapes on every backend; rowptr[0] == 0,
// rowptr[-1] == E and a non-decreasing rowptr on CPU only (checks.h; CUDA clamps row bounds into [0, E]).
inline void check_softmax_inputs(const at::Tensor& scores, const at::Tensor& rowptr) {
  TORCH_CHECK(scores.dim() == 1 || scores.dim() == 2, "scores must be (E,) or (E, H)");
  MG_CHECK_FLOATING(scores);
  check_rowptr(rowptr, scores.size(0), scores, "rowptr");
}

// The backward's grad: the shape, dtype and device of out.
inline void check_softmax_grad(const at::Tensor& grad, const at::Tensor& out) {
  TORCH_CHECK(grad.sizes() == out.sizes(), "grad must have the shape of out");
  MG_CHECK_SAME_DTYPE(grad, out);
  MG_CHECK_SAME_DEVICE(grad, out);
}

// Pointer to the contiguous edge ids (kept alive by `holder`), or nullptr when absent.
inline const int64_t* edge_ids(const std::optional<at::Tensor>& edge_id, const at::Tensor& scores, at::Tensor& holder) {
  if (!edge_id.has_value() || !edge_id->defined()) return nullptr;
  TORCH_CHECK(edge_id->scalar_type() == at::kLong && edge_id->dim() == 1, "edge_id must be a 1-D int64 tensor");
  TORCH_CHECK(edge_id->size(0) == scores.size(0), "edge_id must have one entry per score row");
  MG_CHECK_SAME_DEVICE(scores, (*edge_id));
  holder = edge_id->contiguous();
  return holder.const_data_ptr<int64_t>();
}

}  // namespace mg
