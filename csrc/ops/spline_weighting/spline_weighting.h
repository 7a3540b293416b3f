// spline_weighting: SplineCNN's continuous-kernel weighting fused with the neighbourhood aggregation. No E x Cout
// (or E x S x Cout) tensor is formed in forward or backward.
//
//   spline_weighting(x: (V_src, Cin), weight: (K, Cin, Cout), basis: (E, S), weight_index: (E, S) int64,
//                    rowptr: (V_dst + 1,) int64, col: (E,) int32|int64, reduce: "sum"|"mean",
//                    rowptr_t?, col_t?, eid_t?) -> out (V_dst, Cout)
//     Entries are in CSR order (entry k of row v has source col[k] and basis row k):
//       out[v] = c_v * sum over k in row v of sum over s of basis[k, s] * (x[col[k]] @ weight[weight_index[k, s]])
//     c_v = 1 for "sum", 1 / max(row length, 1) for "mean" (PyG's mean aggregation: the sum over the in-edges
//     divided by the in-degree; rows without entries give 0). With rowptr = arange(E + 1) and col = arange(E)
//     (one entry per row) this is torch_spline_conv's per-edge spline_weighting(x_j, weight, basis, weight_index).
//     The optional transposed CSR (gather_scatter.h's rowptr_t, col_t, eid_t) is not read by the forward: autograd
//     hands it to the backward.
//
//   spline_weighting_backward(grad_out: (V_dst, Cout), x, weight, basis, weight_index, rowptr, col, reduce,
//                             rowptr_t, col_t, eid_t, output_mask: bool[3]) -> (grad_x, grad_weight, grad_basis)
//     g_v = c_v * grad_out[v];
//     grad_x[u]            = sum over entries k = (u -> v) of sum_s basis[k, s] * weight[weight_index[k, s]] @ g_v
//     grad_weight[w, i, o] = sum over entries k = (u -> v), s with weight_index[k, s] = w of basis[k, s] x[u, i] g_v[o]
//     grad_basis[k, s]     = x[u] . (weight[weight_index[k, s]] @ g_v)
//     An output whose mask entry is false is (0,).
//
// Algorithms (each output element summed by one thread in a fixed order: deterministic, no atomics):
//   CPU forward: rows in parallel; per row, the inputs are first summed per weight slice w (A[w] += basis * x_u
//     over the row's entries and basis functions, Cin-wide), then out = sum over the touched slices of
//     A[w] @ weight[w]: duplicate slices within a row cost one Cin x Cout product, not one per entry.
//   CPU grad_x: the same over the transposed CSR (sources in parallel); grad_basis and grad_weight: rows in fixed
//     chunks (a function of the sizes only), each chunk adding into its own grad_weight buffer, summed in order.
//   CUDA forward: one thread per (v, o); grad_x: one thread per (u, i) over the transposed CSR (a transposed copy
//     of weight makes the reads coalesced); grad_basis: one warp per entry; grad_weight: the (entry, s) pairs are
//     grouped by weight slice (a stable sort) and each (slice z of group w, i, o) is summed by one thread, then the
//     slices are added in order.
//   MESHGRAPH_DEVICE_PATH=1 makes the CPU compute grad_weight the CUDA way (grouped pairs), for the tests.
// Accumulation in float32 for float16 / bfloat16 (float64 for float64).
//
// Checks on every backend: devices, dtypes, shapes (check_csr and check_transposed of gather_scatter.h). On CPU
// also the CSR invariants and weight_index within [0, K). CUDA kernels clamp row bounds and skip entries whose
// source, destination, edge id or weight index is out of range.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/macros/Macros.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <tuple>

#include "../../common/checks.h"
#include "../../common/index_math.h"
#include "../gather_scatter/gather_scatter.h"

namespace mg {
namespace spline {

// Mean scale of a row with `len` entries.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t row_scale(int64_t len, bool mean) {
  return mean ? acc_t(1) / static_cast<acc_t>(len > 1 ? len : 1) : acc_t(1);
}

inline bool parse_mean(c10::string_view name) {
  const Reduce r = parse_reduce(std::string_view(name.data(), name.size()));
  TORCH_CHECK(r == Reduce::Sum || r == Reduce::Mean, "reduce must be sum or mean, got ",
              std::string_view(name.data(), name.size()));
  return r == Reduce::Mean;
}

inline void check_weighting_inputs(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& basis,
                                   const at::Tensor& weight_index, const at::Tensor& rowptr, const at::Tensor& col) {
  MG_CHECK_DIM(x, 2);
  MG_CHECK_FLOATING(x);
  MG_CHECK_DIM(weight, 3);
  MG_CHECK_SAME_DTYPE(x, weight);
  MG_CHECK_SAME_DEVICE(x, weight);
  TORCH_CHECK(weight.size(1) == x.size(1), "weight must have shape (K, ", x.size(1), ", Cout) (Cin = x.size(1)), got ",
              weight.sizes());
  check_csr(rowptr, col, x);
  const int64_t E = col.size(0);
  TORCH_CHECK(basis.dim() == 2 && basis.size(0) == E, "basis must have shape (", E, ", S) (one row per CSR entry), got ",
              basis.sizes());
  MG_CHECK_SAME_DTYPE(x, basis);
  MG_CHECK_SAME_DEVICE(x, basis);
  MG_CHECK_SHAPE(weight_index, {E, basis.size(1)});
  MG_CHECK_DTYPE(weight_index, at::kLong);
  MG_CHECK_SAME_DEVICE(x, weight_index);
  if (!weight_index.device().is_cpu() || weight_index.numel() == 0) return;
  const at::Tensor wi = weight_index.contiguous();
  const int64_t* p = wi.const_data_ptr<int64_t>();
  const int64_t K = weight.size(0);
  bool ok = true;
  for (int64_t i = 0, n = wi.numel(); i < n; ++i) ok &= p[i] >= 0 && p[i] < K;
  TORCH_CHECK(ok, "weight_index must hold indices in [0, ", K, ") (weight.size(0))");
}

inline void check_weighting_backward_inputs(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight,
                                            const at::Tensor& rowptr, const at::Tensor& col,
                                            const at::Tensor& rowptr_t, const at::Tensor& col_t,
                                            const at::Tensor& eid_t) {
  MG_CHECK_SHAPE(grad_out, {rowptr.size(0) - 1, weight.size(2)});
  MG_CHECK_SAME_DTYPE(grad_out, x);
  MG_CHECK_SAME_DEVICE(grad_out, x);
  check_csr(rowptr_t, col_t, x, "rowptr_t");
  TORCH_CHECK(rowptr_t.size(0) == x.size(0) + 1, "rowptr_t must have V_src + 1 = ", x.size(0) + 1, " entries, got ",
              rowptr_t.size(0));
  TORCH_CHECK(col_t.size(0) == col.size(0), "col_t must have one entry per CSR entry (", col.size(0), "), got ",
              col_t.size(0));
  MG_CHECK_SHAPE(eid_t, {col.size(0)});
  MG_CHECK_DTYPE(eid_t, at::kLong);
  MG_CHECK_SAME_DEVICE(x, eid_t);
}

// The checks of a forward call (both backends); returns whether reduce is "mean".
inline bool check_forward(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& basis,
                          const at::Tensor& weight_index, const at::Tensor& rowptr, const at::Tensor& col,
                          c10::string_view reduce, const std::optional<at::Tensor>& rowptr_t,
                          const std::optional<at::Tensor>& col_t, const std::optional<at::Tensor>& eid_t) {
  check_weighting_inputs(x, weight, basis, weight_index, rowptr, col);
  check_transposed(x, x.size(0), col.size(0), rowptr_t, col_t, eid_t);
  return parse_mean(reduce);
}

// A backward call after its checks (both backends): the mode and the three gradients, zero-initialised ((0,)
// where output_mask is false).
struct Backward {
  bool mean;
  at::Tensor gx, gw, gb;
  std::tuple<at::Tensor, at::Tensor, at::Tensor> result() const { return {gx, gw, gb}; }
};

inline Backward backward_prologue(const at::Tensor& grad_out, const at::Tensor& x, const at::Tensor& weight,
                                  const at::Tensor& basis, const at::Tensor& weight_index, const at::Tensor& rowptr,
                                  const at::Tensor& col, c10::string_view reduce, const at::Tensor& rowptr_t,
                                  const at::Tensor& col_t, const at::Tensor& eid_t, std::array<bool, 3> mask) {
  check_weighting_inputs(x, weight, basis, weight_index, rowptr, col);
  check_weighting_backward_inputs(grad_out, x, weight, rowptr, col, rowptr_t, col_t, eid_t);
  TORCH_CHECK(col_t.scalar_type() == col.scalar_type(), "col_t must have the dtype of col");
  const auto zeros_if = [&](bool needed, const at::Tensor& like) {
    return needed ? at::zeros(like.sizes(), x.options()) : at::empty({0}, x.options());
  };
  return {parse_mean(reduce), zeros_if(mask[0], x), zeros_if(mask[1], weight), zeros_if(mask[2], basis)};
}

// ---------------------------------------------------------------- per-element helpers (both backends)

// Entry t of the transposed CSR: its destination *v, its CSR entry *k and the destination's mean scale *c; false
// (skip it) when v or k is out of range.
template <typename index_t, typename acc_t>
C10_HOST_DEVICE inline bool transposed_entry(const index_t* col_t, const int64_t* eid_t, const int64_t* rowptr,
                                             int64_t t, int64_t V_dst, int64_t E, bool mean, int64_t* v, int64_t* k,
                                             acc_t* c) {
  *v = col_t[t];
  *k = eid_t[t];
  if (*v < 0 || *v >= V_dst || *k < 0 || *k >= E) return false;
  int64_t begin, end;
  row_bounds(rowptr, *v, E, &begin, &end);
  *c = row_scale<acc_t>(end - begin, mean);
  return true;
}

// Writes v into rows[k] for every CSR entry k of row v (the destination row of every entry, for the grouped
// grad_weight pass).
C10_HOST_DEVICE inline void mark_entry_rows(const int64_t* rowptr, int64_t v, int64_t E, int64_t* rows) {
  int64_t begin, end;
  row_bounds(rowptr, v, E, &begin, &end);
  for (int64_t k = begin; k < end; ++k) rows[k] = v;
}

// Part z of Z of weight group w in the grouped grad_weight pass: its positions [*j0, *j1) into perm, the (entry,
// basis function) pairs of slice w sorted stably (ptr (K + 1,) the group offsets, P = E * S pairs in all).
C10_HOST_DEVICE inline void group_part(const int64_t* ptr, int64_t w, int64_t z, int64_t Z, int64_t P, int64_t* j0,
                                       int64_t* j1) {
  const int64_t lo = clamp64(ptr[w], 0, P), len = clamp64(ptr[w + 1], lo, P) - lo;
  *j0 = lo + len * z / Z;
  *j1 = lo + len * (z + 1) / Z;
}

// Pair p = (entry k = p / S, basis function p % S) of the grouped grad_weight pass: its source *u, its destination
// *v and its scale *b = basis[p] * c_v; false (skip it) when p is out of range, the entry lies in no row or its
// source is out of range. Its term of grad_weight[w, i, o] is (b * x[u, i]) * grad_out[v, o].
template <typename scalar_t, typename index_t, typename acc_t>
C10_HOST_DEVICE inline bool weight_pair(int64_t p, const scalar_t* basis, const int64_t* rows,
                                        const int64_t* rowptr, const index_t* col, int64_t V_src, int64_t E,
                                        int64_t S, bool mean, int64_t* u, int64_t* v, acc_t* b) {
  if (p < 0 || p >= E * S) return false;
  const int64_t k = p / S;
  *v = rows[k];
  *u = col[k];
  if (*v < 0 || *u < 0 || *u >= V_src) return false;
  int64_t begin, end;
  row_bounds(rowptr, *v, E, &begin, &end);
  *b = static_cast<acc_t>(basis[p]) * row_scale<acc_t>(end - begin, mean);
  return true;
}

// Parallel slices of each weight group in the grouped grad_weight pass: enough (z, w, i, o) work items for a GPU
// (about 2^18), at most 32. A function of the sizes only, so the summation order never depends on the hardware.
inline int64_t weight_grad_slices(int64_t K, int64_t Cin, int64_t Cout) {
  const int64_t items = std::max<int64_t>(1, K * Cin * Cout);
  return std::clamp<int64_t>(((int64_t{1} << 18) + items - 1) / items, 1, 32);
}

// Row chunks of the CPU grad_weight pass: each has its own (K, Cin, Cout) buffer (at most 64 MiB in all), at most
// 64, about 16 rows each at least. A function of the sizes only.
inline int64_t weight_grad_chunks(int64_t rows, int64_t weight_numel, int64_t acc_bytes) {
  const int64_t cap = std::max<int64_t>(1, (int64_t{64} << 20) / std::max<int64_t>(1, weight_numel * acc_bytes));
  return std::clamp<int64_t>(rows / 16, 1, std::min<int64_t>(64, cap));
}

}  // namespace spline
}  // namespace mg
